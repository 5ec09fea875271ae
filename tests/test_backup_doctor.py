"""Backups (consistent, verified, rotated), restores (refusing bad files), and the doctor."""

from __future__ import annotations

import sqlite3
import sys
from datetime import date
from pathlib import Path

import pytest

from prakerja_cli.demo import synthetic_nik
from tests.conftest import applicant_args, invoke


def register(serial: int) -> None:
    nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
    assert invoke(applicant_args(nik=nik, kk=f"32730101011{serial:05d}")).exit_code == 0


def test_backup_is_verified_and_rotated(office: Path, tmp_path: Path) -> None:
    register(1)
    folder = tmp_path / "cadangan"
    made = []
    for _ in range(4):
        run = invoke(["backup", str(folder), "--keep", "3", "--json"])
        assert run.exit_code == 0, run.stderr
        made.append(Path(run.json()["file"]))
        assert run.json()["counts"]["applicants"] == 1
    assert sorted(folder.glob("prakerja-*.db")) == sorted(made[1:])
    with sqlite3.connect(made[-1]) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM applicants").fetchone()[0] == 1
    if sys.platform != "win32":
        assert made[-1].stat().st_mode & 0o077 == 0
    assert list(folder.glob(".*partial")) == []


def test_default_backup_folder(office: Path) -> None:
    run = invoke(["backup"])
    assert run.exit_code == 0
    assert len(list((office / "backups").glob("prakerja-*.db"))) == 1


def test_restore_sets_the_current_database_aside(office: Path, tmp_path: Path) -> None:
    register(1)
    made = Path(invoke(["backup", str(tmp_path / "b"), "--json"]).json()["file"])
    register(2)
    assert len(invoke(["applicants", "list", "--json"]).json()) == 2
    run = invoke(["restore", str(made), "--yes", "--json"])
    assert run.exit_code == 0, run.stderr
    assert len(invoke(["applicants", "list", "--json"]).json()) == 1
    aside = Path(run.json()["set_aside"])
    with sqlite3.connect(aside) as conn:
        assert conn.execute("SELECT count(*) FROM applicants").fetchone()[0] == 2
    log = invoke(["audit", "log", "--json"]).json()
    assert log[-1]["action"] == "restore"
    assert invoke(["audit", "verify"]).exit_code == 0


def test_restore_refuses_corrupt_and_foreign_files(office: Path, tmp_path: Path) -> None:
    bad = tmp_path / "rusak.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)
    run = invoke(["restore", str(bad), "--yes"])
    assert run.exit_code == 2 and "rusak" in run.stderr
    made = Path(invoke(["backup", str(tmp_path / "b"), "--json"]).json()["file"])
    with sqlite3.connect(made) as conn:
        conn.execute("UPDATE meta SET value = '3201' WHERE key = 'office_code'")
    run = invoke(["restore", str(made), "--yes"])
    assert run.exit_code == 2 and "3201" in run.stderr
    assert invoke(["doctor"]).exit_code in (0, 1)  # the store is untouched and still opens


def test_restore_asks_first(office: Path, tmp_path: Path) -> None:
    made = Path(invoke(["backup", str(tmp_path / "b"), "--json"]).json()["file"])
    assert invoke(["restore", str(made)], input="n\n").exit_code == 130


def test_doctor_reports_checks_with_fixes(office: Path) -> None:
    run = invoke(["doctor", "--json"])
    checks = {c["check"]: c for c in run.json()}
    assert set(checks) == {"integrity", "unsent", "parked", "wal", "api", "clock", "audit"}
    assert checks["integrity"]["ok"] and checks["audit"]["ok"] and checks["clock"]["ok"]
    assert not checks["api"]["ok"] and "prakerja config set api_url" in checks["api"]["fix"]
    assert all(c["fix"] is None for c in checks.values() if c["ok"])
    assert run.exit_code == 1
    human = invoke(["doctor"])
    assert "prakerja config set api_url" in human.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_backup_into_a_full_or_unwritable_folder_leaves_nothing(
    office: Path, tmp_path: Path
) -> None:
    import os

    folder = tmp_path / "penuh"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.geteuid() == 0:
            pytest.skip("root ignores permissions")
        run = invoke(["backup", str(folder)])
    finally:
        folder.chmod(0o700)
    assert run.exit_code == 1 and "Traceback" not in run.stderr
    assert list(folder.iterdir()) == []


def _with_file_size_limit(limit: int) -> None:  # runs in the child before exec
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("what", ["backup", "import"])
def test_disk_filling_up_gives_a_clean_error_and_nothing_half_written(
    office: Path, tmp_path: Path, what: str
) -> None:
    """A file-size limit makes every write past 1 MB fail, as on a full disk."""
    import os
    import subprocess

    from rosters import person, write_xlsx

    register(1)
    before = invoke(["applicants", "list", "--json"]).json()
    if what == "backup":
        args = ["backup", str(tmp_path / "b")]
    else:
        args = [
            "roster",
            "import",
            str(write_xlsx(tmp_path / "r.xlsx", [person(i) for i in range(1, 2900)])),
        ]
    done = subprocess.run(
        [sys.executable, "-m", "prakerja_cli", *args],
        env={**os.environ, "PRAKERJA_HOME": str(office)},
        capture_output=True, text=True, preexec_fn=lambda: _with_file_size_limit(1 << 20), check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.startswith("galat:")]) == 1
    assert invoke(["applicants", "list", "--json"]).json() == before
    with sqlite3.connect(office / "prakerja.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if what == "backup":
        assert [p.name for p in (tmp_path / "b").iterdir()] == []
