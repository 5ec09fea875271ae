"""The docs name every finding code and every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from prakerja_cli.core.findings import Code

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_finding_code_is_documented() -> None:
    text = (DOCS / "findings.md").read_text(encoding="utf-8")
    missing = [code.value for code in Code if f"### {code.value}" not in text]
    assert missing == []


def test_every_exit_code_is_documented() -> None:
    from prakerja_cli.errors import ExitCode

    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    assert [c for c in ExitCode if f"| {int(c)} " not in text and f"## {int(c)}" not in text] == []


def _error_classes() -> list[type]:
    """Every PrakerjaError subclass the CLI can raise (their modules imported first)."""
    import prakerja_cli.roster.read
    import prakerja_cli.sync.run  # noqa: F401 - defines SyncBusyError, ProtocolError
    from prakerja_cli.errors import PrakerjaError

    found: list[type] = []
    todo: list[type] = [PrakerjaError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return [cls for cls in found if cls is not PrakerjaError]


def test_exit_code_table_matches_the_error_hierarchy() -> None:
    from prakerja_cli.errors import ExitCode

    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ")]
    table = {int(code): (name.strip(" `"), raised) for code, name, raised, _ in rows[1:]}
    assert {code: name for code, (name, _) in table.items()} == {c.value: c.name for c in ExitCode}
    documented = {
        cls: code
        for code, (_, raised) in table.items()
        for cls in raised.replace("`", "").split(",")
    }
    actual = {cls.__name__: int(cls.exit_code) for cls in _error_classes()}
    assert {name.strip(): code for name, code in documented.items() if name.strip()} == actual


def test_readme_lists_the_same_exit_codes() -> None:
    from prakerja_cli.errors import ExitCode

    text = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Exit codes") : text.index("## The nightly sync")]
    cells = [line.split("|") for line in section.splitlines() if line.startswith("| ")]
    codes = {int(c[1]) for c in cells if c[1].strip().isdigit()}
    assert codes == {int(c) for c in ExitCode}


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


@pytest.mark.parametrize(
    "command",
    [
        "roster import",
        "roster template",
        "export",
        "sync",
        "sync status",
        "backup",
        "restore",
        "hub serve",
        "hub enrol",
        "hub revoke",
        "hub desks",
        "report",
        "handover",
        "applicants receipt",
        "encrypt",
        "unlock",
    ],
)
def test_commands_md_describes_each_option_and_the_exit_codes(command: str) -> None:
    import typer

    from prakerja_cli.cli import app

    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    section = _section(text, f"prakerja {command}")
    assert f"(#prakerja-{command.replace(' ', '-')})" in text  # listed in the table at the top
    cli = typer.main.get_command(app)
    for name in command.split():
        cli = cli.commands[name]  # type: ignore[attr-defined]
    options = [o for p in cli.params if p.param_type_name == "option" for o in p.opts]
    assert options, command
    # Each option has a row of the section's option table: | `--keep N` | what it does |
    described = " ".join(
        line.split("|")[1] for line in section.splitlines() if line.startswith("| `")
    )
    assert [o for o in options if f"`{o}" not in described] == []
    assert "Exit code" in section and "```text" in section  # exit codes and an example


def test_every_test_the_security_page_names_exists() -> None:
    """docs/security.md's threat table points each claim at the test that attacks it."""
    import ast
    import re

    text = (DOCS / "security.md").read_text(encoding="utf-8")
    # A name ending in "_" is a family (`test_retention_*`), not one test.
    named = {m for m in re.findall(r"(tests/test_\w+\.py)::(\w+)", text) if not m[1].endswith("_")}
    assert len(named) >= 20
    tests = DOCS.parent
    missing = []
    for path, name in sorted(named):
        tree = ast.parse((tests / path).read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if name not in defined:
            missing.append(f"{path}::{name}")
    assert missing == []
