"""The central server's storage: one interface, two engines.

`open_store` picks the engine: SQLite in the data folder (the embedded default, one process) or
PostgreSQL at a `postgresql://` URL (an existing database server, several worker processes).
Both keep the same tables and apply the same rules, which live here once: what the database
already knows about a batch is read up front (`Known`), the records are decided in order by
`BatchWork`, each seeing the ones before it, and the engine writes the new rows in one
transaction. A batch is wholly committed (and a lost response is harmless to replay) or not at all.
Amendments (corrections and withdrawals of a registration, by its version) are decided the same
way by `AmendWork`, in one transaction per request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from prakerja_cli.central.contract import (
    AmendKind,
    AmendmentBatch,
    AmendOutcome,
    AmendReason,
    ApiError,
    Batch,
    ConflictReason,
    ErrorCode,
    Item,
    Outcome,
    Status,
    check_amendment,
    check_record,
)
from prakerja_cli.central.registry import Registry

#: URL schemes that select the PostgreSQL engine.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class StoreMissingError(Exception):
    """The data folder holds no central database yet."""


class CentralStore(Protocol):
    """What the server asks of its database, whatever the engine."""

    #: Exceptions meaning "the database is busy or unreachable now" (answered 503, Retry-After).
    busy_errors: tuple[type[BaseException], ...]

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
        ...

    def swap_anchor(self, office_code: str, desk: str, head: str) -> dict[str, Any] | None:
        """Keep `head` as the desk's audit anchor; return the one kept before (None: none yet)."""
        ...

    def events(self, office_code: str | None, cursor: int, limit: int) -> dict[str, Any]:
        """Events after `cursor`, oldest first; `office_code` None means every office's."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counts for `prakerja central stats`, read in one transaction."""
        ...

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
        """Apply an amendments request, or return the stored response of an earlier call with the
        same key and body (422 when the key was used with another body)."""
        ...

    def describe(self) -> str:
        """Where the data is, for the start-up line (never a password)."""
        ...

    def close(self) -> None: ...


def is_postgres_url(database: str | None) -> bool:
    return database is not None and database.lower().startswith(POSTGRES_SCHEMES)


def open_store(
    data_dir: Path, database: str | None = None, *, create: bool = True, pool_size: int = 8
) -> CentralStore:
    """The engine for `database` (a postgresql:// URL) or, without one, SQLite in `data_dir`.

    `create` False: open only a database that exists (StoreMissingError otherwise; on PostgreSQL,
    one whose tables were never made). Raises ValueError for a URL of another kind.
    """
    if database is None:
        from prakerja_cli.central.sqlite_store import SqliteStore

        return SqliteStore(data_dir, create=create)
    if not is_postgres_url(database):
        raise ValueError("--database takes a postgresql:// URL (without it: SQLite in --data-dir)")
    from prakerja_cli.central.postgres_store import PostgresStore

    return PostgresStore(database, create=create, pool_size=pool_size)


def database_errors(database: str | None) -> tuple[type[Exception], ...]:
    """What opening or reading the engine's database may raise when it cannot be used."""
    import sqlite3

    if is_postgres_url(database):
        import psycopg

        return (psycopg.Error, OSError)
    return (sqlite3.Error, OSError)


