"""Every command has help text ending in an example, in the clerk's language (English with
--lang en, wherever it stands); the entry points work."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from prakerja_cli.cli import app
from prakerja_cli.cli.helptext import help_key
from prakerja_cli.i18n.en import MESSAGES as EN
from prakerja_cli.i18n.id import MESSAGES as ID
from tests.conftest import invoke


def _commands(*, groups: bool = False) -> list[tuple[tuple[str, ...], Any]]:
    """Every command below `prakerja` (with its click command), groups too when asked."""
    root = typer.main.get_command(app)
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        commands = getattr(command, "commands", None)
        if commands:
            if groups:
                found.append((path, command))
            for name, sub in commands.items():
                walk(sub, (*path, name))
        else:
            found.append((path, command))

    walk(root, ())
    return found


def _paths() -> list[tuple[str, ...]]:
    return [path for path, _ in _commands()]


def test_all_commands_are_found() -> None:
    names = {" ".join(c) for c in _paths()}
    assert {"init", "nik", "register", "demo", "applicants list", "applicants show",
            "applicants search", "applicants edit", "applicants withdraw", "config show",
            "config path", "refdata load"} <= names  # fmt: skip


@pytest.mark.parametrize("path", _paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example_in_indonesian_by_default(
    path: tuple[str, ...],
) -> None:
    run = invoke([*path, "--help"])
    assert run.exit_code == 0
    assert "Contoh:" in run.stdout and "Example:" not in run.stdout
    assert run.stdout.startswith(f"Cara pakai: prakerja {' '.join(path)} [OPSI]")
    assert "Opsi:" in run.stdout and "Options:" not in run.stdout
    assert "Tampilkan bantuan ini lalu keluar." in run.stdout


@pytest.mark.parametrize("path", _paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example_in_english_after_the_command(
    path: tuple[str, ...],
) -> None:
    run = invoke([*path, "--help", "--lang", "en"])
    assert run.exit_code == 0
    assert "Example:" in run.stdout and "Contoh:" not in run.stdout
    assert run.stdout.startswith(f"Usage: prakerja {' '.join(path)} [OPTIONS]")


@pytest.mark.parametrize(
    ("path", "command"),
    _commands(groups=True),
    ids=[" ".join(p) or "prakerja" for p, _ in _commands(groups=True)],
)
def test_every_help_text_comes_from_both_catalogues_and_is_translated(
    path: tuple[str, ...], command: Any
) -> None:
    """No English help text left in the Indonesian help: every command's and every
    parameter's text is a catalogue entry, and the two languages differ."""
    keys = [help_key(path)]
    for param in command.params:
        own = help_key(path, param.name)
        keys.append(own if own in ID else f"help.option.{param.name}")
    for key in keys:
        assert key in ID and key in EN, key
        assert ID[key] != EN[key], key


def test_help_headings_defaults_and_placeholders_are_indonesian() -> None:
    run = invoke(["backup", "--help"])
    assert "Argumen:" in run.stdout and "Arguments:" not in run.stdout
    assert "[bawaan: 7]" in run.stdout and "default" not in run.stdout
    assert "[OPSI] [FOLDER|BERKAS]" in run.stdout
    edit = invoke(["applicants", "edit", "--help"]).stdout
    assert "--set ISIAN=NILAI" in edit and "[wajib]" in edit and "NOMOR" in edit
    root = invoke(["--help"]).stdout
    assert "Perintah:" in root and "PERINTAH [ARGUMEN]..." in root
    assert "Menampilkan, mencari, mengoreksi dan membatalkan pendaftaran." in root


@pytest.mark.parametrize(
    "args",
    [
        ["--lang", "en", "applicants", "list", "--help"],
        ["applicants", "list", "--lang", "en", "--help"],
        ["applicants", "list", "--help", "--lang=en"],
        ["applicants", "--lang", "EN", "list", "--help"],
    ],
)
def test_lang_works_wherever_it_stands(args: list[str]) -> None:
    run = invoke(args)
    assert run.exit_code == 0
    assert run.stdout.startswith("Usage: prakerja applicants list [OPTIONS]")
    assert "--since DATE" in run.stdout and "List registrations, newest first" in run.stdout


def test_the_environment_chooses_english_and_the_option_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRAKERJA_LANG", "en")
    assert "Example:" in invoke(["nik", "--help"]).stdout
    assert "Contoh:" in invoke(["nik", "--help", "--lang", "id"]).stdout


def test_lang_after_the_command_changes_its_messages(office: Path) -> None:
    run = invoke(["applicants", "show", "3273-D01-999999", "--lang", "en"])
    assert run.exit_code != 0
    assert run.stderr.startswith("error: ")


def test_a_lang_value_after_double_dash_is_not_the_option() -> None:
    run = invoke(["nik", "--lang", "en", "--", "--lang"])
    assert "--lang" in run.stdout  # the NIK as typed, decoded as invalid


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nik", "--lang", "xx"], "galat: Bahasa xx tidak dikenal."),
        (["nik", "--lang"], "galat: Opsi --lang perlu diikuti nilainya."),
    ],
)
def test_a_wrong_lang_is_refused_in_one_line(args: list[str], error: str) -> None:
    run = invoke(args)
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [error, "saran: Pakai --lang dengan salah satu: id, en."]


def test_sync_help_shows_its_exit_codes_and_an_example() -> None:
    # `sync` is a group (it has `status`) that also runs on its own: its help is its own text.
    run = invoke(["sync", "--help"])
    assert run.exit_code == 0
    assert "Kode keluar" in run.stdout and "Contoh: prakerja sync --json" in run.stdout
    english = invoke(["sync", "--help", "--lang", "en"])
    assert "Exit codes" in english.stdout and "Example: prakerja sync --json" in english.stdout


def test_help_at_a_terminal_is_indonesian(tmp_path: Path) -> None:
    from tests.terminal import run_at_terminal

    code, screen = run_at_terminal(["register", "--help"], tmp_path / "home")
    assert code == 0
    assert re.search(r"^Cara pakai: .*register \[OPSI\]$", screen, re.MULTILINE)
    assert re.search(r"--birth-date\s+TANGGAL\s+Tanggal lahir", screen)
    assert "Contoh:" in screen and "Example" not in screen


def test_version_and_module_entry_point() -> None:
    assert "prakerja-cli" in invoke(["--version"]).stdout
    done = subprocess.run(
        [sys.executable, "-m", "prakerja_cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "register" in done.stdout and "Perintah:" in done.stdout
