"""The store: schema by migrations, pragmas, the live-NIK constraint, concurrency."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from prakerja_cli.errors import StoreError
from prakerja_cli.store.db import MIGRATION_COUNT, open_db, write
from prakerja_cli.store.engine import dbapi
from prakerja_cli.store.engine import dbapi as sqlite3
from prakerja_cli.store.migrations import MIGRATIONS


def tables(path: Path):  # type: ignore[no-untyped-def]
    """sqlite-utils' table API on a store the opener made (the package itself needs only SQL)."""
    from sqlite_utils import Database

    return Database(open_db(path).conn)


APPLICANT_COLUMNS = [
    "id", "registration_number", "nik", "kk", "name", "birth_place", "birth_date", "gender",
    "address", "rt", "rw", "village", "district", "regency", "province", "phone", "email",
    "education", "employment", "occupation", "in_school", "social_assistance", "priority",
    "training", "source", "source_file", "source_sheet", "source_row", "source_sha256",
    "office_code", "desk", "operator", "rules", "status", "findings", "withdrawn_reason",
    "withdrawn_at", "created_at", "updated_at", "central_status", "central_id", "central_reason",
    "central_wave", "sent_hash", "synced_at", "verified_at", "purged_at", "seq", "name_folded",
    "central_version",
]  # fmt: skip


def test_migrating_an_empty_database_gives_the_schema(tmp_path: Path) -> None:
    open_db(tmp_path / "new.db", create=True).close()
    db = tables(tmp_path / "new.db")
    assert set(db.table_names()) >= {
        "applicants",
        "counters",
        "regions",
        "meta",
        "_sqlite_migrations",
    }
    assert [c.name for c in db["applicants"].columns] == APPLICANT_COLUMNS
    assert [c.name for c in db["regions"].columns] == [
        "code",
        "level",
        "name",
        "in_current_list",
        "source",
    ]
    assert [c.name for c in db["counters"].columns] == ["name", "value"]
    indexes = {i.name: i for i in db["applicants"].indexes}
    assert indexes["applicants_live_nik"].unique
    assert {
        "applicants_kk",
        "applicants_withdrawn_nik",
        "applicants_phone",
        "applicants_name_folded",
        "applicants_status_central",
        "applicants_central_created",
        "applicants_created_seq",
        "applicants_district",
    } <= set(indexes)
    assert [c.name for c in db["outbox_batches"].columns] == [
        "id", "body", "records", "created_at", "attempts", "last_error", "done_at",
    ]  # fmt: skip
    assert [c.name for c in db["outbox_items"].columns] == [
        "batch_id",
        "applicant_id",
        "content_hash",
    ]
    assert [c.name for c in db["audit"].columns] == [
        "seq", "at", "operator", "desk", "action", "applicant_id", "details", "prev_hash", "hash",
        "records",
    ]  # fmt: skip
    assert [c.name for c in db["purged_niks"].columns] == [
        "nik_hmac", "registration_number", "purged_at", "scheme",
    ]  # fmt: skip
    assert [m.name for m in MIGRATIONS.applied(db)] == [
        "m001_initial", "m002_sync", "m003_audit", "m004_purge", "m005_store_id",
        "m007_slow_tombstones", "m008_scale", "m009_audit_records", "m010_similar",
        "m011_hub", "m012_hub_bundle_keys", "m013_amendments",
    ]  # fmt: skip
    assert [c.name for c in db["outbox_amendments"].columns] == [
        "id", "applicant_id", "kind", "changes", "content_hash", "base_version", "request_id",
        "outcome", "reason", "version", "created_at", "answered_at",
    ]  # fmt: skip
    assert [c.name for c in db["amendment_requests"].columns] == [
        "id", "body", "amendments", "created_at", "attempts", "last_error", "done_at",
    ]  # fmt: skip
    assert "central_version" in {c.name for c in db["applicants"].columns}
    assert len(db.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()[0]) == 32
    assert MIGRATIONS.pending(db) == []


def test_pragmas(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.db", create=True)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 30000


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    first = open_db(path, create=True)
    made = first.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
    first.conn.close()
    db = open_db(path)
    assert db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == MIGRATION_COUNT
    assert db.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone() == made


def test_missing_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        open_db(tmp_path / "absent.db")
    assert caught.value.key == "error.no_database"
    assert not (tmp_path / "absent.db").exists()


def test_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError) as caught:
        open_db(path)
    assert caught.value.key == "error.db_corrupt"