def now_iso() -> str:
    """Local time with its offset, to the second (the contract's times are ISO 8601 with offset)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def central_id(seq: int) -> str:
    return f"C-{seq:06d}"


def dumps(value: Any) -> str:
    # ensure_ascii: a lone surrogate ("\ud800") from a client's JSON cannot be encoded as UTF-8,
    # and PostgreSQL text cannot hold NUL: both stay escaped inside the JSON text.
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def keys_of(batch: Batch) -> tuple[list[str], list[str]]:
    """The batch's client_ids and the NIKs worth looking up (16 ASCII digits: any other value is
    rejected before its NIK matters), each sorted and once."""
    client_ids = sorted({item.client_id for item in batch.items})
    niks = sorted(
        {
            n
            for item in batch.items
            if isinstance(n := item.record.get("nik"), str)
            and len(n) == 16
            and n.isascii()
            and n.isdigit()
        }
    )
    return client_ids, niks


def replayed(row: Any, office_code: str, body_sha256: str) -> bytes | None:
    """The answer stored for an Idempotency-Key (`row`: office_code, body_sha256, response; None
    when the key is new): the same office and body get it again, any other body is 422."""
    if row is None:
        return None
    if row[0] == office_code and row[1] == body_sha256:
        return str(row[2]).encode("utf-8")
    raise reused_key()


def reused_key() -> ApiError:
    return ApiError(
        422,
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "this Idempotency-Key was used before with another body; use a new key for a new batch",
    )


@dataclass(slots=True)
class Known:
    """What the database holds about one batch's client_ids and NIKs, read before deciding."""

    #: (client_id, content_hash) → its first result, as stored JSON
    firsts: dict[tuple[str, str], str] = field(default_factory=dict)
    #: client_id → central_id of its registration
    registered: dict[str, str] = field(default_factory=dict)
    #: NIK → (central_id, office_code, registration_number) of the registration holding it
    holders: dict[str, tuple[str, str, str]] = field(default_factory=dict)


