"""Open the office database: WAL, busy timeout, foreign keys, migrations. The only way in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prakerja_cli.errors import StoreError, os_reason
from prakerja_cli.files import private_folder
from prakerja_cli.store.engine import connect, dbapi, is_encrypted

#: How many migrations store/migrations.py registers: a store that has applied this many (they
#: are never removed, and names are unique) is up to date, and opening it needs neither the
#: migrations module nor sqlite-utils (~85 ms of every command's start-up).
#: tests/test_store.py checks it against the module.
MIGRATION_COUNT = 12
_APPLIED = "SELECT count(*) FROM _sqlite_migrations WHERE migration_set = 'prakerja'"


class Database:
    """The store's connection as the package uses it: `execute`, `conn`, `close`, `atomic`,
    the part of sqlite_utils.Database it needs, without importing sqlite-utils at every
    command. Migrations (store/migrations.py) use sqlite-utils' table API on the same
    connection."""

    def __init__(self, conn: dbapi.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Any = None) -> dbapi.Cursor:
        if parameters is None:
            return self.conn.execute(sql)
        return self.conn.execute(sql, parameters)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """A savepoint inside the open transaction (as sqlite_utils.Database.atomic)."""
        self.conn.execute("SAVEPOINT prakerja_atomic")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK TO SAVEPOINT prakerja_atomic")
            self.conn.execute("RELEASE SAVEPOINT prakerja_atomic")
            raise
        else:
            self.conn.execute("RELEASE SAVEPOINT prakerja_atomic")


def _up_to_date(conn: dbapi.Connection) -> bool:
    try:
        return int(conn.execute(_APPLIED).fetchone()[0]) == MIGRATION_COUNT
    except dbapi.OperationalError:  # no migrations table: a new store
        return False


#: How long a writer waits for another process's transaction before giving up (ms). Desks commit
#: in milliseconds; a roster import holds the lock while it writes (~4 s at 100k rows), a big one
#: (roster/writer.py) from before its first look-up (the file read) to its commit: 7.2-7.4 s at
#: 100k rows, less than the whole import's 19-23 s at 266,000 (the largest roster a desk accepts;
#: benchmarks/roster_import.py --rows 266000).
BUSY_TIMEOUT_MS = 60_000


def journals(path: Path) -> list[Path]:
    """The files SQLite keeps beside a database while it is open or after a crash."""
    return [Path(f"{path}{suffix}") for suffix in ("-journal", "-wal", "-shm")]


def store_error(exc: dbapi.Error, path: Path) -> StoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError("error.db_locked", hint="hint.db_locked", path=str(path))
    if "readonly" in text or "read-only" in text:
        return StoreError("error.db_readonly", hint="hint.db_readonly", path=str(path))
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError("error.db_corrupt", hint="hint.db_corrupt", path=str(path))
    if ("disk" in text and "full" in text) or _out_of_space(exc, path):
        return StoreError("error.disk_full", hint="hint.disk_full", path=str(path))
    return StoreError("error.db_open", hint="hint.db_open", path=str(path), reason=str(exc))


#: SQLite's primary result codes that a full disk can surface as: SQLITE_FULL, and SQLITE_IOERR
#: or SQLITE_CANTOPEN when the journal or WAL file cannot be created or grown.
_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_CANTOPEN = 13, 10, 14
#: Free bytes below which an I/O failure is taken for a full disk.
_NEARLY_FULL = 1 << 20


def _out_of_space(exc: dbapi.Error, path: Path) -> bool:
    """Whether the store failed because its disk is full (SQLite may say "disk I/O error" or
    "unable to open database file" for it, which would send the clerk to the permissions)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return False
    if code & 0xFF == _SQLITE_FULL:
        return True
    if code & 0xFF not in (_SQLITE_IOERR, _SQLITE_CANTOPEN):
        return False
    try:
        return shutil.disk_usage(path.parent).free < _NEARLY_FULL
    except OSError:
        return False


def open_db(path: Path, *, create: bool = False, key: bytes | None = None) -> Database:
    """Open (or with `create`, make) the store at `path` and bring its schema up to date. An
    encrypted store is opened with `key`, else with the key the vault finds for it; a new store
    made with `key` is encrypted (store/engine.py, prakerja_cli/vault.py)."""
    from prakerja_cli import vault

    is_new = not path.exists()
    if is_new and not create:
        raise StoreError("error.no_database", hint="hint.run_init_force", path=str(path))
    if key is None and is_encrypted(path):
        # Not an SQLite file: an encrypted store, or (in an office without a key) a damaged one.
        key = vault.configured_key(path)
        if key is None:
            raise StoreError("error.db_corrupt", hint="hint.db_corrupt", path=str(path))
    conn: dbapi.Connection | None = None
    try:
        if is_new:
            private_folder(path.parent)
            # Create the file owner-only before SQLite writes personal data into it.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        conn = connect(
            path, key=key, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
        if key is not None:
            _check_key(conn, path)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Temporary tables and the B-trees of sorts and UNIONs stay in memory: never a plain
        # temporary file of applicants' values on disk, and a roster's look-up table
        # (store.applicants.similar_records_bulk) fills 3x faster.
        conn.execute("PRAGMA temp_store = MEMORY")
        db = Database(conn)
        if not _up_to_date(conn):
            from prakerja_cli.store.migrations import migrate

            # Serialise migrations between processes: the first takes the write lock, the
            # others wait for it and then find nothing pending.
            with write(db):
                migrate(conn)
        vault.remember(_secret_rows(conn) if key is not None else {})
    except BaseException as exc:
        # Closed at once, not when the exception lets go of it: Windows cannot delete or move a
        # file that is open, and `init` removes the files of a failed set-up.
        if conn is not None:
            conn.close()
        if isinstance(exc, dbapi.Error):
            raise store_error(exc, path) from None
        if isinstance(exc, OSError):
            raise StoreError(
                "error.db_open", hint="hint.db_open", path=str(path), reason=os_reason(exc)
            ) from None
        raise
    return db


def _check_key(conn: dbapi.Connection, path: Path) -> None:
    """A wrong key reads as a file that is not a database: say which it is."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except dbapi.DatabaseError:
        raise StoreError("error.store_key_wrong", hint="hint.store_key", path=str(path)) from None


def _secret_rows(conn: dbapi.Connection) -> dict[str, str]:
    from prakerja_cli.vault import SECRET_ROWS

    slots = ", ".join("?" * len(SECRET_ROWS))
    rows = conn.execute(f"SELECT key, value FROM meta WHERE key IN ({slots})", SECRET_ROWS)
    return {str(k): str(v) for k, v in rows}


@contextmanager
def write(db: Database) -> Iterator[Database]:
    """A write transaction taken with BEGIN IMMEDIATE.

    A deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when another
    process committed in between (the busy timeout does not apply to that upgrade). Taking the write
    lock up front makes concurrent desks queue on the busy timeout instead.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


@contextmanager
def guarded(path: Path) -> Iterator[None]:
    """Turn SQLite failures in a block into a StoreError naming the file and the fix."""
    try:
        yield
    except dbapi.Error as exc:
        raise store_error(exc, path) from None
