"""The SQLite library every desk store is opened with: SQLCipher 4 (through `sqlcipher3`), which is
SQLite with page-level encryption. A store opened without a key is an ordinary SQLite file; one
opened with a key is AES-256 encrypted page by page, its WAL included (docs/security.md).

One library for every connection to a desk's files, so that an exception is always of one family
(`dbapi.Error`) and a plain store, an encrypted store and their backups all open the same way. It
must be the only one: two SQLite libraries in one process that open the same file do not see
each other's POSIX locks, and closing one's descriptor drops the other's locks ("How To Corrupt
An SQLite Database File", 2.2.1). The tests open desk files through this module for that reason. The
reference central server is not a desk and keeps the standard library's sqlite3.

For the type checker the module is the standard library's sqlite3, whose interface sqlcipher3
copies (sqlcipher3 ships no type information).
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3 as dbapi
else:
    from sqlcipher3 import dbapi2 as dbapi

__all__ = [
    "PLAIN_HEADER",
    "attach",
    "connect",
    "copy_database",
    "dbapi",
    "is_encrypted",
    "key_pragma",
    "read_only_uri",
]

#: The first 16 bytes of every plain SQLite database file. An encrypted file starts with its
#: random salt instead.
PLAIN_HEADER = b"SQLite format 3\x00"


def is_encrypted(path: Path) -> bool:
    """Whether the database file at `path` is an encrypted store (False when it is missing or
    empty: a new store is made encrypted or not by whoever creates it)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(PLAIN_HEADER))
    except FileNotFoundError:
        return False
    return len(head) == len(PLAIN_HEADER) and head != PLAIN_HEADER


def key_pragma(key: bytes) -> str:
    """`PRAGMA key` for a raw 256-bit key: used as it is, without SQLCipher's passphrase
    derivation (the key is random, and deriving costs ~0.2 s at every command's start)."""
    if len(key) != 32:
        raise ValueError("a store key is 32 bytes")
    return f"PRAGMA key = \"x'{key.hex()}'\""


def connect(
    target: str | PurePath, *, key: bytes | None = None, uri: bool = False, **options: Any
) -> dbapi.Connection:
    """A connection to `target` (a path, or with `uri` an SQLite URI), keyed with `key` before
    anything is read. A wrong key shows at the first read as "file is not a database"."""
    conn: dbapi.Connection = dbapi.connect(str(target), uri=uri, **options)
    if key is not None:
        conn.execute(key_pragma(key))
    return conn


def _key_literal(key: bytes | None) -> str:
    return "''" if key is None else f"\"x'{key.hex()}'\""


def attach(conn: dbapi.Connection, target: str, alias: str, key: bytes | None) -> None:
    """ATTACH `target` (a path or URI) as `alias`, with its own key (none: a plain file; SQLCipher
    would otherwise try the main database's key)."""
    conn.execute(f"ATTACH DATABASE ? AS {alias} KEY {_key_literal(key)}", [target])


def read_only_uri(path: PurePath) -> str:
    """An SQLite URI that opens `path` read-only. '%', '?' and '#' are legal in Windows and POSIX
    folder names ("D:\\Cadangan #2") but would end or change the URI's path, so they are escaped;
    backslashes and drive letters pass through as SQLite reads them."""
    text = str(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return f"file:{text}?mode=ro"


def copy_database(
    source: Path, source_key: bytes | None, dest: Path, dest_key: bytes | None
) -> None:
    """Copy the store file `source` (read with `source_key`) into the new file `dest`, encrypted
    with `dest_key` (None: plain). The same key: SQLite's backup API, page by page; another
    (encrypting, decrypting, re-keying): SQLCipher's `sqlcipher_export`, table by table, with
    the schema version. `source` must not be written meanwhile (a backup file, a set-aside copy,
    or a store held under an exclusive lock)."""
    dst = connect(dest, key=dest_key, isolation_level=None, uri=False)
    try:
        if source_key == dest_key:
            src = connect(read_only_uri(source), key=source_key, uri=True)
            try:
                src.backup(dst)
            finally:
                src.close()
            return
        dst.close()
        dst = connect(f"file:{dest}", key=dest_key, isolation_level=None, uri=True)
        attach(dst, read_only_uri(source), "copy_source", source_key)
        dst.execute("SELECT sqlcipher_export('main', 'copy_source')").fetchall()
        version = dst.execute("PRAGMA copy_source.user_version").fetchone()[0]
        dst.execute(f"PRAGMA main.user_version = {int(version)}")
        dst.execute("DETACH DATABASE copy_source")
    finally:
        dst.close()
