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
    # Two from the desk, then the roster's three storable rows (one flagged).
    assert rows[:2] == [("SITI AMINAH", "valid"), ("BUDI SANTOSO", "flagged")]
    assert [status for _, status in rows[2:]] == ["valid", "valid", "flagged"]
    assert (tmp_path / "demo" / "perbaikan.xlsx").is_file()
    assert (tmp_path / "demo" / "rekap.xlsx").is_file()
    with sqlite3.connect(tmp_path / "demo" / "prakerja.db") as conn:
        states = {s for (s,) in conn.execute("SELECT central_status FROM applicants")}
    assert states == {"verified"}
