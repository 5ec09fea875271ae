"""Every command has help text ending in an example; the entry points work."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from prakerja_cli.cli import app
from tests.conftest import invoke


def _commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        commands = getattr(command, "commands", None)
        if commands:
            for name, sub in commands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(root, ())
    return found


def test_all_commands_are_found() -> None:
    names = {" ".join(c) for c in _commands()}
    assert {"init", "nik", "register", "demo", "applicants list", "applicants show",
            "applicants search", "applicants edit", "applicants withdraw", "config show",
            "config path", "refdata load"} <= names  # fmt: skip


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    run = invoke([*path, "--help"])
    assert run.exit_code == 0
    assert "Example:" in run.stdout


def test_sync_help_shows_its_exit_codes_and_an_example() -> None:
    # `sync` is a group (it has `status`) that also runs on its own: its help is its own text.
    run = invoke(["sync", "--help"])
    assert run.exit_code == 0
    assert "Exit codes" in run.stdout and "Example: prakerja sync --json" in run.stdout


def test_version_and_module_entry_point() -> None:
    assert "prakerja-cli" in invoke(["--version"]).stdout
    done = subprocess.run(
        [sys.executable, "-m", "prakerja_cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "register" in done.stdout
