"""Backups with SQLite's online backup API (consistent while desks keep working), verified, and
restores that refuse a damaged or foreign file and set the current database aside first."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prakerja_cli.errors import StoreError, UsageError, os_reason

COUNTED = ("applicants", "audit", "regions", "outbox_batches")
PREFIX = "prakerja-"


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    counts: dict[str, int]
    removed: list[Path]


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in COUNTED}


def _check(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def backup(source: Path, folder: Path, *, keep: int = 7) -> BackupResult:
    """Copy the store into `folder` as prakerja-YYYYmmdd-HHMMSS.db, verify it, keep the last `keep`."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    final = folder / f"{PREFIX}{stamp}.db"
    partial = folder / f".{PREFIX}{stamp}.partial"
    src = sqlite3.connect(str(source), timeout=60, isolation_level=None)
    try:
        fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        dst = sqlite3.connect(str(partial), isolation_level=None)
        try:
            src.execute("BEGIN")  # one read snapshot for the counts and the copy
            counts = _counts(src)
            src.backup(dst)
            src.execute("COMMIT")
            if not _check(dst) or _counts(dst) != counts:
                raise StoreError("error.backup_verify", hint="hint.db_corrupt", path=str(final))
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        partial.replace(final)
    except BaseException as exc:
        for leftover in (partial, *(Path(f"{partial}{s}") for s in ("-journal", "-wal", "-shm"))):
            with contextlib.suppress(OSError):
                leftover.unlink()
        if isinstance(exc, sqlite3.Error | OSError) and not isinstance(exc, StoreError):
            raise StoreError(
                "error.backup_failed", hint="hint.disk_full", path=str(final), reason=os_reason(exc)
            ) from None
        raise
    finally:
        src.close()
    backups = sorted(folder.glob(f"{PREFIX}*.db"))
    removed = backups[: max(0, len(backups) - keep)]
    for old in removed:
        old.unlink()
    return BackupResult(final, counts, removed)


def check_backup(path: Path, office_code: str) -> dict[str, int]:
    """Refuse a file that is damaged, not a prakerja store, or another office's."""
    if not path.is_file():
        raise UsageError("error.file_missing", hint="hint.check_path", file=str(path))
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if not _check(conn):
                raise UsageError("error.restore_corrupt", hint="hint.restore_other", file=path.name)
            row = conn.execute("SELECT value FROM meta WHERE key = 'office_code'").fetchone()
            counts = _counts(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        raise UsageError(
            "error.restore_corrupt", hint="hint.restore_other", file=path.name
        ) from None
    if row is None or row[0] != office_code:
        raise UsageError("error.restore_foreign", hint="hint.restore_other", file=path.name,
                         office=row[0] if row else "?")  # fmt: skip
    return counts


def restore(backup_file: Path, target: Path, office_code: str) -> tuple[Path, dict[str, int]]:
    """Put a verified backup in place of the store; the current one is kept beside it."""
    counts = check_backup(backup_file, office_code)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = target.with_name(f"{target.stem}.before-restore-{stamp}.db")
    incoming = target.with_name(f".{target.stem}.restoring")
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        fd = os.open(incoming, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        os.close(fd)
        dst = sqlite3.connect(str(incoming))
        try:
            src.backup(dst)
        finally:
            dst.close()
    except (sqlite3.Error, OSError) as exc:
        for leftover in (incoming, *(Path(f"{incoming}{s}") for s in ("-journal", "-wal", "-shm"))):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise StoreError(
            "error.backup_failed", hint="hint.disk_full", path=str(target), reason=os_reason(exc)
        ) from None
    finally:
        src.close()
    if target.exists():
        current = sqlite3.connect(str(target), timeout=60)
        try:
            current.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            current.close()
        target.replace(aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(target) + suffix).unlink()
    incoming.replace(target)
    return aside, counts