class BatchWork:
    """One batch's decisions, engine-neutral. `decide` gives every record its result in order;
    registrations made here get their central ids afterwards from `assign` (the engine hands out
    the numbers: SQLite the next ones under its write lock, PostgreSQL from a sequence), and then
    `registration_rows`, `event_rows` and `result_rows` are what to write, in decision order.
    """

    def __init__(
        self,
        batch: Batch,
        batch_id: str,
        stamp: str,
        today: date,
        registry: Registry | None,
        wave: int | None,
        known: Known,
    ) -> None:
        self.batch = batch
        self.office_code = batch.office_code
        self.batch_id = batch_id
        self.stamp = stamp
        self.today = today
        self.registry = registry
        self.wave = wave
        self.known = known
        #: (client_id, content_hash) → result decided in this batch
        self.decided: dict[tuple[str, str], dict[str, Any]] = {}
        #: results of this batch in the order of its records (repeats share one dict)
        self.results: list[dict[str, Any]] = []
        #: the records registered here, in order; index = their place in `assign`'s numbers
        self.new: list[Item] = []
        self._new_by_client: dict[str, int] = {}
        self._new_by_nik: dict[str, int] = {}
        #: results whose central_id is a registration made here: (result, index in `new`)
        self._pending: list[tuple[dict[str, Any], int]] = []
        #: (index in `new`, status, reason, wave) in the order decided
        self._events: list[tuple[int, Status, str | None, int | None]] = []
        #: newly decided (client_id, content_hash), in order, for the results table
        self._fresh: list[tuple[str, str]] = []
        self._seqs: list[int] = []
        self._ids: list[str] = []

    def decide(self) -> list[dict[str, Any]]:
        self.results = [self._result(item) for item in self.batch.items]
        return self.results

    def _pending_id(self, result: dict[str, Any], index: int) -> dict[str, Any]:
        self._pending.append((result, index))
        return result

    def _result(self, item: Item) -> dict[str, Any]:
        """The result for one record: its first result if it has one, else decided now."""
        key = (item.client_id, item.content_hash)
        if (done := self.decided.get(key)) is not None:
            return done
        if (first := self.known.firsts.get(key)) is not None:
            result: dict[str, Any] = json.loads(first)
            self.decided[key] = result
            return result
        cid = item.client_id
        if cid in self.known.registered:
            result = self._conflict(cid, self.known.registered[cid])
        elif cid in self._new_by_client:
            result = self._pending_id(self._conflict(cid, ""), self._new_by_client[cid])
        elif (reason := check_record(item.record, self.office_code, self.today)) is not None:
            result = {"client_id": cid, "outcome": str(Outcome.REJECTED), "reason": str(reason)}
        elif (holder := self.known.holders.get(item.record["nik"])) is not None:
            result = self._duplicate(cid, holder[0], holder[1], holder[2])
        elif (index := self._new_by_nik.get(item.record["nik"])) is not None:
            earlier = self.new[index].record
            result = self._duplicate(cid, "", self.office_code, earlier["registration_number"])
            result = self._pending_id(result, index)
        else:
            index = self._register(item)
            result = {"client_id": cid, "outcome": str(Outcome.ACCEPTED), "central_id": ""}
            result = self._pending_id(result, index)
        self.decided[key] = result
        self._fresh.append(key)
        return result

    @staticmethod
    def _conflict(cid: str, central: str) -> dict[str, Any]:
        return {
            "client_id": cid,
            "outcome": str(Outcome.CONFLICT),
            "reason": str(ConflictReason.CONTENT_CHANGED),
            "central_id": central,
        }

    @staticmethod
    def _duplicate(cid: str, central: str, office: str, number: str) -> dict[str, Any]:
        return {
            "client_id": cid,
            "outcome": str(Outcome.DUPLICATE),
            "central_id": central,
            "registered_by": {"office_code": office, "registration_number": number},
        }

    def _register(self, item: Item) -> int:
        index = len(self.new)
        self.new.append(item)
        self._new_by_client[item.client_id] = index
        self._new_by_nik[item.record["nik"]] = index
        # The central verification, as status events: the registry check, then (for the verified)
        # the wave. Deterministic, so a training run can be replayed.
        reason = self.registry.verify(item.record) if self.registry is not None else None
        if reason is not None:
            self._events.append((index, Status.REGISTRY_REJECTED, str(reason), None))
        else:
            self._events.append((index, Status.VERIFIED, None, None))
            if self.wave:
                self._events.append((index, Status.WAVE_ASSIGNED, None, self.wave))
        return index

    def assign(self, seqs: Sequence[int]) -> None:
        """Number the registrations made here (one seq each, in order) and fill in their ids."""
        assert len(seqs) == len(self.new)
        self._seqs = list(seqs)
        self._ids = [central_id(seq) for seq in seqs]
        for result, index in self._pending:
            result["central_id"] = self._ids[index]

    @property
    def event_count(self) -> int:
        return len(self._events)

    def registration_rows(self) -> list[tuple[Any, ...]]:
        """(seq, central_id, office_code, client_id, content_hash, nik, registration_number,
        record, batch_id, created_at) per registration."""
        return [
            (
                seq, self._ids[i], self.office_code, item.client_id, item.content_hash,
                item.record["nik"], item.record["registration_number"], dumps(item.record),
                self.batch_id, self.stamp,
            )
            for i, (seq, item) in enumerate(zip(self._seqs, self.new, strict=True))
        ]  # fmt: skip

    def event_rows(self) -> list[tuple[Any, ...]]:
        """(office_code, client_id, central_id, status, reason, wave, at) per event, in order."""
        return [
            (
                self.office_code, self.new[i].client_id, self._ids[i], str(status), reason, wave,
                self.stamp,
            )
            for i, status, reason, wave in self._events
        ]  # fmt: skip

    def result_rows(self) -> list[tuple[Any, ...]]:
        """(client_id, content_hash, office_code, outcome, reason, result, batch_id, created_at)
        per result decided here (not the replayed ones)."""
        rows = []
        for key in self._fresh:
            result = self.decided[key]
            rows.append(
                (
                    key[0], key[1], self.office_code, result["outcome"], result.get("reason"),
                    dumps(result), self.batch_id, self.stamp,
                )
            )  # fmt: skip
        return rows

    def response(self) -> str:
        return dumps({"batch_id": self.batch_id, "results": self.results})


