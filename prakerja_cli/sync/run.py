"""One sync run: resend open batches, batch and send every unsent record, pull status updates.

One run at a time per store (a file lock the OS frees if the process dies).
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prakerja_cli.errors import PrakerjaError
from prakerja_cli.office import Workspace
from prakerja_cli.store.db import write
from prakerja_cli.sync import amendments, anchor, outbox
from prakerja_cli.sync.http import ApiSettings, RetryReport, api_call, make_session

Progress = Callable[[int, int], None]
MAX_BATCH = 1000
#: Status events written per transaction (five pages of the feed).
EVENTS_PER_TRANSACTION = 5000


class SyncBusyError(PrakerjaError):
    """Another sync holds the lock on this store."""


class ProtocolError(PrakerjaError):
    """The central system answered outside the contract."""


@dataclass(slots=True)
class SyncResult:
    sent: int = 0
    requests: int = 0
    bytes_sent: int = 0
    #: Per outcome, and `requeued`: refused as sent but edited meanwhile, so unsent again.
    #: `possible_duplicate`: accepted by an office hub with a warning (docs/office.md).
    outcomes: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (*outbox.OUTCOMES, "requeued", "possible_duplicate"), 0
        )
    )
    events: dict[str, int] = field(
        default_factory=lambda: {
            "verified": 0,
            "registry_rejected": 0,
            "wave_assigned": 0,
            "relayed": 0,
        }
    )
    #: Amendments (corrections, withdrawals after sync) sent, and their answers.
    amendments: dict[str, int] = field(
        default_factory=lambda: {"sent": 0, **dict.fromkeys(amendments.OUTCOMES, 0)}
    )
    #: Registration numbers of the records whose correction met a conflict.
    amendment_conflicts: list[str] = field(default_factory=list)
    pending: int = 0
    dry_run: bool = False
    #: The records an office hub warned about: registration number, the other desk's, its desk.
    warned: list[dict[str, str]] = field(default_factory=list)
    #: What the central system's audit anchor said (sync/anchor.py); not part of the audit entry.
    audit_anchor: str | None = None
    #: Records the central system refused as a request of their own (HTTP status, see
    #: REFUSED_AS_IT_IS): registration number and status. They stay unsent.
    held_back: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refused(self) -> int:
        """Records the central system will not take as they are (exit code 3)."""
        refused = ("duplicate", "rejected", "conflict")
        return sum(self.outcomes[k] for k in refused) + sum(
            self.amendments[k] for k in ("rejected", "conflict")
        )

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, **self.outcomes, "pending": self.pending,
                **self.events, "requests": self.requests, "bytes_sent": self.bytes_sent,
                "dry_run": self.dry_run, "amendments": dict(self.amendments),
                "amendment_conflicts": list(self.amendment_conflicts),
                "held_back": list(self.held_back)}  # fmt: skip


def sync_lock(ws: Workspace) -> Any:
    from filelock import FileLock

    from prakerja_cli.config import app_dir

    return FileLock(str(app_dir() / "sync.lock"), timeout=0)


def run_sync(
    ws: Workspace,
    settings: ApiSettings,
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    progress: Progress | None = None,
    on_retry: RetryReport | None = None,
) -> SyncResult:
    from filelock import Timeout

    size = max(1, min(batch_size, MAX_BATCH))
    result = SyncResult(dry_run=dry_run)
    if dry_run:
        result.pending = _pending(ws)
        return result
    lock = sync_lock(ws)
    try:
        lock.acquire()
    except Timeout:
        raise SyncBusyError("error.sync_busy", hint="hint.sync_busy") from None
    try:
        session = make_session(settings, on_retry)
        base = settings.url.rstrip("/")
        # Another thread does the HTTP (and the gzip, which frees the GIL) while this one writes
        # the answers into SQLite: the server works on the next batch while the last one's
        # results and the batch after are written here. One call at a time; every write stays
        # here.
        wire = _Wire(_Calls(), session, base)
        _send_all(ws, wire, size, result, progress)
        _send_amendments(ws, wire, result)
        _pull_status(ws, wire, result)
        outbox.mark_synced(ws.db, ws.office, result.to_json())
    finally:
        lock.release()
    result.pending = _pending(ws)
    return result


_T = TypeVar("_T")


class _Calls:
    """The sync's HTTP calls, each on a daemon thread of its own, one at a time (each is waited
    for, with `wait`, before the next is made). Ctrl+C ends the sync at once: the call in flight
    is abandoned (what it sends is in the outbox and goes again, under its key, next time),
    where a pool's thread would be waited for first, through every retry (minutes)."""

    def submit(self, call: Callable[..., _T], *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call(*args, **kwargs))
                except BaseException as exc:  # handed to the waiting thread, raised there
                    future.set_exception(exc)

        threading.Thread(target=run, name="sync-http", daemon=True).start()
        return future


def wait(future: Future[_T]) -> _T:
    """A call's result, waited for in short steps: on Windows a wait without a timeout is not
    interrupted by Ctrl+C."""
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue


