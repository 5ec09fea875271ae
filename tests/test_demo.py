"""The README's demo runs end to end through real `prakerja` processes."""

from __future__ import annotations

from pathlib import Path

from prakerja_cli.demo import run_demo
from prakerja_cli.store.engine import dbapi as sqlite3


def test_demo_runs_every_step_as_expected(tmp_path: Path) -> None:
    said: list[str] = []
    failures = run_demo(said.append, tmp_path / "demo")
    assert failures == 0, "\n".join(said)
    with sqlite3.connect(tmp_path / "demo" / "prakerja.db") as conn:
        rows = conn.execute(
            "SELECT name, status FROM applicants ORDER BY registration_number"
        ).fetchall()
    # Two from the desk, then the roster's three storable rows: its Siti Aminah, born the same
    # day in Sukasari under another NIK, is flagged as possibly the desk's (POSSIBLE_DUPLICATE),
    # and one has the NIK's birth date differ.
    assert rows[:2] == [("SITI AMINAH", "valid"), ("BUDI SANTOSO", "flagged")]
    assert [status for _, status in rows[2:]] == ["flagged", "valid", "flagged"]
    assert (tmp_path / "demo" / "perbaikan.xlsx").is_file()
    assert (tmp_path / "demo" / "rekap.xlsx").is_file()
    # The demo ends with the supervisor's papers and the handover package.
    assert (tmp_path / "demo" / "tanda-terima.pdf").is_file()
    assert (tmp_path / "demo" / "rekap-hari-ini.pdf").is_file()
    assert (tmp_path / "demo" / "serah-terima" / "manifest.json").is_file()
    with sqlite3.connect(tmp_path / "demo" / "prakerja.db") as conn:
        states = {s for (s,) in conn.execute("SELECT central_status FROM applicants")}
    assert states == {"verified"}


def test_every_demo_step_has_a_heading_in_both_languages(tmp_path: Path) -> None:
    from prakerja_cli.demo import demo_steps
    from prakerja_cli.i18n.en import MESSAGES as EN
    from prakerja_cli.i18n.id import MESSAGES as ID

    keys = [f"demo.step.{step.key}" for step in demo_steps(tmp_path)]
    assert len(set(keys)) == len(keys)
    assert [k for k in keys if k not in ID or k not in EN] == []
    # Clerks read the demo in Bahasa Indonesia unless they ask otherwise.
    assert ID["demo.step.register"] != EN["demo.step.register"]
