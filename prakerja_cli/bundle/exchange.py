"""The four moves of the USB routine (docs/office.md), each a sync carried by a file.

- A desk exports what its sync would send: its outbox's open batches, after writing every unsent
  record into new ones exactly as `prakerja sync` does (sync/outbox.py), each with its
  Idempotency-Key and exact body.
- The hub imports them through the code its HTTP face runs (hub/store.py: check_claims, submit),
  so a batch already taken, over the LAN or in another bundle, gets the answer it got then.
- The hub exports, for one desk, every answer it gave that desk and the desk's whole feed.
- The desk imports them as a sync applies answers and feed events: an answer closes a batch still
  open, and is skipped otherwise; feed events after the last one a bundle brought are applied.

So a bundle imported twice, an old one after a newer one, or bundles in any order end in the same
state. Every import is one transaction: a refused bundle stores nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prakerja_cli.bundle import keys
from prakerja_cli.bundle.sealed import MAX_FILE_BYTES, Opened, seal
from prakerja_cli.errors import BundleError, check_input_file
from prakerja_cli.store import audit
from prakerja_cli.store.applicants import new_ids, now_iso
from prakerja_cli.store.db import write

if TYPE_CHECKING:
    from prakerja_cli.office import Workspace
    from prakerja_cli.store.db import Database

DESK, HUB = "desk", "hub"
SUFFIX = ".prakerja-bundle"
#: meta: the hub's public key line a desk trusts, and the last feed event a bundle brought.
TRUSTED_HUB = "bundle_hub_key"
BUNDLE_CURSOR = "bundle_cursor"
#: Records a batch of a desk's bundle holds (as `prakerja sync`'s default batch).
BATCH_SIZE = 500
_FEED_PAGE = 5000


@dataclass(slots=True)
class Moved:
    """What one export or import carried."""

    kind: str
    peer: str
    path: str
    batches: int = 0
    records: int = 0
    answers: int = 0
    events: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "peer": self.peer, "file": self.path, "batches": self.batches,
                "records": self.records, "answers": self.answers, "events": self.events,
                "outcomes": self.outcomes}  # fmt: skip


# -- keys and trust ------------------------------------------------------------------------------


def own_public(ws: Workspace) -> keys.PublicKey:
    """This PC's public key line (its keys made now if it has none yet)."""
    return keys.identity(create=True).public(ws.office.office_code, ws.office.desk)


def write_public(ws: Workspace, out: Path, *, force: bool = True) -> tuple[Path, keys.PublicKey]:
    """Write this PC's public key file: `out`, or OFFICE-DESK.prakerja-key in the folder `out`."""
    public = own_public(ws)
    path = out / f"{public.office_code}-{public.desk}{keys.SUFFIX}" if out.is_dir() else out
    text = f"# prakerja bundle key of office {public.office_code}, desk {public.desk}\n"
    _write_file(path, (text + public.text() + "\n").encode("ascii"), force=force)
    return path, public


def trusted_hub(db: Database) -> keys.PublicKey | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [TRUSTED_HUB]).fetchone()
    return keys.parse_public(str(row[0])) if row else None


def trust_hub(ws: Workspace, path: Path, *, replace: bool) -> keys.PublicKey:
    """Keep the hub's public key (from its key file) on this desk; another one already kept is
    replaced only with `replace`."""
    hub = keys.read_public(path)
    office = ws.office
    if hub.office_code != office.office_code:
        raise BundleError("error.bundle_other_office", hint="hint.bundle_key_file",
                          file=str(path), office=hub.office_code)  # fmt: skip
    if hub.desk == office.desk:
        raise BundleError("error.bundle_trust_self", hint="hint.bundle_key_file", file=str(path))
    with write(ws.db):
        kept = trusted_hub(ws.db)
        if kept is not None and kept != hub and not replace:
            raise BundleError("error.bundle_trust_other", hint="hint.bundle_trust_replace",
                              desk=kept.desk, fingerprint=kept.fingerprint)  # fmt: skip
        ws.db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [TRUSTED_HUB, hub.text()]
        )
        # A new hub's feed is another feed: its events are read from its start.
        if kept is not None and kept != hub:
            ws.db.execute("DELETE FROM meta WHERE key = ?", [BUNDLE_CURSOR])
        audit.record(ws.db, office, "bundle_trust", None,
                     {"hub": hub.desk, "fingerprint": hub.fingerprint})  # fmt: skip
    return hub


