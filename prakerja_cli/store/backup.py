"""Backups with SQLite's online backup API (consistent while desks keep working), verified, carrying
the office key; restores that refuse a damaged or foreign file and set the current database aside
first."""

from __future__ import annotations

import contextlib
import gc
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prakerja_cli.config import KEY_SIZE, install_key
from prakerja_cli.errors import (
    StoreError,
    UsageError,
    check_input_file,
    check_new_file,
    os_reason,
    same_file,
)
from prakerja_cli.store.applicants import derived
from prakerja_cli.store.db import journals
from prakerja_cli.store.engine import (
    attach,
    connect,
    copy_database,
    dbapi,
    is_encrypted,
    read_only_uri,
)
from prakerja_cli.store.numbering import StoreNumbers

COUNTED = ("applicants", "audit", "regions", "outbox_batches")
PREFIX = "prakerja-"
#: The names `backup` gives in a folder; only these are rotated away. A glob would also take a
#: clerk's own prakerja-before-move.db, and on Windows PRAKERJA-NOTES.DB (globs ignore case there).
ROTATED = re.compile(r"prakerja-\d{8}-\d{6}-\d{6}\.db")
#: The meta row of a backup file that holds the office key (hex); never kept in the live store.
KEY_META = "office_key"


def file_key(path: Path, given: bytes | None = None) -> bytes | None:
    """The key to read a store or backup file with: none for a plain file; this office's key for
    an encrypted one (a backup encrypted under another key then reads as another office's)."""
    if not is_encrypted(path):
        return None
    if given is not None:  # a backup's own key, from its recovery key (restore --recovery-key)
        return given
    from prakerja_cli import vault
    from prakerja_cli.config import db_path

    # In a plain office a file that is not SQLite is a damaged one: read without a key, it fails.
    return vault.configured_key(db_path())


def _remove_journals(path: Path) -> None:
    for journal in journals(path):
        journal.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    counts: dict[str, int]
    removed: list[Path]


def _counts(conn: dbapi.Connection) -> dict[str, int]:
    return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in COUNTED}


def _remove(partial: Path) -> None:
    """Remove a half-written copy and its journal files."""
    for leftover in (partial, *journals(partial)):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _check(conn: dbapi.Connection) -> bool:
    return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def backup(
    source: Path, dest: Path, *, key: bytes, keep: int = 7, force: bool = False
) -> BackupResult:
    """Copy the store and the office key to `dest` and verify the copy. A `dest` ending in .db is
    that one file (an existing one is replaced only with `force`); otherwise a folder that gets
    prakerja-YYYYmmdd-HHMMSS-ffffff.db and keeps the last `keep`."""
    if keep < 1:  # 0 would delete every earlier copy; a clerk may have meant "keep them all"
        raise UsageError("error.keep_min", hint="hint.keep_min", value=keep)
    single = dest.suffix.lower() == ".db" and not dest.is_dir()
    if single:
        if same_file(dest, source):  # --force would put a copy in place of the store it copies
            raise UsageError("error.backup_is_store", hint="hint.backup_is_store", path=str(dest))
        check_new_file(dest, force=force)
    folder = dest.parent if single else dest
    from prakerja_cli.files import private_folder

    private_folder(folder, tighten=False)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    final = dest if single else folder / f"{PREFIX}{stamp}.db"
    partial = folder / f".{PREFIX}{stamp}.partial"
    store_key = file_key(source)  # an encrypted store's copies are encrypted with its key
    src = connect(source, key=store_key, timeout=60, isolation_level=None)
    try:
        fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        dst = connect(partial, key=store_key, isolation_level=None)
        try:
            src.execute("BEGIN")  # one read snapshot for the counts and the copy
            counts = _counts(src)
            src.backup(dst)
            src.execute("COMMIT")
            dst.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [KEY_META, key.hex()]
            )
            if not _check(dst) or _counts(dst) != counts:
                raise StoreError("error.backup_verify", hint="hint.db_corrupt", path=str(final))
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        if single:  # made by someone else while we copied
            check_new_file(final, force=force)
        partial.replace(final)
    except BaseException as exc:
        _remove(partial)
        if isinstance(exc, dbapi.Error | OSError) and not isinstance(exc, StoreError):
            raise StoreError(
                "error.backup_failed", hint="hint.disk_full", path=str(final), reason=os_reason(exc)
            ) from None
        raise
    finally:
        src.close()
    removed: list[Path] = []
    if not single:
        backups = sorted(p for p in folder.iterdir() if ROTATED.fullmatch(p.name))
        removed = backups[: max(0, len(backups) - keep)]
        for old in removed:
            old.unlink()
    return BackupResult(final, counts, removed)


