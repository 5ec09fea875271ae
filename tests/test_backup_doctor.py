"""Backups (consistent, verified, rotated), restores (refusing bad files), and the doctor."""

from __future__ import annotations

import re
import sys
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import INIT_ARGS, applicant_args, invoke


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


def test_keep_below_one_is_refused_and_deletes_no_backup(office: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cadangan"
    assert invoke(["backup", str(folder)]).exit_code == 0
    before = sorted(folder.glob("prakerja-*.db"))
    for keep in ("0", "-1"):
        run = invoke(["backup", str(folder), "--keep", keep])
        assert run.exit_code == 2 and f"--keep {keep} tidak sah" in run.stderr
    assert sorted(folder.glob("prakerja-*.db")) == before  # nothing made, nothing deleted
    run = invoke(["--lang", "en", "backup", str(folder), "--keep", "0", "--json"])
    assert run.exit_code == 2 and run.json()["error"] == "keep_min"


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
    assert set(checks) == {
        "integrity",
        "unsent",
        "parked",
        "amendments",
        "amendments_refused",
        "wal",
        "api",
        "clock",
        "encryption",
        "audit",
    }
    assert checks["integrity"]["ok"] and checks["audit"]["ok"] and checks["clock"]["ok"]
    assert not checks["api"]["ok"] and "prakerja config set api_url" in checks["api"]["fix"]
    assert all(c["fix"] is None for c in checks.values() if c["ok"])
    assert run.exit_code == 1
    human = invoke(["doctor"])
    assert "prakerja config set api_url" in human.stdout


def test_doctor_warns_of_records_refused_centrally_and_names_how_to_see_them(
    office: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Ditolak/duplikat di pusat: 1" was marked OK."""
    monkeypatch.setenv("PRAKERJA_API_URL", "https://central.example.go.id")
    monkeypatch.setenv("PRAKERJA_API_TOKEN", "t")
    assert invoke(applicant_args()).exit_code == 0
    quiet = {c["check"]: c for c in invoke(["doctor", "--json"]).json()}["parked"]
    assert quiet == {"check": "parked", "ok": True, "warning": False, "detail": "0", "fix": None}
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.execute("UPDATE applicants SET central_status = 'duplicate'")
    run = invoke(["doctor", "--json"])
    assert run.exit_code == 0  # a warning: the desk itself needs no repair
    parked = {c["check"]: c for c in run.json()}["parked"]
    assert (parked["ok"], parked["warning"], parked["detail"]) == (False, True, "1")
    assert "`prakerja applicants list --central parked`" in parked["fix"]
    human = invoke(["doctor"])
    assert human.exit_code == 0
    lines = human.stdout.splitlines()
    at = lines.index("!  Ditolak/duplikat di pusat: 1")
    assert lines[at + 1].startswith(
        "   saran: Lihat dengan `prakerja applicants list --central parked`"
    )
    assert all(line.startswith(("OK ", "   ", "!  ")) for line in lines)  # nothing else failed


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


def _backup_and_lose_the_pc(office: Path, tmp_path: Path) -> tuple[Path, bytes]:
    """A backup of an office with one registration, then a new PC: same office, another key."""
    import secrets

    register(1)
    made = Path(invoke(["backup", str(tmp_path / "b"), "--json"]).json()["file"])
    old_key = (office / "office.key").read_bytes()
    (office / "office.key").write_bytes(secrets.token_bytes(32))
    return made, old_key


def test_backup_carries_the_office_key_and_a_restore_on_a_new_pc_verifies(
    office: Path, tmp_path: Path
) -> None:
    made, old_key = _backup_and_lose_the_pc(office, tmp_path)
    new_key = (office / "office.key").read_bytes()
    with sqlite3.connect(made) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'office_key'").fetchone()
    assert bytes.fromhex(row[0]) == old_key
    # closing(): `with connect()` only commits, and an open connection would make restore refuse.
    with closing(sqlite3.connect(office / "prakerja.db")) as conn:  # the store never holds the key
        assert conn.execute("SELECT 1 FROM meta WHERE key = 'office_key'").fetchone() is None
    run = invoke(["restore", str(made), "--yes"])
    assert run.exit_code == 0, run.stderr
    assert (office / "office.key").read_bytes() == old_key
    aside = list(office.glob("office.before-restore-*.key"))
    assert [p.read_bytes() for p in aside] == [new_key]
    assert aside[0].name in run.stdout  # the clerk is told where the other key went
    with closing(sqlite3.connect(office / "prakerja.db")) as conn:
        assert conn.execute("SELECT 1 FROM meta WHERE key = 'office_key'").fetchone() is None
    assert invoke(["audit", "verify"]).exit_code == 0
    assert invoke(["doctor", "--json"]).json()[-1] == {
        "check": "audit", "ok": True, "warning": False, "detail": "2", "fix": None
    }  # fmt: skip
    again = invoke(["restore", str(made), "--yes", "--json"]).json()
    assert again["key"] == "same" and again["key_set_aside"] is None


def test_a_backup_without_the_key_restored_on_a_new_pc_reports_key(
    office: Path, tmp_path: Path
) -> None:
    made, old_key = _backup_and_lose_the_pc(office, tmp_path)
    with sqlite3.connect(made) as conn:  # as made before backups carried the key
        conn.execute("DELETE FROM meta WHERE key = 'office_key'")
    key_here = (office / "office.key").read_bytes()
    run = invoke(["restore", str(made), "--yes"])
    assert run.exit_code == 0, run.stderr
    assert "tidak memuat kunci kantor" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert (office / "office.key").read_bytes() == key_here
    verify = invoke(["audit", "verify"])
    assert verify.exit_code == 1
    assert "RUSAK" not in verify.stderr and "kunci kantor" in verify.stderr
    assert "office.old.key" in verify.stderr  # the fix
    assert invoke(["audit", "verify", "--json"]).json() == {
        "entries": 2, "intact": False, "broken_at": 1, "problem": "key", "changed": [],
        "anchor_lost": None,
    }  # fmt: skip
    checks = {c["check"]: c for c in invoke(["doctor", "--json"]).json()}
    assert checks["audit"]["ok"] is False and checks["audit"]["detail"] == "#1 key"
    assert "office.old.key" in checks["audit"]["fix"]
    english = invoke(["--lang", "en", "audit", "verify"])
    assert "cannot be verified with this office's key" in english.stderr
    # The old PC's key, copied in beside this one, verifies the entries made before the restore.
    (office / "office.old.key").write_bytes(old_key)
    assert invoke(["audit", "verify"]).exit_code == 0
    # Entries made after the restore are still checked with this key.
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.execute("UPDATE audit SET operator = 'X' WHERE action = 'restore'")
    assert invoke(["audit", "verify", "--json"]).json()["problem"] == "edited"


def test_a_backup_without_the_key_restored_on_the_same_pc_just_restores(
    office: Path, tmp_path: Path
) -> None:
    register(1)
    made = Path(invoke(["backup", str(tmp_path / "b"), "--json"]).json()["file"])
    with sqlite3.connect(made) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'office_key'")
    run = invoke(["--lang", "en", "restore", str(made), "--yes", "--json"])
    assert run.exit_code == 0, run.stderr
    assert run.json()["key"] == "missing" and run.json()["audit_key_mismatch"] is False
    assert invoke(["audit", "verify"]).exit_code == 0


def test_restore_of_a_keyless_backup_says_so_in_english(office: Path, tmp_path: Path) -> None:
    made, _ = _backup_and_lose_the_pc(office, tmp_path)
    with sqlite3.connect(made) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'office_key'")
    run = invoke(["--lang", "en", "restore", str(made), "--yes"])
    assert run.exit_code == 0
    assert run.stderr.strip() == (
        "This backup holds no office key: its audit trail cannot be verified with the current key"
        " (`prakerja audit verify` reports 'key')."
    )


def test_backup_to_a_db_file_writes_exactly_that_file_once(office: Path, tmp_path: Path) -> None:
    register(1)
    target = tmp_path / "usb" / "kantor-senin.db"
    run = invoke(["backup", str(target), "--json"])
    assert run.exit_code == 0, run.stderr
    assert run.json()["file"] == str(target) and run.json()["removed"] == []
    assert [p.name for p in target.parent.iterdir()] == ["kantor-senin.db"]
    before = target.read_bytes()
    again = invoke(["backup", str(target)])
    assert again.exit_code == 2
    lines = again.stderr.strip().splitlines()
    assert lines == [
        f"galat: Berkas {target} sudah ada.",
        "saran: Pilih nama lain, atau tambahkan --force untuk menimpanya.",
    ]
    assert target.read_bytes() == before
    assert invoke(["restore", str(target), "--yes"]).exit_code == 0
    assert not (office / "backups").exists()  # a folder backup was not made on the side


def test_backup_force_replaces_the_file_with_a_newer_copy(office: Path, tmp_path: Path) -> None:
    register(1)
    target = tmp_path / "mingguan.db"
    assert invoke(["backup", str(target)]).exit_code == 0
    register(2)
    run = invoke(["backup", str(target), "--force", "--json"])
    assert run.exit_code == 0, run.stderr
    assert run.json()["counts"]["applicants"] == 2
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("SELECT count(*) FROM applicants").fetchone()[0] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "mingguan.db"]  # no leftovers


def test_backup_never_replaces_the_store_it_copies(office: Path, tmp_path: Path) -> None:
    register(1)
    store = office / "prakerja.db"
    before = store.stat().st_size
    run = invoke(["backup", str(store), "--force"])
    assert run.exit_code == 2
    assert str(store) in run.stderr and "basis data kantor ini sendiri" in run.stderr
    assert store.stat().st_size == before
    assert invoke(["applicants", "show", "3273-D01-000001"]).exit_code == 0


def test_an_existing_folder_named_like_a_db_file_is_still_a_folder(
    office: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "arsip.db"
    folder.mkdir()
    run = invoke(["backup", str(folder), "--json"])
    assert run.exit_code == 0, run.stderr
    assert Path(run.json()["file"]).parent == folder
    assert len(list(folder.glob("prakerja-*.db"))) == 1


def test_a_lost_office_key_is_not_replaced_silently(office: Path, tmp_path: Path) -> None:
    register(1)
    made = Path(invoke(["backup", str(tmp_path / "b"), "--json"]).json()["file"])
    key = (office / "office.key").read_bytes()
    (office / "office.key").unlink()
    for args in (["applicants", "list"], ["audit", "verify"], ["backup", str(tmp_path / "c")]):
        run = invoke(args)
        assert run.exit_code == 2, args
        assert "office.key" in run.stderr and "tidak dibuat diam-diam" in run.stderr
        assert "Traceback" not in run.stderr
        assert not (office / "office.key").exists(), args  # no new key behind the clerk's back
    # The backup carries the key: restoring it puts the key back and the trail verifies.
    assert invoke(["restore", str(made), "--yes"]).exit_code == 0
    assert (office / "office.key").read_bytes() == key
    assert invoke(["audit", "verify"]).exit_code == 0


def test_init_force_after_a_lost_key_marks_the_earlier_entries_key(office: Path) -> None:
    register(1)
    (office / "office.key").unlink()
    assert invoke([*INIT_ARGS, "--force"]).exit_code == 0
    assert len((office / "office.key").read_bytes()) == 32
    verify = invoke(["audit", "verify", "--json"]).json()
    assert verify["intact"] is False and verify["problem"] == "key"  # not 'edited'
    register(2)  # new entries are signed with the new key and the chain goes on
    assert invoke(["applicants", "list", "--json"]).exit_code == 0
    assert invoke(["audit", "verify", "--json"]).json()["problem"] == "key"


def test_a_store_with_no_audit_entries_gets_its_key_when_it_has_none(office: Path) -> None:
    (office / "office.key").unlink()
    assert invoke(["applicants", "list"]).exit_code == 0
    assert len((office / "office.key").read_bytes()) == 32


def test_doctor_speaks_in_units_and_local_time_for_people_and_iso_for_scripts(
    office: Path,
) -> None:
    """Was: "0 (0.0 d)", the clock as an ISO timestamp with +00:00, and "-" for no API address."""
    assert invoke(applicant_args()).exit_code == 0
    text = invoke(["doctor"]).stdout
    assert "(0,0 hari)" in text and " d)" not in text
    assert "Alamat dan token API: (kosong)" in text
    clock = next(line for line in text.splitlines() if "Jam komputer" in line)
    assert re.fullmatch(r"\S+ Jam komputer: \d\d-\d\d-\d{4} \d\d\.\d\d \S+", clock), clock
    checks = {c["check"]: c["detail"] for c in invoke(["doctor", "--json"]).json()}
    assert checks["unsent"].endswith(" d)") and "T" in checks["clock"]  # scripts keep theirs
