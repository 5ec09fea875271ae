"""The central server's embedded engine: SQLite in the data folder, one server process.

A batch is one transaction taken with BEGIN IMMEDIATE: writers queue on the busy timeout, so the
next central id is simply the largest one plus one. WAL lets `prakerja central stats` and the
status feed read while a batch is being written.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from prakerja_cli.central.contract import AmendmentBatch, Batch
from prakerja_cli.central.registry import Registry
from prakerja_cli.central.store import (
    REGISTERED_COLUMNS,
    AmendWork,
    BatchWork,
    Known,
    Registered,
    StoreMissingError,
    collect_stats,
    events_query,
    feed,
    keys_of,
    now_iso,
    registered_of,
    replayed,
)

DB_NAME = "central.sqlite3"
BUSY_TIMEOUT_MS = 60_000

#: The schema's versions, in order; `PRAGMA user_version` holds the last one applied. Version 1
#: is the schema every server before the PostgreSQL engine made (hence IF NOT EXISTS). A change
#: is a new entry here and its counterpart in postgres_store.MIGRATIONS.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            # Accepted records only: one row per NIK across all offices.
            """CREATE TABLE IF NOT EXISTS registrations (
                seq INTEGER PRIMARY KEY,
                central_id TEXT NOT NULL UNIQUE,
                office_code TEXT NOT NULL,
                client_id TEXT NOT NULL UNIQUE,
                content_hash TEXT NOT NULL,
                nik TEXT NOT NULL UNIQUE,
                registration_number TEXT NOT NULL,
                record TEXT NOT NULL,
                batch_id TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS registrations_office ON registrations (office_code)",
            # The first result of every (client_id, content_hash), whatever its outcome: replays
            # return it.
            """CREATE TABLE IF NOT EXISTS results (
                client_id TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                office_code TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT,
                result TEXT NOT NULL,
                batch_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (client_id, content_hash)
            ) WITHOUT ROWID""",
            """CREATE TABLE IF NOT EXISTS idempotency (
                key TEXT PRIMARY KEY,
                office_code TEXT NOT NULL,
                body_sha256 TEXT NOT NULL,
                response TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            # AUTOINCREMENT: a seq is never reused, so a client's cursor never skips an event.
            """CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                office_code TEXT NOT NULL,
                client_id TEXT NOT NULL,
                central_id TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT,
                wave INTEGER,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS events_office ON events (office_code, seq)",
            # The last audit head each desk sent (Audit-Head): its anchor outside the desk's PC.
            """CREATE TABLE IF NOT EXISTS audit_anchors (
                office_code TEXT NOT NULL,
                desk TEXT NOT NULL,
                head TEXT NOT NULL,
                received_at TEXT NOT NULL,
                PRIMARY KEY (office_code, desk)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        2,
        (
            # Amendments (corrections, withdrawals): a registration's version counts them from 1.
            "ALTER TABLE registrations ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
            "ALTER TABLE registrations ADD COLUMN withdrawn_at TEXT",
            # The first result of every amendment_id: a resent amendment is answered the same.
            """CREATE TABLE amendments (
                amendment_id TEXT PRIMARY KEY,
                office_code TEXT NOT NULL,
                client_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT,
                result TEXT NOT NULL,
                request_key TEXT NOT NULL,
                created_at TEXT NOT NULL
            ) WITHOUT ROWID""",
            "CREATE INDEX amendments_client ON amendments (client_id)",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

_CHUNK = 500  # host parameters per IN (...) query


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _known(conn: sqlite3.Connection, batch: Batch) -> Known:
    """What the database already knows about the batch's client_ids and NIKs (a few queries,
    not several per record)."""
    known = Known()
    client_ids, niks = keys_of(batch)
    for part in _chunks(client_ids):
        marks = ", ".join("?" * len(part))
        for cid, digest, result in conn.execute(
            f"SELECT client_id, content_hash, result FROM results WHERE client_id IN ({marks})",
            part,
        ):
            known.firsts[(cid, digest)] = result
        for cid, central in conn.execute(
            f"SELECT client_id, central_id FROM registrations WHERE client_id IN ({marks})", part
        ):
            known.registered[cid] = central
    for part in _chunks(niks):
        marks = ", ".join("?" * len(part))
        for nik, central, office, number in conn.execute(
            "SELECT nik, central_id, office_code, registration_number FROM registrations "
            f"WHERE nik IN ({marks})",
            part,
        ):
            known.holders[nik] = (central, office, number)
    return known


def _flush(conn: sqlite3.Connection, work: BatchWork) -> None:
    """Write the batch's new rows, in the order they were decided."""
    if work.new:
        first = int(
            conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM registrations").fetchone()[0]
        )
        work.assign(range(first, first + len(work.new)))
    conn.executemany(
        "INSERT INTO registrations (seq, central_id, office_code, client_id, content_hash, "
        "nik, registration_number, record, batch_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        work.registration_rows(),
    )
    conn.executemany(
        "INSERT INTO events (office_code, client_id, central_id, status, reason, wave, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        work.event_rows(),
    )
    conn.executemany(
        "INSERT INTO results (client_id, content_hash, office_code, outcome, reason, result, "
        "batch_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        work.result_rows(),
    )