@dataclass(frozen=True, slots=True)
class BackupInfo:
    counts: dict[str, int]
    key: bytes | None  # None in a backup made before backups carried the office key


def check_backup(path: Path, office_code: str, key: bytes | None = None) -> BackupInfo:
    """Refuse a file that is damaged, not a prakerja store, or another office's."""
    check_input_file(path)
    corrupt = UsageError("error.restore_corrupt", hint="hint.restore_other", file=path.name)
    if is_encrypted(path):  # readable with this office's key, or another office's backup
        corrupt = UsageError("error.backup_other_key", hint="hint.backup_other_key", file=path.name)
    try:
        conn = connect(read_only_uri(path), key=file_key(path, key), uri=True)
        try:
            if not _check(conn):
                raise corrupt
            meta = dict(
                conn.execute(
                    "SELECT key, value FROM meta WHERE key IN ('office_code', ?)", [KEY_META]
                )
            )
            counts = _counts(conn)
        finally:
            conn.close()
        key = bytes.fromhex(meta[KEY_META]) if KEY_META in meta else None
    except (dbapi.Error, ValueError):
        raise corrupt from None
    if key is not None and len(key) != KEY_SIZE:
        raise corrupt
    if meta.get("office_code") != office_code:
        raise UsageError("error.restore_foreign", hint="hint.restore_other", file=path.name,
                         office=meta.get("office_code", "?"))  # fmt: skip
    return BackupInfo(counts, key)


@dataclass(frozen=True, slots=True)
class Restored:
    set_aside: Path
    counts: dict[str, int]
    key: bytes | None  # the office key the backup carried
    key_changed: bool  # office.key now holds the backup's key, which differs from the one here
    key_set_aside: Path | None  # where a different key already here was kept


def restore(
    backup_file: Path, target: Path, office_code: str, key: bytes | None = None
) -> Restored:
    """Put a verified backup in place of the store and its office key in place of the key file; the
    current database (and a different current key) are kept beside them."""
    info = check_backup(backup_file, office_code, key)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")  # two restores never share an aside name
    aside = target.with_name(f"{target.stem}.before-restore-{stamp}.db")
    incoming = target.with_name(f".{target.stem}.restoring")
    from prakerja_cli import vault

    # The restored store is protected as this office is (its key, or plain), whatever the backup.
    src_key, target_key = file_key(backup_file, key), vault.configured_key(target)
    try:
        fd = os.open(incoming, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        os.close(fd)
        _remove_journals(incoming)
        copy_database(backup_file, src_key, incoming, target_key)
        dst = connect(incoming, key=target_key, isolation_level=None)
        try:
            if target_key is None:  # the key lives in its file; a token in config.toml
                dst.execute(f"DELETE FROM meta WHERE key IN ({', '.join('?' * len(vault.SECRET_ROWS))})",
                            vault.SECRET_ROWS)  # fmt: skip
            else:
                kept = {"api_token": vault.secret("api_token")}  # today's token, not the copy's
                if info.key is None:  # a backup from before backups carried the key: ours
                    kept["office_key"] = vault.secret("office_key")
                dst.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                [(k, v) for k, v in kept.items() if v is not None])  # fmt: skip
        finally:
            dst.close()
    except (dbapi.Error, OSError) as exc:
        _remove(incoming)
        raise StoreError(
            "error.backup_failed", hint="hint.disk_full", path=str(target), reason=os_reason(exc)
        ) from None
    if target.exists():
        try:
            _set_aside(target, aside)
        except BaseException:
            _remove(incoming)
            raise
    try:
        incoming.replace(target)
    except OSError:
        if aside.exists() and not target.exists():
            aside.replace(target)  # never leave the office without its store
        _remove(incoming)
        raise
    changed, key_aside = False, None
    if info.key is not None and target_key is None:
        changed, key_aside = install_key(info.key, stamp)
    elif info.key is not None:
        changed = info.key.hex() != vault.secret("office_key")
    return Restored(aside, info.counts, info.key, changed, key_aside)