@dataclass(frozen=True, slots=True)
class _Wire:
    """The HTTP side of a sync, run on another thread one call at a time."""

    http: _Calls
    session: Any
    base: str

    def post(self, batch: outbox.Batch) -> Future[tuple[Any, int]]:
        return self.http.submit(self._post, batch)

    def _post(self, batch: outbox.Batch) -> tuple[Any, int]:
        body = gzip.compress(batch.body, compresslevel=6)  # level 9: twice the CPU for 3 % less
        headers = {
            "Idempotency-Key": batch.id,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        url = f"{self.base}/v1/registrations/batches"
        return api_call(self.session, "POST", url, data=body, headers=headers), len(body)

    def amend(self, request: amendments.Request) -> Future[tuple[Any, int]]:
        return self.http.submit(self._amend, request)

    def _amend(self, request: amendments.Request) -> tuple[Any, int]:
        body = gzip.compress(request.body, compresslevel=6)
        headers = {
            "Idempotency-Key": request.id,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        url = f"{self.base}/v1/registrations/amendments"
        return api_call(self.session, "POST", url, data=body, headers=headers), len(body)

    def status(self, cursor: int, headers: dict[str, str]) -> Future[Any]:
        return self.http.submit(
            api_call, self.session, "GET", f"{self.base}/v1/status",
            params={"cursor": cursor, "limit": 1000}, headers=headers,
        )  # fmt: skip


def _send_all(
    ws: Workspace, wire: _Wire, size: int, result: SyncResult, progress: Progress | None
) -> None:
    """Resend the open batches, then batch and send every unsent record. Each new batch is written
    to the outbox (committed) before it is sent, while the one before it is on the wire."""
    queue = outbox.open_batches(ws.db)
    ids = outbox.unsent_ids(ws.db)
    total = sum(b.records for b in queue) + len(ids)
    chunks = (ids[start : start + size] for start in range(0, len(ids), size))

    def next_batch() -> outbox.Batch | None:
        while not queue:
            chunk = next(chunks, None)
            if chunk is None:
                return None
            batch = outbox.write_batch(ws.db, ws.office.office_code, chunk)
            if batch is not None:
                return batch
        return queue.pop(0)

    def write_answer(answered: tuple[outbox.Batch, list[dict[str, Any]]] | None) -> None:
        if answered is not None:
            done, results = answered
            counts = outbox.apply_results(ws.db, done, results, result.warned)
            for name, count in counts.items():
                result.outcomes[name] += count
            # Sent: the records the answer settled (a record it is silent on goes again).
            result.sent += sum(counts[name] for name in (*outbox.OUTCOMES, "requeued"))
            if progress is not None:
                progress(result.sent, total)

    batch = next_batch()
    flight = wire.post(batch) if batch is not None else None
    answered = None
    while batch is not None and flight is not None:
        # While `batch` is on the wire: the answer before it and the batch after it are written,
        # in one transaction (one commit, one fsync). Should the sync stop before an answer is
        # written, its batch stays open in the outbox and goes again, with its key, next time.
        with write(ws.db):
            write_answer(answered)
            upcoming = next_batch()
        results = _answer(ws, batch, flight, result)
        answered = (batch, results) if isinstance(results, list) else None
        if results is None:  # refused as it is: its halves go next, then the rest in order
            queue[:0] = [*outbox.split_batch(ws.db, batch), *([upcoming] if upcoming else [])]
            upcoming = next_batch()
        elif isinstance(results, int):  # one record refused as it is: the rest go on
            number = outbox.drop_batch(ws.db, batch)
            result.held_back.append({"registration_number": number, "status": results})
        flight = wire.post(upcoming) if upcoming is not None else None
        batch = upcoming
    write_answer(answered)


#: What the central system answers a batch it refuses as it is, whatever the time (docs/central-
#: api.md: nothing in it was processed): too large, a body it cannot take, a key it saw with
#: another body. Sent again unchanged, it would be refused again at every sync, ahead of every
#: other record: it is split, and a record refused alone is held back (SyncResult.held_back).
REFUSED_AS_IT_IS = (400, 413, 422)


def _answer(
    ws: Workspace, batch: outbox.Batch, flight: Future[tuple[Any, int]], result: SyncResult
) -> list[dict[str, Any]] | int | None:
    """The results the server answered for `batch`; for a batch refused as it is
    (REFUSED_AS_IT_IS), None (to be split) or, for one record, the HTTP status."""
    result.requests += 1
    try:
        response, sent = wait(flight)
    except PrakerjaError as exc:
        outbox.note_attempt(ws.db, batch, exc.key)
        raise
    result.bytes_sent += sent
    if response.status_code in REFUSED_AS_IT_IS:
        return None if batch.records > 1 else int(response.status_code)
    if response.status_code != 200:
        outbox.note_attempt(ws.db, batch, f"HTTP {response.status_code}")
        raise ProtocolError(
            "error.api_protocol", hint="hint.api_later", status=response.status_code
        )
    try:
        results = answered_objects(response.json()["results"], objects=("registered_by",))
    except (ValueError, KeyError, TypeError):
        outbox.note_attempt(ws.db, batch, "bad body")
        raise ProtocolError(
            "error.api_protocol", hint="hint.api_later", status=response.status_code
        ) from None
    return results


def _send_amendments(ws: Workspace, wire: _Wire, result: SyncResult) -> None:
    """Resend the open amendment requests, then write and send new ones until none is left (a
    record's next amendment waits for the answer to the one before it). After the batches: a
    record registered in this sync is amended in it too."""
    queue = amendments.open_requests(ws.db)
    # A request refused as it is (REFUSED_AS_IT_IS) is split: the first half of it goes next,
    # down to one record's amendments, which are held back for this sync.
    limit, held = amendments.MAX_REQUEST, set[str]()
    while True:
        code = ws.office.office_code
        request = queue.pop(0) if queue else amendments.write_request(ws.db, code, limit, held)
        if request is None:
            return
        result.requests += 1
        try:
            response, sent = wait(wire.amend(request))
        except PrakerjaError as exc:
            amendments.note_attempt(ws.db, request, exc.key)
            raise
        result.bytes_sent += sent
        if response.status_code in REFUSED_AS_IT_IS:
            dropped = amendments.drop_request(ws.db, request)
            if len({record for record, _ in dropped}) > 1:
                limit = max(1, len(dropped) // 2)
            else:
                held.update(record for record, _ in dropped)
                result.held_back += [{"registration_number": number,
                                      "status": response.status_code, "amendment": True}
                                     for number in sorted({n for _, n in dropped})]  # fmt: skip
            continue
        limit = amendments.MAX_REQUEST
        try:
            if response.status_code != 200:
                raise ValueError
            results = answered_objects(response.json()["results"])
        except (ValueError, KeyError, TypeError):
            amendments.note_attempt(ws.db, request, f"HTTP {response.status_code}")
            raise ProtocolError(
                "error.api_protocol", hint="hint.api_later", status=response.status_code
            ) from None
        answered = amendments.apply_answers(ws.db, request, results)
        result.amendments["sent"] += request.amendments
        for name, count in answered.counts.items():
            result.amendments[name] += count
        result.amendment_conflicts += answered.conflicts
        if answered.unanswered:  # they go again with the next sync, not in a loop now
            raise ProtocolError(
                "error.api_protocol", hint="hint.api_later", status=response.status_code
            )


#: JSON values the desk stores as they come (SQLite's integers end at 2**63).
_PLAIN = (str, float, bool, type(None))
_MAX_INTEGER = 1 << 63


def _plain(value: Any) -> bool:
    if isinstance(value, int):
        return -_MAX_INTEGER <= value < _MAX_INTEGER
    return isinstance(value, _PLAIN)


def answered_objects(value: Any, objects: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The central system's results or events as the contract gives them: a list of objects whose
    values are plain (text, number, true/false, null), but for `objects`, which hold an object of
    plain values or null (`registered_by`). `warnings` is read by its own careful reader
    (outbox.hub_warning) and may hold anything. TypeError for any other answer: one outside the
    contract is refused whole, not half written (and never a traceback)."""
    if not isinstance(value, list):
        raise TypeError
    for item in value:
        if not isinstance(item, dict):
            raise TypeError
        for key, inner in item.items():
            if key == "warnings":
                continue
            if key in objects:
                if inner is not None and not (
                    isinstance(inner, dict) and all(map(_plain, inner.values()))
                ):
                    raise TypeError
            elif not _plain(inner):
                raise TypeError
    return value


def _pending(ws: Workspace) -> int:
    return int(
        ws.db.execute(f"SELECT count(*) FROM applicants WHERE {outbox.UNSENT}").fetchone()[0]
    )


def _pull_status(ws: Workspace, wire: _Wire, result: SyncResult) -> None:
    """Pull the status feed; its first page carries the chain's head and checks the anchor. The
    next page is asked for while this one is written."""
    # A cursor is one feed's (an office hub's or the central system's): docs/office.md.
    cursor = outbox.status_cursor(ws.db, wire.base)
    headers = {"Audit-Head": anchor.header(ws.db, ws.office)}
    flight = wire.status(cursor, headers)
    waiting: list[dict[str, Any]] = []
    while True:
        response = wait(flight)
        result.requests += 1
        try:
            data = response.json()
            events = answered_objects(data["events"])
            next_cursor = int(data["next_cursor"])
            # A page of events moves the cursor on; one that does not would be asked for again
            # and again (a server that ignores the cursor), the sync never ending.
            if events and not cursor < next_cursor < _MAX_INTEGER:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ProtocolError(
                "error.api_protocol", hint="hint.api_later", status=response.status_code
            ) from None
        cursor = next_cursor
        if result.audit_anchor is None and "audit_anchor" in data:
            result.audit_anchor = anchor.check(ws.db, ws.office, data["audit_anchor"])
        if events:
            flight = wire.status(next_cursor, headers)
            waiting += events
        # Several pages to a transaction (one commit each), with the cursor after them.
        if waiting and (not events or len(waiting) >= EVENTS_PER_TRANSACTION):
            for name, count in outbox.apply_events(ws.db, waiting, next_cursor, wire.base).items():
                result.events[name] += count
            waiting = []
        if not events:
            return