class SqliteStore:
    """The server's database at `data_dir/central.sqlite3`; one connection per thread."""

    busy_errors: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)

    def __init__(self, data_dir: Path, *, create: bool = True) -> None:
        self.path = data_dir / DB_NAME
        if not self.path.exists():
            if not create:
                raise StoreMissingError(str(self.path))
            data_dir.mkdir(parents=True, exist_ok=True)
            # Owner-only before SQLite writes personal data into it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        if create:
            self._migrate()

    def _migrate(self) -> None:
        with self._write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            for number, statements in MIGRATIONS:
                if number > version:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number}")

    def describe(self) -> str:
        return f"SQLite {self.path}"

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, lock taken up front (see store.db.write for why)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # -- batches ------------------------------------------------------------------------------

    def submit_batch(
        self,
        *,
        key: str,
        body_sha256: str,
        batch: Batch,
        today: date,
        registry: Registry | None,
        wave: int | None,
    ) -> bytes:
        with self._write() as conn:
            if (answer := _replayed(conn, key, batch.office_code, body_sha256)) is not None:
                return answer
            work = BatchWork(batch, key, now_iso(), today, registry, wave, _known(conn, batch))
            work.decide()
            _flush(conn, work)
            response = work.response()
            conn.execute(
                "INSERT INTO idempotency (key, office_code, body_sha256, response, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [key, batch.office_code, body_sha256, response, work.stamp],
            )
        return response.encode("utf-8")

    def submit_amendments(
        self,
        *,
        key: str,
        body_sha256: str,
        batch: AmendmentBatch,
        today: date,
        registry: Registry | None,
        wave: int | None,
    ) -> bytes:
        with self._write() as conn:
            if (answer := _replayed(conn, key, batch.office_code, body_sha256)) is not None:
                return answer
            firsts: dict[str, str] = {}
            registered: dict[str, Registered] = {}
            aids = sorted({item.amendment_id for item in batch.items})
            cids = sorted({item.client_id for item in batch.items})
            for part in _chunks(aids):
                marks = ", ".join("?" * len(part))
                firsts.update(
                    conn.execute(
                        "SELECT amendment_id, result FROM amendments "
                        f"WHERE amendment_id IN ({marks})",
                        part,
                    ).fetchall()
                )
            for part in _chunks(cids):
                marks = ", ".join("?" * len(part))
                registered.update(
                    registered_of(found)
                    for found in conn.execute(
                        f"SELECT {REGISTERED_COLUMNS} FROM registrations "
                        f"WHERE client_id IN ({marks})",
                        part,
                    )
                )
            work = AmendWork(batch, key, now_iso(), today, registry, wave, firsts, registered)
            work.decide()
            conn.executemany(
                "UPDATE registrations SET record = ?, version = ?, withdrawn_at = ? "
                "WHERE client_id = ?",
                work.registration_updates(),
            )
            conn.executemany(
                "INSERT INTO amendments (amendment_id, office_code, client_id, outcome, reason, "
                "result, request_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                work.amendment_rows(),
            )
            conn.executemany(
                "INSERT INTO events (office_code, client_id, central_id, status, reason, wave, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                work.event_rows(),
            )
            response = work.response()
            conn.execute(
                "INSERT INTO idempotency (key, office_code, body_sha256, response, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [key, batch.office_code, body_sha256, response, work.stamp],
            )
        return response.encode("utf-8")

    def swap_anchor(self, office_code: str, desk: str, head: str) -> dict[str, Any] | None:
        with self._write() as conn:
            row = conn.execute(
                "SELECT head, received_at FROM audit_anchors WHERE office_code = ? AND desk = ?",
                [office_code, desk],
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO audit_anchors (office_code, desk, head, received_at) "
                "VALUES (?, ?, ?, ?)",
                [office_code, desk, head, now_iso()],
            )
        return {"head": f"{office_code}:{desk}:{row[0]}", "received_at": row[1]} if row else None

    # -- reading ------------------------------------------------------------------------------

    def events(self, office_code: str | None, cursor: int, limit: int) -> dict[str, Any]:
        sql, params = events_query(office_code, cursor, limit, "?")
        return feed(self._conn().execute(sql, params).fetchall(), cursor)

    def stats(self) -> dict[str, Any]:
        conn = self._conn()
        # One read transaction, so the counts agree with each other.
        conn.execute("BEGIN")
        try:
            return collect_stats(lambda sql: conn.execute(sql).fetchall())
        finally:
            conn.execute("COMMIT")


def _replayed(conn: Any, key: str, office_code: str, body_sha256: str) -> bytes | None:
    row = conn.execute(
        "SELECT office_code, body_sha256, response FROM idempotency WHERE key = ?", [key]
    ).fetchone()
    return replayed(row, office_code, body_sha256)