def _set_aside(target: Path, aside: Path) -> None:
    """Move the current store to `aside`, refusing while another process has it open.

    Leaving WAL mode needs the only connection to the file, so it doubles as the check: on POSIX a
    desk that kept the file open would go on writing into the set-aside copy, and on Windows the
    move itself fails (a file another process holds open cannot be renamed). It also folds the WAL
    into the file, so one file moves and no -wal or -shm is left behind.
    """
    in_use = StoreError("error.restore_in_use", hint="hint.restore_in_use", path=str(target))
    gc.collect()  # a connection this process let go of holds the file until it is collected
    try:
        key = file_key(target)
    except StoreError:  # an encrypted store whose key is gone: nothing can be folded into it
        key = None
    current = connect(target, key=key, timeout=5, isolation_level=None)
    try:
        current.execute("PRAGMA journal_mode = DELETE")
    except dbapi.DatabaseError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise in_use from None
        # Any other failure is a damaged store, which is what a restore is for: set it aside.
    finally:
        current.close()
    try:
        target.replace(aside)
    except PermissionError:
        raise in_use from None
    for journal in journals(target):
        journal.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A store set against a backup of it: what a restore of the backup drops, and keeps."""

    current: int | None  # registrations in the store; None when it is missing or cannot be read
    backup: int  # registrations in the backup
    #: Records the backup lacks that have left this desk (answered by the central system, or in a
    #: batch written to be sent): the central system holds or may hold them, so a restore keeps them.
    carried: tuple[str, ...]
    #: Records the backup lacks that never left this desk: a restore removes them (they stay in the
    #: set-aside copy).
    removed: int
    current_numbers: StoreNumbers | None
    backup_numbers: StoreNumbers


#: Records that have left the desk: answered centrally, or written into an outbox batch (which may
#: have reached the central system even when no answer came back).
_LEFT_DESK = (
    "a.central_status IS NOT NULL OR EXISTS "
    "(SELECT 1 FROM outbox_items i WHERE i.applicant_id = a.id)"
)


def compare_stores(current: Path, backup_file: Path, key: bytes | None = None) -> Comparison:
    """What the store at `current` holds that the backup at `backup_file` lacks."""
    backup_key = file_key(backup_file, key)
    conn = connect(read_only_uri(backup_file), key=backup_key, uri=True)
    try:
        backup_count = int(conn.execute("SELECT count(*) FROM applicants").fetchone()[0])
        backup_numbers = StoreNumbers.read(conn)
    finally:
        conn.close()
    if not current.exists():
        return Comparison(None, backup_count, (), 0, None, backup_numbers)
    try:
        conn = connect(read_only_uri(current), key=file_key(current), uri=True)
        try:
            attach(conn, read_only_uri(backup_file), "backup", backup_key)
            count = int(conn.execute("SELECT count(*) FROM main.applicants").fetchone()[0])
            extra = conn.execute(
                f"SELECT a.id, {_LEFT_DESK} FROM main.applicants a "
                "WHERE a.id NOT IN (SELECT id FROM backup.applicants) ORDER BY a.rowid"
            ).fetchall()
            numbers = StoreNumbers.read(conn)
        finally:
            conn.close()
    except dbapi.Error:  # damaged, or not a store: what a restore is for
        return Comparison(None, backup_count, (), 0, None, backup_numbers)
    carried = tuple(str(row[0]) for row in extra if row[1])
    return Comparison(count, backup_count, carried, len(extra) - len(carried), numbers,
                      backup_numbers)  # fmt: skip


#: What the central system said of a record, kept over a restore.
_CENTRAL_COLUMNS = (
    "central_status", "central_id", "central_reason", "central_wave", "sent_hash", "synced_at",
    "verified_at",
)  # fmt: skip


def carry_over(conn: dbapi.Connection, aside: Path, carried: tuple[str, ...]) -> list[str]:
    """Copy into the restored store (`conn`, in a write transaction) the records of the set-aside
    store that have left the desk and the backup lacks, with their purged-NIK hashes; and for the
    records both hold, what the central system said since the backup. Returns the registration
    numbers of the records carried over."""
    source = connect(read_only_uri(aside), key=file_key(aside), uri=True)
    source.row_factory = dbapi.Row
    try:
        columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(applicants)")}
        numbers: list[str] = []
        # How each NIK is keyed (`scheme`) goes along when both stores know it.
        kept_columns = [
            str(r[1]) for r in conn.execute("PRAGMA table_info(purged_niks)")
            if str(r[1]) in {str(c[1]) for c in source.execute("PRAGMA table_info(purged_niks)")}
        ]  # fmt: skip
        kept = ", ".join(kept_columns)
        for start in range(0, len(carried), 500):
            part = carried[start : start + 500]
            slots = ", ".join("?" * len(part))
            for row in source.execute(f"SELECT * FROM applicants WHERE id IN ({slots})", part):
                keys: list[str] = row.keys()  # a Row iterates its values, not its names
                values = {name: row[name] for name in keys if name in columns}
                values.update(derived(values))  # a backup from before m008 has neither
                try:
                    conn.execute(
                        f"INSERT INTO applicants ({', '.join(values)}) "
                        f"VALUES ({', '.join('?' * len(values))})",
                        list(values.values()),
                    )
                except dbapi.IntegrityError:
                    continue  # its NIK is live in the backup under another record: stays aside
                numbers.append(str(row["registration_number"]))
        for start in range(0, len(numbers), 500):
            chunk = numbers[start : start + 500]
            slots = ", ".join("?" * len(chunk))
            conn.executemany(
                f"INSERT OR IGNORE INTO purged_niks ({kept}) VALUES ({', '.join('?' * len(kept_columns))})",
                source.execute(
                    f"SELECT {kept} FROM purged_niks WHERE registration_number IN ({slots})",
                    chunk,
                ).fetchall(),
            )
        # The registration's version as the set-aside store last learned it (m012): a correction
        # made after the restore amends that one, not the version of the backup's day.
        source_columns = {str(r[1]) for r in source.execute("PRAGMA table_info(applicants)")}
        central = [c for c in (*_CENTRAL_COLUMNS, "central_version") if c in source_columns]
        assignments = ", ".join(f"{name} = ?" for name in central)
        conn.executemany(
            f"UPDATE applicants SET {assignments} WHERE id = ? "
            "AND (central_status IS NULL OR coalesce(synced_at, '') < ? "
            "OR coalesce(central_version, 1) < coalesce(?, 1))",
            (
                [*(row[name] for name in central), row["id"], row["synced_at"],
                 row["central_version"] if "central_version" in central else None]
                for row in source.execute(
                    f"SELECT id, {', '.join(central)} FROM applicants "
                    "WHERE central_status IS NOT NULL"
                )
            ),
        )  # fmt: skip
    finally:
        source.close()
    return numbers