def events_query(
    office_code: str | None, cursor: int, limit: int, mark: str
) -> tuple[str, list[Any]]:
    """The status feed's query (placeholders `mark`: ? or %s) and its parameters."""
    sql = f"SELECT seq, client_id, central_id, status, reason, wave, at FROM events WHERE seq > {mark}"
    params: list[Any] = [cursor]
    if office_code is not None:
        sql += f" AND office_code = {mark}"
        params.append(office_code)
    sql += f" ORDER BY seq LIMIT {mark}"
    params.append(limit)
    return sql, params


def feed(rows: Iterable[Sequence[Any]], cursor: int) -> dict[str, Any]:
    """Rows of (seq, client_id, central_id, status, reason, wave, at) as the feed's answer."""
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


def collect_stats(query: Callable[[str], list[tuple[Any, ...]]]) -> dict[str, Any]:
    """Counts for `prakerja central stats`: registrations (= distinct NIKs), per office, per
    first outcome and rejection reason, status events per status, batches. `query` runs one SQL
    statement (the same in both engines) inside one read transaction, so the counts agree."""

    def pairs(sql: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in query(sql)}

    registrations, distinct = query("SELECT count(*), count(DISTINCT nik) FROM registrations")[0]
    return {
        "registrations": int(registrations),
        "distinct_nik": int(distinct),
        "offices": pairs("SELECT office_code, count(*) FROM registrations GROUP BY 1 ORDER BY 1"),
        "outcomes": {str(o): 0 for o in Outcome}
        | pairs("SELECT outcome, count(*) FROM results GROUP BY 1"),
        "reasons": pairs(
            "SELECT reason, count(*) FROM results WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 1"
        ),
        "events": {str(s): 0 for s in Status}
        | pairs("SELECT status, count(*) FROM events GROUP BY 1"),
        "registry_reasons": pairs(
            "SELECT reason, count(*) FROM events WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 1"
        ),
        "batches": int(query("SELECT count(*) FROM idempotency")[0][0]),
    }


# -- amendments ---------------------------------------------------------------------------------

#: Fields whose correction is checked against the population registry again.
REGISTRY_FIELDS = ("nik", "kk", "name", "birth_date")


@dataclass(slots=True)
class Registered:
    """What the database holds of one registration an amendment names."""

    central_id: str
    office_code: str
    version: int
    withdrawn: bool
    record: dict[str, Any]
    #: The last verification status event of the registration (verified, registry_rejected).
    verdict: str | None


#: The columns (in this order) each engine reads into `Registered`, per registration.
REGISTERED_COLUMNS = (
    "client_id, central_id, office_code, version, withdrawn_at, record, "
    "(SELECT status FROM events e WHERE e.client_id = registrations.client_id "
    "AND e.status IN ('verified', 'registry_rejected') ORDER BY e.seq DESC LIMIT 1)"
)


def registered_of(row: Sequence[Any]) -> tuple[str, Registered]:
    cid, central, office, version, withdrawn_at, record, verdict = row
    return str(cid), Registered(
        str(central), str(office), int(version), withdrawn_at is not None, json.loads(record),
        verdict,
    )  # fmt: skip