# -- desk -> hub ---------------------------------------------------------------------------------


def export_desk(ws: Workspace, out: Path, *, force: bool) -> Moved:
    """Write everything this desk has not had acknowledged into one bundle for its hub."""
    from filelock import Timeout

    from prakerja_cli.sync import outbox
    from prakerja_cli.sync.run import SyncBusyError, sync_lock

    hub = trusted_hub(ws.db)
    if hub is None:
        raise BundleError("error.bundle_no_hub", hint="hint.bundle_no_hub")
    me = keys.identity(create=True)
    lock = sync_lock(ws)
    try:
        lock.acquire()
    except Timeout:
        raise SyncBusyError("error.sync_busy", hint="hint.sync_busy") from None
    try:
        path = _target(out, ws.office.desk, hub.desk, force=force)
        # As a sync: every unsent record is written into a batch (key and body) before it leaves.
        outbox.make_batches(ws.db, ws.office.office_code, BATCH_SIZE)
        batches = outbox.open_batches(ws.db)
        payload = {"batches": [{"key": b.id, "body": b.body.decode("utf-8")} for b in batches]}
        data = seal(_header(ws, DESK, hub.desk), payload, me, hub)
        _write_file(path, data, force=force)
        moved = Moved(DESK, hub.desk, str(path), batches=len(batches),
                      records=sum(b.records for b in batches))  # fmt: skip
        with write(ws.db):
            audit.record(ws.db, ws.office, "bundle_export", None,
                         {"to": hub.desk, "batches": moved.batches, "records": moved.records})  # fmt: skip
    finally:
        lock.release()
    return moved


def import_file(ws: Workspace, path: Path) -> Moved:
    """Import a bundle for this PC: a desk's on the hub, the hub's on a desk (its header says)."""
    from prakerja_cli.bundle.sealed import open_sealed

    opened = open_sealed(_read(path), keys.identity())
    if opened.header.get("kind") == DESK:
        return import_at_hub(ws, path, opened)
    return import_at_desk(ws, path, opened)


def import_at_hub(ws: Workspace, path: Path, opened: Opened) -> Moved:
    """Take a desk's bundle in as the hub takes that desk's sync batches, in one transaction."""
    from prakerja_cli.central.contract import (
        MAX_BODY_BYTES,
        ApiError,
        ErrorCode,
        canonical_sha256,
        is_uuid,
        parse_batch,
        parse_json,
    )
    from prakerja_cli.hub import store

    header = opened.header
    desk = _check_header(ws, header, DESK)
    sender = store.desk_bundle_key(ws.db, desk)
    if sender is None:
        raise BundleError("error.bundle_sender_unknown", hint="hint.bundle_enrol", desk=desk)
    payload = opened.payload(sender)
    batches = payload.get("batches")
    if not isinstance(batches, list):
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
    moved = Moved(DESK, desk, str(path))
    today = date.today()
    try:
        with write(ws.db):
            for entry in batches:
                key = entry.get("key") if isinstance(entry, dict) else None
                body = entry.get("body") if isinstance(entry, dict) else None
                if not is_uuid(key) or not isinstance(body, str):
                    raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
                raw = body.encode("utf-8")
                if len(raw) > MAX_BODY_BYTES:
                    raise ApiError(413, ErrorCode.BATCH_TOO_LARGE, "a batch over the limit")
                document = parse_json(raw)
                batch = parse_batch(document)
                store.check_claims(batch, ws.office.office_code, desk)
                answer = store.submit(ws.db, ws.office, desk, key=key,
                                      body_sha256=canonical_sha256(document), batch=batch,
                                      today=today)  # fmt: skip
                moved.batches += 1
                moved.records += len(batch.items)
                for result in json.loads(answer)["results"]:
                    outcome = str(result["outcome"])
                    moved.outcomes[outcome] = moved.outcomes.get(outcome, 0) + 1
            audit.record(ws.db, ws.office, "bundle_import", None,
                         {"from": desk, "id": str(header.get("id")), "batches": moved.batches,
                          **moved.outcomes})  # fmt: skip
    except ApiError as exc:
        key = _REFUSALS.get(str(exc.code), "error.bundle_batch_invalid")
        raise BundleError(key, hint="hint.bundle_batch_refused", desk=desk) from None
    return moved


