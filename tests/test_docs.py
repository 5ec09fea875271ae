"""The docs name every finding code and every command."""

from __future__ import annotations

from pathlib import Path

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
