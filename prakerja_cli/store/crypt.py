"""Encrypting a plain store in place, crash-safe.

The encrypted copy is written beside the store (`.prakerja.db.encrypting`), checked, flushed to the
disk and then moved onto the store in one rename. A crash or power cut before the rename leaves the
plain store as it was (the half-made copy is removed at the next attempt); after it, the store is
encrypted whole. No other process may have the store open meanwhile: leaving WAL mode needs the
only connection, so it doubles as the check, and the exclusive transaction keeps everyone out
while the copy is made.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from prakerja_cli.errors import StoreError, os_reason
from prakerja_cli.store.db import journals
from prakerja_cli.store.engine import attach, connect, copy_database, dbapi

_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"


def _remove(path: Path) -> None:
    for leftover in (path, *journals(path)):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _counts(conn: dbapi.Connection, schema: str) -> dict[str, int]:
    names = [
        str(r[0]) for r in conn.execute(_TABLES.replace("sqlite_master", f"{schema}.sqlite_master"))
    ]
    return {
        n: int(conn.execute(f'SELECT count(*) FROM {schema}."{n}"').fetchone()[0]) for n in names
    }


def _flush(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def encrypt_store(store: Path, key: bytes, secrets: dict[str, str]) -> dict[str, int]:
    """Replace the plain store at `store` with an encrypted copy under `key`, holding `secrets`
    as meta rows. Returns the rows per table (the same before and after, checked)."""
    partial = store.with_name(f".{store.name}.encrypting")
    _remove(partial)  # a copy left by a crash: the store itself was never touched
    in_use = StoreError("error.encrypt_in_use", hint="hint.restore_in_use", path=str(store))
    conn = connect(store, timeout=5, isolation_level=None)
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except dbapi.OperationalError:
            raise in_use from None
        if str(mode).lower() != "delete":
            raise in_use
        os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        attach(conn, str(partial), "encrypted", key)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            conn.execute("SELECT sqlcipher_export('encrypted')").fetchall()
            version = int(conn.execute("PRAGMA main.user_version").fetchone()[0])
            conn.execute(f"PRAGMA encrypted.user_version = {version}")
            counts = _counts(conn, "main")
            copied = _counts(conn, "encrypted")
            conn.executemany(
                "INSERT OR REPLACE INTO encrypted.meta (key, value) VALUES (?, ?)",
                list(secrets.items()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH DATABASE encrypted")
        if copied != counts:
            raise StoreError("error.backup_verify", hint="hint.db_corrupt", path=str(partial))
        check = connect(partial, key=key)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise StoreError("error.backup_verify", hint="hint.db_corrupt", path=str(partial))
        finally:
            check.close()
        _flush(partial)
    except BaseException as exc:
        conn.close()
        _remove(partial)
        if isinstance(exc, dbapi.Error | OSError):
            raise StoreError("error.encrypt_failed", hint="hint.disk_full", path=str(store),
                             reason=os_reason(exc) if isinstance(exc, OSError) else str(exc)) from None  # fmt: skip
        raise
    conn.close()  # Windows renames no open file
    partial.replace(store)
    for journal in journals(store):
        journal.unlink(missing_ok=True)
    return counts


def encrypt_copy(path: Path, key: bytes) -> None:
    """Encrypt a plain backup file in place (the same way: a checked copy, then one rename)."""
    partial = path.with_name(f".{path.name}.encrypting")
    _remove(partial)
    try:
        os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        copy_database(path, None, partial, key)
        check = connect(partial, key=key)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise StoreError("error.backup_verify", hint="hint.db_corrupt", path=str(path))
        finally:
            check.close()
        _flush(partial)
        partial.replace(path)
    except BaseException:
        _remove(partial)
        raise
