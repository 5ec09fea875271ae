"""The README's demo runs end to end through real `prakerja` processes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from prakerja_cli.demo import run_demo


def test_demo_runs_every_step_as_expected(tmp_path: Path) -> None:
    said: list[str] = []
    failures = run_demo(said.append, tmp_path / "demo")
    assert failures == 0, "\n".join(said)
    with sqlite3.connect(tmp_path / "demo" / "prakerja.db") as conn:
        rows = conn.execute(
            "SELECT name, status FROM applicants ORDER BY registration_number"
        ).fetchall()
    assert rows == [("SITI AMINAH", "valid"), ("BUDI SANTOSO", "flagged")]
