"""`prakerja init` and `prakerja config`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import INIT_ARGS, invoke


def test_init_creates_config_and_database(tmp_path: Path) -> None:
    run = invoke([*INIT_ARGS, "--json"])
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["office_code"] == "3273"
    assert doc["regency"] == "Kota Bandung"
    assert doc["desk"] == "D01"
    assert doc["rules"] == "normal-2023"
    assert doc["regions_loaded"] > 90000  # provinces, regencies, kecamatan and villages
    home = tmp_path / "home"
    assert (home / "config.toml").is_file()
    assert (home / "prakerja.db").is_file()
    if sys.platform != "win32":
        assert (home / "config.toml").stat().st_mode & 0o077 == 0
        assert (home / "prakerja.db").stat().st_mode & 0o077 == 0


def test_init_prompts_when_options_are_missing() -> None:
    answers = "3273\nDisnaker Kota Bandung\nD02\nRina\npermenaker-17-2020\n"
    run = invoke(["init"], input=answers)
    assert run.exit_code == 0, run.stderr
    shown = invoke(["config", "show", "--json"]).json()
    assert shown["desk"] == "D02"
    assert shown["rules"] == "permenaker-17-2020"
    assert shown["office_name"] == "Disnaker Kota Bandung"


def test_init_no_input_names_the_missing_option() -> None:
    run = invoke(["init", "--office-code", "3273", "--no-input"])
    assert run.exit_code == 2
    assert "--office-name" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("code", "key_text"),
    [
        ("32731", "4 angka"),
        ("abcd", "4 angka"),
        ("3299", "tidak ada di daftar"),
        ("9900", "tidak ada"),
    ],
)
def test_init_rejects_bad_office_codes(code: str, key_text: str) -> None:
    args = [*INIT_ARGS]
    args[args.index("3273")] = code
    run = invoke(args)
    assert run.exit_code == 2
    assert key_text in run.stderr
    assert not (Path(os.environ["PRAKERJA_HOME"]) / "config.toml").exists()


def test_init_rejects_unknown_rules_and_bad_desk() -> None:
    args = [*INIT_ARGS]
    args[args.index("normal-2023")] = "perpres-1999"
    run = invoke(args)
    assert run.exit_code == 2
    assert "normal-2023" in run.stderr  # the hint lists the known rule sets
    args = [*INIT_ARGS]
    args[args.index("D01")] = "desk one!"
    assert invoke(args).exit_code == 2


def test_init_twice_needs_force(office: Path) -> None:
    run = invoke(INIT_ARGS)
    assert run.exit_code == 2
    assert "--force" in run.stderr
    args = [*INIT_ARGS, "--force"]
    args[args.index("D01")] = "D07"
    assert invoke(args).exit_code == 0
    assert invoke(["config", "show", "--json"]).json()["desk"] == "D07"


def test_init_refuses_another_office_on_the_same_database(office: Path) -> None:
    args = [*INIT_ARGS, "--force"]
    args[args.index("3273")] = "3201"
    run = invoke(args)
    assert run.exit_code == 2
    assert "3273" in run.stderr


def test_config_show_and_path(office: Path) -> None:
    shown = invoke(["config", "show", "--json"]).json()
    assert shown["office_code"] == "3273"
    assert shown["database_path"] == str(office / "prakerja.db")
    human = invoke(["config", "show"])
    assert "Disnaker Kota Bandung" in human.stdout
    path = invoke(["config", "path"])
    assert str(office / "config.toml") in path.stdout
    assert invoke(["config", "path", "--json"]).json()["app_dir"] == str(office)


def test_config_path_labels_its_lines(office: Path) -> None:
    """`config path` printed three bare paths: which one is the database?"""
    assert invoke(["config", "path"]).stdout.splitlines() == [
        f"Folder data: {office}",
        f"Berkas konfigurasi: {office / 'config.toml'}",
        f"Basis data: {office / 'prakerja.db'}",
    ]
    english = invoke(["--lang", "en", "config", "path"]).stdout
    assert f"Database: {office / 'prakerja.db'}" in english.splitlines()


def test_config_set_takes_json_as_every_config_command_does(office: Path) -> None:
    run = invoke(["config", "set", "operator", "Budi", "--json"])
    assert run.exit_code == 0, run.stderr
    assert run.json() == {"key": "operator", "value": "Budi"}
    token = invoke(["config", "set", "api_token", "rahasia", "--json"]).json()
    assert token == {"key": "api_token", "value": "********"}  # never printed
    refused = invoke(["config", "set", "colour", "red", "--json"])
    assert refused.exit_code == 2 and refused.json()["error"] == "config_key"


def test_config_show_names_empty_settings(office: Path) -> None:
    # A fresh office has no API address or token yet: shown as "(kosong)", not a blank.
    lines = invoke(["config", "show"]).stdout.splitlines()
    assert "Alamat API pusat: (kosong)" in lines
    assert "Token API: (kosong)" in lines
    assert "Nama kantor: Disnaker Kota Bandung" in lines
    english = invoke(["--lang", "en", "config", "show"]).stdout.splitlines()
    assert any(line.endswith(": (empty)") for line in english)
    assert invoke(["config", "show", "--json"]).json()["api_url"] in ("", None)


def test_operator_can_be_overridden_per_clerk(
    office: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRAKERJA_OPERATOR", "Budi")
    assert invoke(["config", "show", "--json"]).json()["operator"] == "Budi"


@pytest.mark.parametrize(
    "args",
    [
        ["config", "show"],
        ["applicants", "list"],
        ["applicants", "show", "x"],
        ["register", "--nik", "3273015708900001"],
        ["refdata", "load", "x.csv"],
    ],
)
def test_commands_without_an_office_say_how_to_fix_it(args: list[str]) -> None:
    run = invoke(args)
    assert run.exit_code == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("galat:")
    assert "prakerja init" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""


def test_broken_config_is_reported(office: Path) -> None:
    (office / "config.toml").write_text("office_code = [unclosed", encoding="utf-8")
    run = invoke(["applicants", "list"])
    assert run.exit_code == 2
    assert "init --force" in run.stderr


def test_unknown_rule_set_in_config_is_a_configuration_error(office: Path) -> None:
    config = office / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("normal-2023", "gone-2019"), encoding="utf-8"
    )
    run = invoke(["applicants", "list"])
    assert run.exit_code == 2
    assert "gone-2019" in run.stderr and "init --force" in run.stderr


def test_missing_database_points_to_init_force(office: Path) -> None:
    (office / "prakerja.db").unlink()
    run = invoke(["applicants", "list"])
    assert run.exit_code == 1
    assert "init --force" in run.stderr


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://central.example.go.id", "tanpa enkripsi"),
        ("central.example.go.id", "tidak sah"),
        ("ftp://central.example.go.id", "tidak sah"),
        ("https://", "tidak sah"),
        ("https://central.example.go.id:99999", "tidak sah"),
        ("http://[::1", "tidak sah"),
        ("https://central example.go.id", "tidak sah"),
    ],
)
def test_config_set_api_url_is_checked_as_sync_checks_it(office: Path, url: str, said: str) -> None:
    before = (office / "config.toml").read_bytes()
    run = invoke(["config", "set", "api_url", url])
    assert run.exit_code == 2
    lines = run.stderr.strip().splitlines()
    assert (
        len(lines) == 2 and lines[0].startswith("galat: api_url tidak diubah") and said in lines[0]
    )
    assert "https://" in lines[1]
    assert (office / "config.toml").read_bytes() == before


@pytest.mark.parametrize(
    "url",
    ["https://central.example.go.id/api", "http://127.0.0.1:8000", "http://localhost:8000", ""],
)
def test_config_set_api_url_takes_https_loopback_http_and_clearing(office: Path, url: str) -> None:
    run = invoke(["config", "set", "api_url", f" {url} "])
    assert run.exit_code == 0, run.stderr
    assert invoke(["config", "show", "--json"]).json()["api_url"] == url


def test_config_set_api_url_in_english(office: Path) -> None:
    run = invoke(["--lang", "en", "config", "set", "api_url", "http://10.0.0.5"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: api_url was not changed: ")
    assert "plain http only to this computer" in run.stderr


@pytest.mark.parametrize("key", ["operator", "office_name"])
def test_config_set_refuses_an_empty_operator_or_office_name_as_init_does(
    office: Path, key: str
) -> None:
    """An empty operator was stored: receipts and the audit trail then named no one."""
    before = invoke(["config", "show", "--json"]).json()[key]
    run = invoke(["config", "set", key, "  "])
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == f"galat: {key} wajib diisi."
    assert invoke(["config", "show", "--json"]).json()[key] == before
    assert invoke(["config", "set", key, " Rina   Wati "]).exit_code == 0
    assert invoke(["config", "show", "--json"]).json()[key] == "Rina Wati"


def test_interactive_init_re_asks_a_refused_answer() -> None:
    answers = [
        "32731", "3299", "3273",  # 5 digits, unknown, right
        "", "Disnaker Kota Bandung",  # empty name
        "meja satu!", "d02",  # bad desk id, then a good one (upper-cased)
        " ", "Rina",  # empty operator
        "perpres-1999", "normal-2023",  # unknown rule set
    ]  # fmt: skip
    run = invoke(["init"], input="\n".join(answers) + "\n")
    assert run.exit_code == 0, run.stderr
    errors = [line for line in run.stderr.splitlines() if "galat:" in line]
    assert len(errors) == 6
    for said in ("4 angka", "3299", "Nama kantor wajib", "meja satu!", "Nama petugas wajib", "perpres-1999"):  # fmt: skip
        assert any(said in line for line in errors), said
    shown = invoke(["config", "show", "--json"]).json()
    assert (shown["office_code"], shown["desk"], shown["rules"]) == ("3273", "D02", "normal-2023")


def test_piped_answers_are_not_read() -> None:
    run = invoke(["init"], input="3273\nDisnaker\nD01\nRina\nnormal-2023\n", terminal=False)
    assert run.exit_code == 2 and "--office-code" in run.stderr
    assert not Path(os.environ["PRAKERJA_HOME"]).exists()


def test_init_on_a_set_up_desk_says_so_before_asking(office: Path) -> None:
    run = invoke(["init"], input="3273\n")
    assert run.exit_code == 2 and "--force" in run.stderr
    assert "Kode kabupaten/kota kantor" not in run.stderr  # nothing was asked


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_an_interrupted_or_failed_init_leaves_no_files(
    monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    import prakerja_cli.office

    def save_fails(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(prakerja_cli.office, "save_config", save_fails)
    run = invoke(INIT_ARGS)
    assert run.exit_code == (130 if failure is KeyboardInterrupt else 1)
    assert "Traceback" not in run.stderr
    assert not Path(os.environ["PRAKERJA_HOME"]).exists()


def test_a_failed_init_force_keeps_the_office(
    office: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prakerja_cli.office

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    before = sorted(p.name for p in office.iterdir())
    with monkeypatch.context() as patched:
        patched.setattr(prakerja_cli.office, "save_config", interrupted)
        assert invoke([*INIT_ARGS, "--force"]).exit_code == 130
    assert sorted(p.name for p in office.iterdir()) == before
    assert invoke(["audit", "verify"]).exit_code == 0


def test_the_api_token_from_stdin_and_a_warning_for_the_command_line(office: Path) -> None:
    run = invoke(["config", "set", "api_token", "-"], input="token-dari-pipa\n", terminal=False)
    assert run.exit_code == 0, run.stderr
    assert 'api_token = "token-dari-pipa"' in (office / "config.toml").read_text()
    assert "token-dari-pipa" not in run.stdout + run.stderr
    run = invoke(["config", "set", "api_token", "token-di-baris-perintah"])
    assert run.exit_code == 0
    assert "riwayat shell" in run.stderr
    run = invoke(["config", "set", "operator"])
    assert run.exit_code == 2 and "operator" in run.stderr