def _insert(db, nik: str, status: str = "valid", ident: str = "a") -> None:  # type: ignore[no-untyped-def]
    db.execute(
        "INSERT INTO applicants (id, registration_number, nik, kk, name, birth_date, gender, address,"
        " village, district, regency, province, phone, education, employment, in_school, source,"
        " office_code, desk, operator, rules, status, created_at, updated_at) VALUES"
        " (?, ?, ?, ?, 'X', '1990-01-01', 'L', 'A', 'V', 'D', 'R', 'P', '+6281234567890', 'SMA',"
        " 'PEKERJA', 0, 'desk', '3273', 'D01', 'op', 'normal-2023', ?, 'now', 'now')",
        [ident, f"R-{ident}", nik, "3273010101100002", status],
    )


def test_nik_is_unique_among_live_records_only(tmp_path: Path) -> None:
    db = open_db(tmp_path / "u.db", create=True)
    nik = "3273011708900001"
    _insert(db, nik, "withdrawn", "a")
    _insert(db, nik, "valid", "b")
    with pytest.raises(dbapi.IntegrityError):
        _insert(db, nik, "flagged", "c")


def test_write_transactions_from_threads_queue_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    open_db(path, create=True).conn.close()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            db = open_db(path)
            for i in range(25):
                with write(db):
                    db.execute("SELECT count(*) FROM counters").fetchone()
                    db.execute(
                        "INSERT INTO counters (name, value) VALUES (?, 1) "
                        "ON CONFLICT (name) DO UPDATE SET value = value + 1",
                        ["shared"],
                    )
                    db.execute("INSERT INTO counters (name, value) VALUES (?, ?)", [f"w{n}-{i}", i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db = open_db(path)
    assert db.execute("SELECT value FROM counters WHERE name = 'shared'").fetchone()[0] == 100


def test_m004_rebuilds_a_populated_store_keeping_rows_references_and_indexes(
    tmp_path: Path,
) -> None:
    """A store made before purge existed (m001-m003), with records, a delivered batch and audit."""
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    old = Database(conn)
    MIGRATIONS.apply(old, stop_before="m004_purge")
    _insert(old, "3273011708900001", "valid", "a")
    _insert(old, "3273011708900002", "withdrawn", "b")
    old.execute(
        "UPDATE applicants SET central_status = 'verified', synced_at = '2025-01-05T10:00:00+07:00'"
        " WHERE id = 'a'"
    )
    old.execute(
        "INSERT INTO outbox_batches (id, body, records, created_at, done_at)"
        " VALUES ('b1', X'7B7D', 1, 'now', 'now')"
    )
    old.execute("INSERT INTO outbox_items VALUES ('b1', 'a', 'h')")
    old.execute("INSERT INTO audit VALUES (1, 'now', 'op', 'D01', 'create', 'a', '{}', 'p', 'h')")
    conn.close()

    db = tables(path)
    assert "m004_purge" in [m.name for m in MIGRATIONS.applied(db)]
    rows = db.execute(
        "SELECT id, nik, status, central_status, verified_at, purged_at FROM applicants ORDER BY id"
    ).fetchall()
    assert rows == [
        ("a", "3273011708900001", "valid", "verified", "2025-01-05T10:00:00+07:00", None),
        ("b", "3273011708900002", "withdrawn", None, None, None),
    ]
    assert db.execute("SELECT * FROM outbox_items").fetchall() == [("b1", "a", "h")]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [f[2] for f in db.execute("PRAGMA foreign_key_list(outbox_items)").fetchall()] == [
        "applicants",
        "outbox_batches",
    ]
    indexes = {i.name: i for i in db["applicants"].indexes}
    assert indexes["applicants_live_nik"].unique and "applicants_central_created" in indexes
    assert "outbox_items_applicant" in {i.name for i in db["outbox_items"].indexes}
    # Foreign keys still hold: an item for a missing applicant is refused.
    with pytest.raises(dbapi.IntegrityError):
        db.execute("INSERT INTO outbox_items VALUES ('b1', 'missing', 'h')")


def test_only_a_purged_record_may_lack_its_personal_fields(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.db", create=True)
    _insert(db, "3273011708900001", "valid", "a")
    with pytest.raises(dbapi.IntegrityError):
        db.execute("UPDATE applicants SET nik = NULL WHERE id = 'a'")
    db.execute("UPDATE applicants SET nik = NULL, name = NULL, purged_at = 'now' WHERE id = 'a'")
    # Purged records hold no NIK, so any number of them sit beside the live-NIK index.
    _insert(db, "3273011708900001", "valid", "b")
    db.execute("UPDATE applicants SET nik = NULL, name = NULL, purged_at = 'now' WHERE id = 'b'")


def test_new_ids_are_time_ordered_uuids_written_as_uuid_writes_them() -> None:
    import uuid

    from prakerja_cli.central.contract import is_uuid
    from prakerja_cli.store.applicants import new_ids

    ids = new_ids(2000) + new_ids(1) + new_ids(500)
    assert len(set(ids)) == 2501
    assert ids == sorted(ids)  # made in this order, and text order is creation order
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert str(parsed) == text and is_uuid(text)
    # The first 48 bits are the time in milliseconds (RFC 9562): within this test's minute.
    millis = int(ids[0][:8] + ids[0][9:13], 16)
    assert abs(millis / 1000 - time.time()) < 60
    # Every random bit (the last 62) varies: none stuck by the packing.
    seen = 0
    for text in ids:
        seen |= uuid.UUID(text).int
    assert seen & ((1 << 62) - 1) == (1 << 62) - 1
    assert new_ids(0) == []


def test_new_ids_sort_by_creation_and_stay_unique_across_processes() -> None:
    """Two desks' processes, one after the other, then side by side: the later ones sort after the
    earlier ones, and no id repeats (62 random bits per id, not a per-process counter)."""
    import subprocess
    import sys

    code = "from prakerja_cli.store.applicants import new_ids\nprint(' '.join(new_ids(3000)))"

    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        return done.stdout.split()

    first, second = run(), run()
    assert first == sorted(first) and second == sorted(second)
    assert max(first) < min(second)
    together = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    side_by_side = [p.communicate()[0].split() for p in together]
    everything = first + second + side_by_side[0] + side_by_side[1]
    assert len(set(everything)) == len(everything) == 12000


def test_a_tombstone_costs_what_the_docs_say() -> None:
    """The cost settings docs/security.md's brute-force figures were measured with
    (benchmarks/tombstone_bruteforce.py measures the time; a test asserts no timings)."""
    from prakerja_cli.store import applicants

    assert applicants.SCRYPT_N >= 2**10 and applicants.SCRYPT_R == 8
    assert 128 * applicants.SCRYPT_R * applicants.SCRYPT_N >= 2**20  # memory per try: 1 MiB
    assert applicants.TOMBSTONE_SCHEME == "scrypt-n1024-r8-p1"
    key, other = b"k" * 32, b"o" * 32
    nik = "3273015708900001"
    assert len(applicants.nik_tombstone(nik, key)) == 64
    assert applicants.nik_tombstone(nik, key) != applicants.nik_tombstone(nik, other)
    assert applicants.nik_tombstone(nik, key) != applicants.nik_tombstone(nik[:-1] + "2", key)
    many = [f"32730157089{i:05d}" for i in range(80)]  # enough for the threaded path
    assert applicants.tombstones(many, key) == {n: applicants.nik_tombstone(n, key) for n in many}


def test_opening_the_store_does_not_load_numpy_or_pandas() -> None:
    import subprocess
    import sys

    pytest.importorskip("numpy")
    code = (
        "import sys; import prakerja_cli.store.db, sqlite_utils; "
        "print('numpy' in sys.modules, 'pandas' in sys.modules); "
        "import numpy; print(numpy.int64(3) + 1)"  # still importable for whoever needs it
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "4"]


@pytest.mark.parametrize(
    ("code", "free", "key"),
    [
        (13, 10 << 30, "error.disk_full"),  # SQLITE_FULL
        (10 | (4 << 8), 4096, "error.disk_full"),  # SQLITE_IOERR_WRITE on a full disk
        (14, 0, "error.disk_full"),  # SQLITE_CANTOPEN: no room for the WAL file
        (10 | (4 << 8), 10 << 30, "error.db_open"),  # an I/O error with room left: not "full"
    ],
)
def test_a_full_disk_is_named_whatever_sqlite_calls_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, free: int, key: str
) -> None:
    import shutil

    from prakerja_cli.store.db import store_error

    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(1, 1, free))  # type: ignore[attr-defined]
    exc = dbapi.OperationalError("disk I/O error" if code != 14 else "unable to open database file")
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
    assert store_error(exc, tmp_path / "prakerja.db").key == key


def test_an_up_to_date_store_opens_without_sqlite_utils(tmp_path: Path) -> None:
    """The opener counts the applied migrations with one query; only a store with migrations to
    apply loads the migrations module and sqlite-utils (~85 ms of every command)."""
    import subprocess
    import sys

    assert len(MIGRATIONS.pending(tables_of_new(tmp_path))) == 0
    assert len(MIGRATIONS._migrations) == MIGRATION_COUNT  # bump it with each new migration
    probe = (
        "import sys; from pathlib import Path; from prakerja_cli.store.db import open_db; "
        f"open_db(Path({str(tmp_path / 'n.db')!r})).close(); "
        "print('sqlite_utils' in sys.modules, 'prakerja_cli.store.migrations' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def tables_of_new(tmp_path: Path):  # type: ignore[no-untyped-def]
    open_db(tmp_path / "n.db", create=True).close()
    return tables(tmp_path / "n.db")
