"""The central server's own SQLite: registrations, first results, idempotency keys, status events.

A batch is one transaction taken with BEGIN IMMEDIATE, so it is either wholly committed (and a
lost response is harmless to replay) or not at all. Writers queue on the busy timeout; WAL lets
`prakerja central stats` and the status feed read while a batch is being written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prakerja_cli.central.contract import (
    ApiError,
    Batch,
    ConflictReason,
    ErrorCode,
    Item,
    Outcome,
    Status,
    check_record,
)
from prakerja_cli.central.registry import Registry

DB_NAME = "central.sqlite3"
BUSY_TIMEOUT_MS = 60_000
SCHEMA_VERSION = 1

_SCHEMA = (
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
    # The first result of every (client_id, content_hash), whatever its outcome: replays return it.
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
)


def now_iso() -> str:
    """Local time with its offset, to the second (the contract's times are ISO 8601 with offset)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def central_id(seq: int) -> str:
    return f"C-{seq:06d}"


def _dumps(value: Any) -> str:
    # ensure_ascii: a lone surrogate ("\ud800") from a client's JSON cannot be encoded as UTF-8.
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


_CHUNK = 500  # host parameters per IN (...) query


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class _BatchWork:
    """One batch inside its transaction: what the database already knows about the batch's
    client_ids and NIKs is read up front (a few queries, not several per record), then the records
    are decided in order, each seeing the ones before it, and the new rows are written at the end.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        batch: Batch,
        batch_id: str,
        stamp: str,
        today: date,
        registry: Registry | None,
        wave: int | None,
    ) -> None:
        self.conn = conn
        self.office_code = batch.office_code
        self.batch_id = batch_id
        self.stamp = stamp
        self.today = today
        self.registry = registry
        self.wave = wave
        client_ids = sorted({item.client_id for item in batch.items})
        niks = sorted({n for item in batch.items if isinstance(n := item.record.get("nik"), str)})
        #: (client_id, content_hash) → first result (as stored JSON, or as a dict once decided here)
        self.firsts: dict[tuple[str, str], str | dict[str, Any]] = {}
        #: client_id → central_id of its registration
        self.registered: dict[str, str] = {}
        #: NIK → (central_id, office_code, registration_number) of the registration holding it
        self.holders: dict[str, tuple[str, str, str]] = {}
        for part in _chunks(client_ids):
            marks = ", ".join("?" * len(part))
            for cid, digest, result in conn.execute(
                f"SELECT client_id, content_hash, result FROM results WHERE client_id IN ({marks})",
                part,
            ):
                self.firsts[(cid, digest)] = result
            for cid, central in conn.execute(
                f"SELECT client_id, central_id FROM registrations WHERE client_id IN ({marks})",
                part,
            ):
                self.registered[cid] = central
        for part in _chunks(niks):
            marks = ", ".join("?" * len(part))
            for nik, central, office, number in conn.execute(
                "SELECT nik, central_id, office_code, registration_number FROM registrations "
                f"WHERE nik IN ({marks})",
                part,
            ):
                self.holders[nik] = (central, office, number)
        self.next_seq = int(
            conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM registrations").fetchone()[0]
        )
        self.new_registrations: list[tuple[Any, ...]] = []
        self.new_events: list[tuple[Any, ...]] = []
        self.new_results: list[tuple[Any, ...]] = []

    def result(self, item: Item) -> dict[str, Any]:
        """The result for one record: its first result if it has one, else decided now."""
        first = self.firsts.get((item.client_id, item.content_hash))
        if first is not None:
            return json.loads(first) if isinstance(first, str) else first
        result: dict[str, Any]
        cid = item.client_id
        if cid in self.registered:
            result = {
                "client_id": cid,
                "outcome": str(Outcome.CONFLICT),
                "reason": str(ConflictReason.CONTENT_CHANGED),
                "central_id": self.registered[cid],
            }
        elif (reason := check_record(item.record, self.office_code, self.today)) is not None:
            result = {"client_id": cid, "outcome": str(Outcome.REJECTED), "reason": str(reason)}
        elif (holder := self.holders.get(item.record["nik"])) is not None:
            result = {
                "client_id": cid,
                "outcome": str(Outcome.DUPLICATE),
                "central_id": holder[0],
                "registered_by": {"office_code": holder[1], "registration_number": holder[2]},
            }
        else:
            new_id = self._register(item)
            result = {"client_id": cid, "outcome": str(Outcome.ACCEPTED), "central_id": new_id}
        self.firsts[(cid, item.content_hash)] = result
        self.new_results.append(
            (
                cid, item.content_hash, self.office_code, result["outcome"], result.get("reason"),
                _dumps(result), self.batch_id, self.stamp,
            )
        )  # fmt: skip
        return result

    def _register(self, item: Item) -> str:
        record = item.record
        new_id = central_id(self.next_seq)
        self.new_registrations.append(
            (
                self.next_seq, new_id, self.office_code, item.client_id, item.content_hash,
                record["nik"], record["registration_number"], _dumps(record), self.batch_id,
                self.stamp,
            )
        )  # fmt: skip
        self.next_seq += 1
        self.registered[item.client_id] = new_id
        self.holders[record["nik"]] = (new_id, self.office_code, record["registration_number"])
        # The central verification, as status events: the registry check, then (for the verified)
        # the wave. Deterministic, so a training run can be replayed.
        reason = self.registry.verify(record) if self.registry is not None else None
        if reason is not None:
            self._event(item, new_id, Status.REGISTRY_REJECTED, str(reason), None)
        else:
            self._event(item, new_id, Status.VERIFIED, None, None)
            if self.wave:
                self._event(item, new_id, Status.WAVE_ASSIGNED, None, self.wave)
        return new_id

    def _event(
        self, item: Item, new_id: str, status: Status, reason: str | None, wave: int | None
    ) -> None:
        self.new_events.append(
            (self.office_code, item.client_id, new_id, str(status), reason, wave, self.stamp)
        )

    def flush(self) -> None:
        """Write the batch's new rows, in the order they were decided."""
        self.conn.executemany(
            "INSERT INTO registrations (seq, central_id, office_code, client_id, content_hash, "
            "nik, registration_number, record, batch_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.new_registrations,
        )
        self.conn.executemany(
            "INSERT INTO events (office_code, client_id, central_id, status, reason, wave, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            self.new_events,
        )
        self.conn.executemany(
            "INSERT INTO results (client_id, content_hash, office_code, outcome, reason, result, "
            "batch_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self.new_results,
        )


class StoreMissingError(Exception):
    """The data folder holds no central database yet."""


class CentralStore:
    """The server's database at `data_dir/central.sqlite3`; one connection per thread."""

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
            with self._write() as conn:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
        """Process a batch, or return the stored response of an earlier call with the same key and
        body. Raises ApiError 422 when the key was used with another body."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT office_code, body_sha256, response FROM idempotency WHERE key = ?", [key]
            ).fetchone()
            if row is not None:
                if row[0] == batch.office_code and row[1] == body_sha256:
                    return str(row[2]).encode("utf-8")
                raise ApiError(
                    422,
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used before with another body; "
                    "use a new key for a new batch",
                )
            work = _BatchWork(conn, batch, key, now_iso(), today, registry, wave)
            results = [work.result(item) for item in batch.items]
            work.flush()
            response = _dumps({"batch_id": key, "results": results})
            conn.execute(
                "INSERT INTO idempotency (key, office_code, body_sha256, response, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [key, batch.office_code, body_sha256, response, work.stamp],
            )
        return response.encode("utf-8")

    def swap_anchor(self, office_code: str, desk: str, head: str) -> dict[str, Any] | None:
        """Keep `head` as the desk's audit anchor; return the one kept before (None: none yet)."""
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
        """Events after `cursor`, oldest first; `office_code` None means every office's."""
        sql = (
            "SELECT seq, client_id, central_id, status, reason, wave, at FROM events WHERE seq > ?"
        )
        params: list[Any] = [cursor]
        if office_code is not None:
            sql += " AND office_code = ?"
            params.append(office_code)
        sql += " ORDER BY seq LIMIT ?"
        params.append(limit)
        rows = self._conn().execute(sql, params).fetchall()
        events = [
            {
                "seq": seq,
                "client_id": client_id,
                "central_id": cid,
                "status": status,
                "reason": reason,
                "wave": wave,
                "at": at,
            }
            for seq, client_id, cid, status, reason, wave, at in rows
        ]
        return {"events": events, "next_cursor": events[-1]["seq"] if events else cursor}

    def stats(self) -> dict[str, Any]:
        """Counts for `prakerja central stats`: registrations (= distinct NIKs), per office, per
        first outcome and rejection reason, status events per status, batches."""
        conn = self._conn()

        def pairs(sql: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in conn.execute(sql).fetchall()}

        # One read transaction, so the counts agree with each other.
        conn.execute("BEGIN")
        try:
            registrations, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT nik) FROM registrations"
            ).fetchone()
            return {
                "registrations": int(registrations),
                "distinct_nik": int(distinct),
                "offices": pairs(
                    "SELECT office_code, count(*) FROM registrations GROUP BY 1 ORDER BY 1"
                ),
                "outcomes": {str(o): 0 for o in Outcome}
                | pairs("SELECT outcome, count(*) FROM results GROUP BY 1"),
                "reasons": pairs(
                    "SELECT reason, count(*) FROM results WHERE reason IS NOT NULL "
                    "GROUP BY 1 ORDER BY 1"
                ),
                "events": {str(s): 0 for s in Status}
                | pairs("SELECT status, count(*) FROM events GROUP BY 1"),
                "registry_reasons": pairs(
                    "SELECT reason, count(*) FROM events WHERE reason IS NOT NULL "
                    "GROUP BY 1 ORDER BY 1"
                ),
                "batches": int(conn.execute("SELECT count(*) FROM idempotency").fetchone()[0]),
            }
        finally:
            conn.execute("COMMIT")