class AmendWork:
    """One amendments request's decisions, engine-neutral, in order: an amendment_id answered
    before gets its first answer; otherwise the registration must be the office's, live and at
    `base_version`, and the amended record must pass the record checks. Each applied amendment
    raises the version by one; one that corrects the name, birth date or KK is checked against
    the registry again, and a changed verdict is a status event."""

    def __init__(
        self,
        batch: AmendmentBatch,
        key: str,
        stamp: str,
        today: date,
        registry: Registry | None,
        wave: int | None,
        firsts: dict[str, str],
        registered: dict[str, Registered],
    ) -> None:
        self.batch = batch
        self.key = key
        self.stamp = stamp
        self.today = today
        self.registry = registry
        self.wave = wave
        self.firsts = firsts
        self.registered = registered
        self.results: list[dict[str, Any]] = []
        #: amendment_id → (client_id, result) decided here, in order
        self.fresh: dict[str, tuple[str, dict[str, Any]]] = {}
        #: client_id → the registration as amended here
        self.changed: dict[str, Registered] = {}
        self._events: list[tuple[str, str, str, str | None, int | None]] = []

    def decide(self) -> list[dict[str, Any]]:
        for item in self.batch.items:
            aid = item.amendment_id
            if aid in self.fresh:
                result = self.fresh[aid][1]
            elif aid in self.firsts:
                result = json.loads(self.firsts[aid])
            else:
                result = self._decide(item)
                self.fresh[aid] = (item.client_id, result)
            self.results.append(result)
        return self.results

    def _decide(self, item: Any) -> dict[str, Any]:
        head = {"amendment_id": item.amendment_id, "client_id": item.client_id}
        reg = self.registered.get(item.client_id)
        if reg is None or reg.office_code != self.batch.office_code:
            return {**head, "outcome": str(AmendOutcome.REJECTED),
                    "reason": str(AmendReason.NOT_REGISTERED)}  # fmt: skip
        head["central_id"] = reg.central_id
        if reg.withdrawn:
            return {**head, "outcome": str(AmendOutcome.REJECTED),
                    "reason": str(AmendReason.WITHDRAWN), "version": reg.version}  # fmt: skip
        if item.base_version != reg.version:
            return {**head, "outcome": str(AmendOutcome.CONFLICT),
                    "reason": str(AmendReason.VERSION_STALE), "version": reg.version}  # fmt: skip
        reason, amended = check_amendment(reg.record, item, self.batch.office_code, self.today)
        if reason is not None:
            return {**head, "outcome": str(AmendOutcome.REJECTED), "reason": reason,
                    "version": reg.version}  # fmt: skip
        reg.version += 1
        reg.record = amended
        reg.withdrawn = item.kind == AmendKind.WITHDRAW
        self.changed[item.client_id] = reg
        if item.kind == AmendKind.AMEND and any(n in item.changes for n in REGISTRY_FIELDS):
            self._verify_again(item.client_id, reg)
        return {**head, "outcome": str(AmendOutcome.APPLIED), "version": reg.version}

    def _verify_again(self, cid: str, reg: Registered) -> None:
        failed = self.registry.verify(reg.record) if self.registry is not None else None
        verdict = str(Status.VERIFIED) if failed is None else str(Status.REGISTRY_REJECTED)
        if verdict == reg.verdict and failed is None:
            return
        self._events.append((cid, reg.central_id, verdict, None if failed is None else str(failed),
                             None))  # fmt: skip
        if failed is None and reg.verdict != str(Status.VERIFIED) and self.wave:
            self._events.append((cid, reg.central_id, str(Status.WAVE_ASSIGNED), None, self.wave))
        reg.verdict = verdict

    def registration_updates(self) -> list[tuple[Any, ...]]:
        """(record, version, withdrawn_at, client_id) per registration amended here, in client_id
        order (the order rows are locked in)."""
        return [
            (dumps(reg.record), reg.version, self.stamp if reg.withdrawn else None, cid)
            for cid, reg in sorted(self.changed.items())
        ]

    def amendment_rows(self) -> list[tuple[Any, ...]]:
        """(amendment_id, office_code, client_id, outcome, reason, result, request_key, created_at)
        per amendment decided here."""
        return [
            (aid, self.batch.office_code, cid, r["outcome"], r.get("reason"), dumps(r), self.key,
             self.stamp)
            for aid, (cid, r) in self.fresh.items()
        ]  # fmt: skip

    def event_rows(self) -> list[tuple[Any, ...]]:
        """(office_code, client_id, central_id, status, reason, wave, at) per event, in order."""
        return [
            (self.batch.office_code, cid, central, status, reason, wave, self.stamp)
            for cid, central, status, reason, wave in self._events
        ]

    def response(self) -> str:
        return dumps({"request_id": self.key, "results": self.results})
