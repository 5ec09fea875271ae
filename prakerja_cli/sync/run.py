"""One sync run: resend open batches, batch and send every unsent record, pull status updates.

One run at a time per store (a file lock the OS frees if the process dies).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prakerja_cli.errors import PrakerjaError
from prakerja_cli.office import Workspace
from prakerja_cli.sync import anchor, outbox
from prakerja_cli.sync.http import ApiSettings, RetryReport, api_call, make_session

Progress = Callable[[int, int], None]
MAX_BATCH = 1000


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
    outcomes: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*outbox.OUTCOMES, "requeued"), 0)
    )
    events: dict[str, int] = field(
        default_factory=lambda: {
            "verified": 0,
            "registry_rejected": 0,
            "wave_assigned": 0,
            "relayed": 0,
        }
    )
    pending: int = 0
    dry_run: bool = False
    #: What the central system's audit anchor said (sync/anchor.py); not part of the audit entry.
    audit_anchor: str | None = None

    @property
    def refused(self) -> int:
        """Records the central system will not take as they are (exit code 3)."""
        return self.outcomes["duplicate"] + self.outcomes["rejected"] + self.outcomes["conflict"]

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, **self.outcomes, "pending": self.pending,
                **self.events, "requests": self.requests, "bytes_sent": self.bytes_sent,
                "dry_run": self.dry_run}  # fmt: skip


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
        queue = outbox.open_batches(ws.db) + outbox.make_batches(ws.db, ws.office.office_code, size)
        total = sum(b.records for b in queue)
        while queue:
            batch = queue.pop(0)
            parts = _deliver(ws, session, base, batch, result)
            queue[:0] = parts  # a split batch goes next, in halves
            if progress is not None:
                progress(result.sent, total)
        _pull_status(ws, session, base, result)
        outbox.mark_synced(ws.db, ws.office, result.to_json())
    finally:
        lock.release()
    result.pending = _pending(ws)
    return result


def _pending(ws: Workspace) -> int:
    return int(
        ws.db.execute(f"SELECT count(*) FROM applicants WHERE {outbox.UNSENT}").fetchone()[0]
    )


def _deliver(
    ws: Workspace, session: Any, base: str, batch: outbox.Batch, result: SyncResult
) -> list[outbox.Batch]:
    """Send one batch; returns the halves to send instead when the server says it is too large."""
    body = gzip.compress(batch.body, compresslevel=6)  # level 9 costs twice the CPU for 3 % less
    headers = {
        "Idempotency-Key": batch.id,
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    result.requests += 1
    result.bytes_sent += len(body)
    try:
        response = api_call(
            session, "POST", f"{base}/v1/registrations/batches", data=body, headers=headers
        )
    except PrakerjaError as exc:
        outbox.note_attempt(ws.db, batch, exc.key)
        raise
    if response.status_code == 413 and batch.records > 1:
        return outbox.split_batch(ws.db, batch)
    if response.status_code != 200:
        outbox.note_attempt(ws.db, batch, f"HTTP {response.status_code}")
        raise ProtocolError(
            "error.api_protocol", hint="hint.api_later", status=response.status_code
        )
    try:
        results = response.json()["results"]
    except (ValueError, KeyError, TypeError):
        outbox.note_attempt(ws.db, batch, "bad body")
        raise ProtocolError(
            "error.api_protocol", hint="hint.api_later", status=response.status_code
        ) from None
    counts = outbox.apply_results(ws.db, batch, results)
    for name, count in counts.items():
        result.outcomes[name] += count
    result.sent += batch.records
    return []


def _pull_status(ws: Workspace, session: Any, base: str, result: SyncResult) -> None:
    """Pull the status feed; its first page carries the chain's head and checks the anchor."""
    cursor = outbox.status_cursor(ws.db, base)
    headers = {"Audit-Head": anchor.header(ws.db, ws.office)}
    while True:
        response = api_call(
            session, "GET", f"{base}/v1/status", params={"cursor": cursor, "limit": 1000},
            headers=headers,
        )  # fmt: skip
        result.requests += 1
        try:
            data = response.json()
            events = list(data["events"])
            next_cursor = int(data["next_cursor"])
        except (ValueError, KeyError, TypeError):
            raise ProtocolError(
                "error.api_protocol", hint="hint.api_later", status=response.status_code
            ) from None
        if result.audit_anchor is None and "audit_anchor" in data:
            result.audit_anchor = anchor.check(ws.db, ws.office, data["audit_anchor"])
        if not events:
            return
        for name, count in outbox.apply_events(ws.db, events, next_cursor, base).items():
            result.events[name] += count
        cursor = next_cursor
