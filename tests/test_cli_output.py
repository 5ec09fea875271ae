"""Output that survives real desks: legacy code pages, no terminal, --json failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import INIT_ARGS, applicant_args, invoke

#: Ñ is in cp1252; ḥ and ā are not (Javanese and Arabic-derived names carry such letters).
NAME = "Ma'ruf Ñuḥāmmad"


def _prakerja(
    home: Path, *args: str, encoding: str = "cp1252"
) -> subprocess.CompletedProcess[bytes]:
    """The CLI in a child process whose stdout and stderr use a Windows code page."""
    env = {**os.environ, "PRAKERJA_HOME": str(home), "PYTHONIOENCODING": encoding}
    env.pop("PYTHONUTF8", None)
    return subprocess.run(
        [sys.executable, "-X", "utf8=0", "-m", "prakerja_cli", *args],
        capture_output=True, env=env, check=False,
    )  # fmt: skip


def test_a_name_outside_the_code_page_is_stored_and_printed(office: Path) -> None:
    done = _prakerja(office, *applicant_args(name=NAME))
    assert done.returncode == 0, done.stderr.decode("cp1252", "replace")
    receipt = done.stdout.decode("cp1252")
    assert "MA'RUF ÑU??MMAD" in receipt  # what the code page can show, and '?' for the rest
    listed = _prakerja(office, "applicants", "list")
    assert listed.returncode == 0
    assert "MA'RUF ÑU??MMAD" in listed.stdout.decode("cp1252")
    assert b"Traceback" not in listed.stderr


def test_json_is_utf8_whatever_the_code_page(office: Path) -> None:
    assert invoke(applicant_args(name=NAME)).exit_code == 0
    done = _prakerja(office, "applicants", "list", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout.decode("utf-8"))[0]["name"] == "MA'RUF ÑUḤĀMMAD"


def test_register_without_a_terminal_names_the_yes_option(office: Path) -> None:
    args = [a for a in applicant_args() if a != "--yes"]
    run = invoke(args)  # as under Task Scheduler: stdin is no terminal
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "galat: Tidak ada yang dapat menjawab pertanyaan di sini (bukan terminal); tambahkan --yes.",
        "saran: Dengan --yes data langsung disimpan tanpa ringkasan: periksa isiannya dulu (mis. "
        "`prakerja nik NIK`), atau jalankan di terminal untuk melihat ringkasan sebelum menyimpan.",
    ]
    assert invoke(["applicants", "list", "--json"]).json() == []


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["register"], "--nik ... --yes"),
        (["restore", "x.db"], None),
        (["init", "--office-code", "3273"], "--office-name"),
    ],
)
def test_no_command_waits_for_an_answer_without_a_terminal(
    office: Path, args: list[str], option: str | None
) -> None:
    if args[0] == "restore":
        made = invoke(["backup", "--json"]).json()["file"]
        args = ["restore", made]
        option = "--yes"
    if args[0] == "init":
        args = [*args, "--force"]
    run = invoke(args, input="", terminal=False)
    assert run.exit_code == 2
    refusal, hint = run.stderr.splitlines()[-2:]  # the galat/saran pair
    assert refusal.startswith("galat: ") and refusal.endswith(f"tambahkan {option}.")
    assert hint.startswith("saran: ") and "terminal" in hint


@pytest.mark.parametrize("answer", ["ya", "Y", "iya", "yes"])
def test_confirmation_accepts_indonesian_and_english_yes(office: Path, answer: str) -> None:
    args = [a for a in applicant_args() if a != "--yes"]
    run = invoke(args, input=f"{answer}\n")
    assert run.exit_code == 0, run.stderr
    assert "(ya/tidak; Enter = ya)" in run.stderr


@pytest.mark.parametrize("answer", ["t", "tidak", "N", "no"])
def test_confirmation_accepts_indonesian_and_english_no(office: Path, answer: str) -> None:
    args = [a for a in applicant_args() if a != "--yes"]
    run = invoke(args, input=f"{answer}\n")
    assert run.exit_code == 130
    assert invoke(["applicants", "list", "--json"]).json() == []


def test_confirmation_asks_again_on_an_unclear_answer(office: Path) -> None:
    args = [a for a in applicant_args() if a != "--yes"]
    run = invoke(["--lang", "en", *args], input="maybe\ny\n")
    assert run.exit_code == 0
    assert "(yes/no; Enter = yes)" in run.stderr
    assert "Answer yes (y) or no (n)." in run.stderr


def test_json_failure_is_one_document_on_stdout(office: Path) -> None:
    run = invoke(["applicants", "show", "3273-D01-000099", "--json"])
    assert run.exit_code == 1
    assert run.json() == {
        "error": "applicant_not_found",
        "message": "Pendaftar 3273-D01-000099 tidak ditemukan.",
        "hint": "Cari dengan `prakerja applicants search NAMA`.",
        "exit_code": 1,
    }
    assert run.stderr.startswith("galat: Pendaftar 3273-D01-000099 tidak ditemukan.")


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (["applicants", "list", "--since", "kemarin", "--json"], "date_option", 2),
        (["applicants", "list", "--no-such-option", "--json"], "usage", 2),
        (["--lang", "xx", "applicants", "list", "--json"], "lang_unknown", 2),
        ([*[a for a in applicant_args() if a != "--yes"], "--json"], "no_terminal", 2),
    ],
)
def test_every_expected_failure_under_json_is_a_document(
    office: Path, args: list[str], code: str, exit_code: int
) -> None:
    run = invoke(args)
    assert run.exit_code == exit_code
    document = run.json()
    assert document["error"] == code
    assert document["exit_code"] == exit_code
    assert document["message"]


def test_json_cancel_is_a_document_too(office: Path) -> None:
    args = [a for a in applicant_args() if a != "--yes"]
    run = invoke(["--lang", "en", *args, "--json"], input="n\n")
    assert run.exit_code == 130
    assert run.json() == {
        "error": "cancelled",
        "message": "Cancelled; nothing was stored.",
        "hint": None,
        "exit_code": 130,
    }


def test_without_an_office_json_names_the_fix() -> None:
    run = invoke(["applicants", "list", "--json"])
    assert run.exit_code == 2
    assert run.json()["error"] == "no_office"
    assert "prakerja init" in run.json()["hint"]


def test_an_unknown_language_is_one_localised_line(office: Path) -> None:
    run = invoke(["--lang", "jv", "applicants", "list"])
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "galat: Bahasa jv tidak dikenal.",
        "saran: Pakai --lang dengan salah satu: id, en.",
    ]


#: Text a clerk or a roster may hold that rich would read as markup (or fail on: "[/]").
ADDRESS = "Jl. [bold]Merdeka[/] 1 [PNS]"
REASON = "[red]salah input[/red] [/]"


def test_data_prints_literally_never_as_markup(office: Path, tmp_path: Path) -> None:
    from rosters import HEADERS, person, write_csv

    init = [*INIT_ARGS, "--force"]
    init[init.index("Disnaker Kota Bandung")] = "Disnaker [bold]Kota[/] Bandung"
    set_up = invoke(init)
    assert set_up.exit_code == 0, set_up.stderr
    assert "Kantor Disnaker [bold]Kota[/] Bandung (Kota Bandung) siap." in set_up.stdout
    assert invoke(["config", "set", "operator", "[red]Rina"]).stdout == "operator = [red]Rina\n"
    shown = invoke(["config", "show"])
    assert "Disnaker [bold]Kota[/] Bandung" in shown.stdout
    stored = invoke(applicant_args(extra=["--address", ADDRESS]))
    assert stored.exit_code == 0, stored.stderr
    assert "Disnaker [bold]Kota[/] Bandung" in stored.stdout  # the receipt's title
    assert "Petugas: [red]Rina" in stored.stdout
    assert ADDRESS.upper() in invoke(["applicants", "show", "3273-D01-000001"]).stdout
    withdrawn = invoke(["applicants", "withdraw", "3273-D01-000001", "--reason", REASON, "--yes"])
    assert withdrawn.exit_code == 0, withdrawn.stderr
    assert REASON in invoke(["applicants", "show", "3273-D01-000001"]).stdout
    assert "salah input" in invoke(["audit", "log"]).stdout
    # A roster's header and sheet names are the sender's text too.
    roster = write_csv(
        tmp_path / "[bold]desa [red].csv", [person(1)], headers=[*HEADERS, "[Catatan]"]
    )
    imported = invoke(["roster", "import", str(roster)])
    assert imported.exit_code == 0, imported.stderr
    assert "[bold]desa [red]" in imported.stdout
    assert "[Catatan]" in imported.stdout


def test_a_wrong_choice_is_asked_again_in_the_clerks_language(office: Path) -> None:
    from tests.test_cli_register import form_answers

    answers = form_answers()
    answers[5:6] = ["L", ""]  # a warning, kept; the clerk says "no" at the summary to correct it
    run = invoke(["register"], input="\n".join([*answers, "tidak", "99", "6", "P", "ya"]) + "\n")
    assert run.exit_code == 0, run.stderr
    assert "Pilih salah satu: 0/1/2/" in run.stderr
    assert "Please select" not in run.stderr
    assert invoke(["applicants", "list", "--json"]).json()[0]["gender"] == "P"


def test_cancel_is_130_even_with_the_debug_switch(
    office: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRAKERJA_DEBUG", "1")
    args = [a for a in applicant_args() if a != "--yes"]
    assert invoke(args, input="tidak\n").exit_code == 130  # "no" at the confirmation
    assert invoke(args, input="").exit_code == 130  # end of input at the prompt


def test_a_json_document_cut_short_is_not_followed_by_another(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """emit_json writes as it encodes: Ctrl+C halfway leaves part of the document on stdout, and
    the cancellation must then go to stderr only, not as a second document after the first."""
    import typer

    from prakerja_cli.cli import common

    class Interrupted:
        def __str__(self) -> str:
            raise KeyboardInterrupt

    monkeypatch.setattr(common, "_JSON_CHUNK", 16)
    document = {"rows": list(range(200)), "then": Interrupted()}
    with pytest.raises(typer.Exit):
        common.run_guarded(lambda: common.emit_json(document), json_output=True)
    captured = capsys.readouterr()
    assert captured.out.startswith('{\n  "rows": [') and '"error"' not in captured.out
    assert "Dibatalkan" in captured.err