#: Why the hub's intake refused a batch of a desk's bundle (its HTTP status for the same batch).
_REFUSALS = {
    "FORBIDDEN": "error.bundle_batch_foreign",
    "IDEMPOTENCY_KEY_REUSED": "error.bundle_batch_key_reused",
}


# -- hub -> desk ---------------------------------------------------------------------------------


def export_for_desk(ws: Workspace, desk: str, out: Path, *, force: bool) -> Moved:
    """Write, for one desk, every answer the hub gave it and its whole feed of verdicts."""
    from prakerja_cli.hub import store

    desk = desk.strip().upper()
    receiver = store.desk_bundle_key(ws.db, desk)
    if receiver is None:
        raise BundleError("error.bundle_desk_no_key", hint="hint.bundle_enrol", desk=desk)
    me = keys.identity()
    path = _target(out, ws.office.desk, desk, force=force)
    answers = store.answers(ws.db, desk)
    events: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = store.feed(ws.db, desk, cursor, _FEED_PAGE)
        events += page["events"]
        if not page["events"]:
            break
        cursor = int(page["next_cursor"])
    payload = {"answers": answers, "events": events, "next_cursor": cursor}
    _write_file(path, seal(_header(ws, HUB, desk), payload, me, receiver), force=force)
    with write(ws.db):
        audit.record(ws.db, ws.office, "bundle_export", None,
                     {"to": desk, "answers": len(answers), "events": len(events)})  # fmt: skip
    return Moved(HUB, desk, str(path), answers=len(answers), events=len(events))


def import_at_desk(ws: Workspace, path: Path, opened: Opened) -> Moved:
    """Apply the hub's answers and feed events as a sync would, in one transaction."""
    from prakerja_cli.sync import outbox

    hub = trusted_hub(ws.db)
    if hub is None:
        raise BundleError("error.bundle_no_hub", hint="hint.bundle_no_hub")
    sender = _check_header(ws, opened.header, HUB)
    if sender != hub.desk:
        raise BundleError("error.bundle_sender_unknown", hint="hint.bundle_no_hub", desk=sender)
    payload = opened.payload(hub)
    answers, events = payload.get("answers"), payload.get("events")
    if not isinstance(answers, list) or not isinstance(events, list):
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
    moved = Moved(HUB, hub.desk, str(path))
    with write(ws.db):
        waiting = {batch.id: batch for batch in outbox.open_batches(ws.db)}
        for answer in answers:
            batch = waiting.pop(str(answer.get("key")), None) if isinstance(answer, dict) else None
            results = (answer.get("response") or {}).get("results") if batch else None
            if batch is None or not isinstance(results, list):
                continue  # answered before (this bundle again, an older one, or over the LAN)
            for name, count in outbox.apply_results(ws.db, batch, results).items():
                moved.outcomes[name] = moved.outcomes.get(name, 0) + count
            moved.answers += 1
        row = ws.db.execute("SELECT value FROM meta WHERE key = ?", [BUNDLE_CURSOR]).fetchone()
        cursor = int(row[0]) if row else 0
        fresh = [e for e in events if isinstance(e, dict) and _seq(e) > cursor]
        counts = outbox.apply_events(ws.db, _not_older(ws.db, fresh), None)
        moved.events = len(fresh)
        for name, count in counts.items():
            if count:
                moved.outcomes[name] = moved.outcomes.get(name, 0) + count
        last = max([cursor, *(_seq(e) for e in fresh)])
        ws.db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [BUNDLE_CURSOR, str(last)]
        )
        if moved.answers or moved.events:
            ws.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_sync', ?)", [now_iso()]
            )
        audit.record(ws.db, ws.office, "bundle_import", None,
                     {"from": hub.desk, "id": str(opened.header.get("id")),
                      "answers": moved.answers, "events": moved.events})  # fmt: skip
    return moved


