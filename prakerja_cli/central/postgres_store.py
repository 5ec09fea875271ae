"""The central server on PostgreSQL (psycopg 3): several worker processes share one database.

The rules are store.BatchWork's, as on SQLite; what differs is how concurrent batches are kept
apart. Batches run side by side in READ COMMITTED transactions and never read-then-lock:

- one NIK, one client_id, one (client_id, content_hash) result and one Idempotency-Key are each
  a UNIQUE index. Two batches that race for the same one: the second waits at its INSERT until the
  first commits, then fails with a unique violation, and the whole batch runs again from the
  start, now seeing the first one's rows (a duplicate, a replayed result or a replayed response);
- a deadlock or serialization failure is retried the same way (rows are inserted in key order,
  which makes deadlocks rare);
- central ids come from a sequence: unique, growing, with gaps where a transaction rolled back;
- status events get their `seq` from a counter row updated last, just before COMMIT. Its row lock
  is held until the commit is visible, so events become visible in `seq` order and a client's
  cursor never passes an event that commits later (a sequence would allow exactly that).

Needs `pip install "prakerja-cli[postgres]"` (psycopg, psycopg-pool).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from prakerja_cli.central.contract import AmendmentBatch, Batch
from prakerja_cli.central.registry import Registry
from prakerja_cli.central.store import (
    REGISTERED_COLUMNS,
    AmendWork,
    BatchWork,
    Known,
    StoreMissingError,
    collect_stats,
    events_query,
    feed,
    keys_of,
    now_iso,
    registered_of,
    replayed,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

#: Batches retried after a unique violation, deadlock or serialization failure before giving up
#: with 503 (each retry sees more committed rows, so two are nearly always enough).
MAX_ATTEMPTS = 8
#: Seconds a request waits for a pooled connection before 503.
POOL_TIMEOUT = 30.0
#: pg_advisory_xact_lock key held while migrating, so workers starting together migrate once.
_MIGRATION_LOCK = 0x70726B6A  # "prkj"

#: The schema's versions, in order, as store.sqlite_store.MIGRATIONS; `central_schema` records
#: the ones applied. Same tables and columns as on SQLite, plus the sequence and the counter.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE SEQUENCE registrations_seq",
            """CREATE TABLE registrations (
                seq BIGINT PRIMARY KEY,
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
            "CREATE INDEX registrations_office ON registrations (office_code)",
            """CREATE TABLE results (
                client_id TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                office_code TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT,
                result TEXT NOT NULL,
                batch_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (client_id, content_hash)
            )""",
            """CREATE TABLE idempotency (
                key TEXT PRIMARY KEY,
                office_code TEXT NOT NULL,
                body_sha256 TEXT NOT NULL,
                response TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE events (
                seq BIGINT PRIMARY KEY,
                office_code TEXT NOT NULL,
                client_id TEXT NOT NULL,
                central_id TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT,
                wave INTEGER,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX events_office ON events (office_code, seq)",
            """CREATE TABLE audit_anchors (
                office_code TEXT NOT NULL,
                desk TEXT NOT NULL,
                head TEXT NOT NULL,
                received_at TEXT NOT NULL,
                PRIMARY KEY (office_code, desk)
            )""",
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO counters (name, value) VALUES ('events', 0)",
        ),
    ),
    (
        2,
        (
            "ALTER TABLE registrations ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
            "ALTER TABLE registrations ADD COLUMN withdrawn_at TEXT",
            """CREATE TABLE amendments (
                amendment_id TEXT PRIMARY KEY,
                office_code TEXT NOT NULL,
                client_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT,
                result TEXT NOT NULL,
                request_key TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX amendments_client ON amendments (client_id)",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def masked(url: str) -> str:
    """The URL without its password, for logs and the start-up line."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _retrying(attempt_once: Callable[[], bytes]) -> bytes:
    """`attempt_once` in its own transaction, again (briefly later) when it met a conflict another
    transaction will have settled (`_retryable`)."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return attempt_once()
        except Exception as exc:
            if not _retryable(exc):
                raise
            if attempt == MAX_ATTEMPTS:
                import psycopg

                # Busy, as MAX_ATTEMPTS promises (503 and Retry-After): a unique violation is
                # not an OperationalError and would otherwise be answered 500.
                raise psycopg.OperationalError(f"gave up after {attempt} conflicts") from exc
            time.sleep(0.001 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _retryable(exc: BaseException) -> bool:
    import psycopg.errors as pe

    return isinstance(exc, pe.UniqueViolation | pe.DeadlockDetected | pe.SerializationFailure)


def _known(cur: psycopg.Cursor[TupleRow], batch: Batch) -> Known:
    known = Known()
    client_ids, niks = keys_of(batch)
    if client_ids:
        cur.execute(
            "SELECT client_id, content_hash, result FROM results WHERE client_id = ANY(%s)",
            [client_ids],
        )
        for cid, digest, result in cur.fetchall():
            known.firsts[(cid, digest)] = result
        cur.execute(
            "SELECT client_id, central_id FROM registrations WHERE client_id = ANY(%s)",
            [client_ids],
        )
        known.registered.update(cur.fetchall())
    if niks:
        cur.execute(
            "SELECT nik, central_id, office_code, registration_number FROM registrations "
            "WHERE nik = ANY(%s)",
            [niks],
        )
        for nik, central, office, number in cur.fetchall():
            known.holders[nik] = (central, office, number)
    return known


class PostgresStore:
    """The server's database on a PostgreSQL server; a small connection pool per process."""

    busy_errors: tuple[type[BaseException], ...]

    def __init__(self, url: str, *, create: bool = True, pool_size: int = 8) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.busy_errors = (psycopg.OperationalError,)
        # One connection first: a wrong URL or an unreachable server is one clear error at
        # start-up, not a pool retrying in the background.
        with psycopg.connect(url, connect_timeout=10) as conn:
            if create:
                self._migrate(conn)
            elif not self._has_schema(conn):
                raise StoreMissingError(masked(url))
        self.pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=POOL_TIMEOUT,
            open=True,
            kwargs={"autocommit": False},
            name="prakerja-central",
        )

    @staticmethod
    def _has_schema(conn: psycopg.Connection[TupleRow]) -> bool:
        row = conn.execute("SELECT to_regclass('central_schema') IS NOT NULL").fetchone()
        return bool(row and row[0])

    def _migrate(self, conn: psycopg.Connection[TupleRow]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK])
            conn.execute(
                "CREATE TABLE IF NOT EXISTS central_schema (version INTEGER PRIMARY KEY, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            row = conn.execute("SELECT coalesce(max(version), 0) FROM central_schema").fetchone()
            version = int(row[0]) if row else 0
            for number, statements in MIGRATIONS:
                if number > version:
                    for statement in statements:
                        conn.execute(statement.encode())
                    conn.execute("INSERT INTO central_schema (version) VALUES (%s)", [number])

    def describe(self) -> str:
        return f"PostgreSQL {masked(self.url)}"

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[TupleRow]]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

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
        return _retrying(lambda: self._submit_once(key, body_sha256, batch, today, registry, wave))

    def _submit_once(
        self,
        key: str,
        body_sha256: str,
        batch: Batch,
        today: date,
        registry: Registry | None,
        wave: int | None,
    ) -> bytes:
        with self._transaction() as cur:
            cur.execute(
                "SELECT office_code, body_sha256, response FROM idempotency WHERE key = %s", [key]
            )
            if (answer := replayed(cur.fetchone(), batch.office_code, body_sha256)) is not None:
                return answer
            work = BatchWork(batch, key, now_iso(), today, registry, wave, _known(cur, batch))
            work.decide()
            if work.new:
                cur.execute(
                    "SELECT nextval('registrations_seq') FROM generate_series(1, %s)",
                    [len(work.new)],
                )
                work.assign([int(r[0]) for r in cur.fetchall()])
                registrations = sorted(work.registration_rows(), key=lambda r: str(r[5]))
                # Key order (NIK): two batches inserting the same NIKs wait for each other in
                # the same order instead of deadlocking.
                cur.executemany(
                    "INSERT INTO registrations (seq, central_id, office_code, client_id, "
                    "content_hash, nik, registration_number, record, batch_id, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    registrations,
                )
            results = sorted(work.result_rows(), key=lambda r: (str(r[0]), str(r[1])))
            if results:
                cur.executemany(
                    "INSERT INTO results (client_id, content_hash, office_code, outcome, reason, "
                    "result, batch_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    results,
                )
            response = work.response()
            cur.execute(
                "INSERT INTO idempotency (key, office_code, body_sha256, response, created_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                [key, batch.office_code, body_sha256, response, work.stamp],
            )
            # Last, so the counter's row lock is held only for these inserts and the COMMIT.
            _insert_events(cur, work.event_rows())
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
        return _retrying(lambda: self._amend_once(key, body_sha256, batch, today, registry, wave))

    def _amend_once(
        self,
        key: str,
        body_sha256: str,
        batch: AmendmentBatch,
        today: date,
        registry: Registry | None,
        wave: int | None,
    ) -> bytes:
        """The registrations named are locked (FOR UPDATE, in client_id order) before their
        versions are read: two amendments of one registration at once are decided one after the
        other, the second against the version the first made (a conflict when it amended the
        same one). A resent amendment_id that races its first: the unique key, then a retry."""
        with self._transaction() as cur:
            cur.execute(
                "SELECT office_code, body_sha256, response FROM idempotency WHERE key = %s", [key]
            )
            if (answer := replayed(cur.fetchone(), batch.office_code, body_sha256)) is not None:
                return answer
            cids = sorted({item.client_id for item in batch.items})
            aids = sorted({item.amendment_id for item in batch.items})
            cur.execute(
                f"SELECT {REGISTERED_COLUMNS} FROM registrations WHERE client_id = ANY(%s) "
                "ORDER BY client_id FOR UPDATE OF registrations",
                [cids],
            )
            registered = dict(registered_of(found) for found in cur.fetchall())
            cur.execute(
                "SELECT amendment_id, result FROM amendments WHERE amendment_id = ANY(%s)", [aids]
            )
            firsts = {str(a): str(r) for a, r in cur.fetchall()}
            work = AmendWork(batch, key, now_iso(), today, registry, wave, firsts, registered)
            work.decide()
            updates = work.registration_updates()
            if updates:
                cur.executemany(
                    "UPDATE registrations SET record = %s, version = %s, withdrawn_at = %s "
                    "WHERE client_id = %s",
                    updates,
                )
            rows = sorted(work.amendment_rows(), key=lambda r: str(r[0]))
            if rows:
                cur.executemany(
                    "INSERT INTO amendments (amendment_id, office_code, client_id, outcome, "
                    "reason, result, request_key, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
            response = work.response()
            cur.execute(
                "INSERT INTO idempotency (key, office_code, body_sha256, response, created_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                [key, batch.office_code, body_sha256, response, work.stamp],
            )
            _insert_events(cur, work.event_rows())
        return response.encode("utf-8")

    def swap_anchor(self, office_code: str, desk: str, head: str) -> dict[str, Any] | None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._transaction() as cur:
                    cur.execute(
                        "SELECT head, received_at FROM audit_anchors "
                        "WHERE office_code = %s AND desk = %s FOR UPDATE",
                        [office_code, desk],
                    )
                    row = cur.fetchone()
                    cur.execute(
                        "INSERT INTO audit_anchors (office_code, desk, head, received_at) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (office_code, desk) DO UPDATE "
                        "SET head = excluded.head, received_at = excluded.received_at",
                        [office_code, desk, head, now_iso()],
                    )
                break
            except Exception as exc:
                # Two first anchors of one desk at once: the second sees the first on retry.
                if not _retryable(exc) or attempt == MAX_ATTEMPTS:
                    raise
        return {"head": f"{office_code}:{desk}:{row[0]}", "received_at": row[1]} if row else None

    # -- reading ------------------------------------------------------------------------------

    def events(self, office_code: str | None, cursor: int, limit: int) -> dict[str, Any]:
        sql, params = events_query(office_code, cursor, limit, "%s")
        with self._transaction() as cur:
            cur.execute(sql.encode(), params)
            return feed(cur.fetchall(), cursor)

    def stats(self) -> dict[str, Any]:
        with self.pool.connection() as conn:
            conn.isolation_level = _repeatable_read()
            try:
                with conn.transaction(), conn.cursor() as cur:

                    def query(sql: str) -> list[tuple[Any, ...]]:
                        cur.execute(sql.encode())
                        return list(cur.fetchall())

                    return collect_stats(query)
            finally:
                conn.isolation_level = None


def _insert_events(cur: psycopg.Cursor[TupleRow], events: list[tuple[Any, ...]]) -> None:
    """Status events numbered from the counter row (see the module's docstring): call last in
    the transaction, so its row lock is held only for these inserts and the COMMIT."""
    if not events:
        return
    cur.execute(
        "UPDATE counters SET value = value + %s WHERE name = 'events' RETURNING value",
        [len(events)],
    )
    found = cur.fetchone()
    assert found is not None
    first = int(found[0]) - len(events) + 1
    cur.executemany(
        "INSERT INTO events (seq, office_code, client_id, central_id, status, reason, "
        "wave, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [(first + n, *event) for n, event in enumerate(events)],
    )


def _repeatable_read() -> Any:
    from psycopg import IsolationLevel

    return IsolationLevel.REPEATABLE_READ