# -- the file ------------------------------------------------------------------------------------


#: Central states that come after the central system's answer to a record (docs/central-api.md).
_FINAL = ("verified", "registry_rejected")


def _not_older(db: Database, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events without relayed answers to records already verified or refused by the registry.

    The bundle cursor covers what bundles brought, not what the same hub's feed brought over the
    LAN (its own cursor, another transport): a bundle written before a LAN sync may carry the
    central answer (`accepted`) to a record the LAN sync has since seen verified. An answer never
    comes after a verification, so such an event is old news and is not applied."""
    from prakerja_cli.sync.outbox import RELAYED

    relayed = [str(e.get("client_id")) for e in events if e.get("status") in RELAYED]
    if not relayed:
        return events
    final = {
        row[0]
        for row in db.execute(
            "SELECT applicants.id FROM json_each(?) AS wanted CROSS JOIN applicants "
            "ON applicants.id = wanted.value WHERE applicants.central_status IN (?, ?)",
            [json.dumps(relayed), *_FINAL],
        )
    }
    return [
        e for e in events if not (e.get("status") in RELAYED and str(e.get("client_id")) in final)
    ]


def _seq(event: dict[str, Any]) -> int:
    seq = event.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def _header(ws: Workspace, kind: str, to: str) -> dict[str, Any]:
    return {"kind": kind, "office_code": ws.office.office_code, "from": ws.office.desk, "to": to,
            "id": new_ids(1)[0], "created_at": now_iso()}  # fmt: skip


def _check_header(ws: Workspace, header: dict[str, Any], kind: str) -> str:
    """The sender's desk id, once the header says the bundle is of `kind` and for this PC."""
    sender, to = header.get("from"), header.get("to")
    if header.get("kind") != kind:
        raise BundleError("error.bundle_wrong_kind", hint="hint.bundle_wrong_kind",
                          kind=str(header.get("kind")))  # fmt: skip
    if header.get("office_code") != ws.office.office_code or to != ws.office.desk:
        raise BundleError("error.bundle_not_for_us", hint="hint.bundle_damaged",
                          to=f"{header.get('office_code')} {to}")  # fmt: skip
    if not isinstance(sender, str) or not sender:
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
    return sender


def _target(out: Path, sender: str, receiver: str, *, force: bool) -> Path:
    """`out`, or in the folder `out` a new name saying who sends to whom, and when."""
    from datetime import datetime

    if not out.is_dir():
        from prakerja_cli.roster.output import check_output

        check_output(out, (SUFFIX,), hint="hint.bundle_suffix", example=f"{sender}{SUFFIX}",
                     force=force)  # fmt: skip
        return out
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"{sender}-to-{receiver}-{stamp}{SUFFIX}"
    again = 1
    while path.exists():  # two in one second: a new name, never yesterday's file replaced
        again += 1
        path = out / f"{sender}-to-{receiver}-{stamp}-{again}{SUFFIX}"
    return path


def _write_file(path: Path, data: bytes, *, force: bool) -> None:
    from prakerja_cli.errors import check_new_file
    from prakerja_cli.roster.output import replacing

    check_new_file(path, force=force)
    with replacing(path) as tmp:
        tmp.write_bytes(data)


def _read(path: Path) -> bytes:
    check_input_file(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
    return path.read_bytes()
