"""The outbox: batches written (with their Idempotency-Key and exact body) before they are sent,
and the central system's answers applied to the records; the amendments an edit of a sent record
writes (sent by sync/amendments.py). The sync's SQL lives here and in sync/amendments.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prakerja_cli.central.contract import FIXED_FIELDS
from prakerja_cli.store import audit
from prakerja_cli.store.applicants import (
    OLDEST_FIRST,
    Office,
    new_ids,
    now_iso,
    update_applicant,
)
from prakerja_cli.store.db import write

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database

#: The record fields the central system receives (docs/central-api.md).
RECORD_FIELDS = (
    "registration_number", "nik", "kk", "name", "birth_place", "birth_date", "gender", "phone",
    "email", "address", "rt", "rw", "village", "district", "regency", "province", "education",
    "employment", "occupation", "in_school", "social_assistance", "priority", "training", "desk",
    "operator",
)  # fmt: skip
#: Records that should reach the central system and have not yet (a purged one never goes again).
UNSENT = "status IN ('valid', 'flagged') AND central_status IS NULL AND purged_at IS NULL"
#: The outcomes of a batch's records (docs/central-api.md).
OUTCOMES = ("accepted", "duplicate", "rejected", "conflict")
#: Central states of a registered record: the first registration stands there, whatever is sent
#: later under its client_id (`conflict`, docs/central-api.md).
REGISTERED = ("accepted", "verified", "registry_rejected", "conflict")
#: Central states of a record never registered: corrected content under its client_id is
#: processed as new, so an edit makes it unsent again.
NOT_REGISTERED = ("rejected", "duplicate")
#: The record fields an amendment may change (a registration's identity stays: FIXED_FIELDS).
AMENDABLE = tuple(name for name in RECORD_FIELDS if name not in FIXED_FIELDS)
#: The columns that make a record unsent again (a duplicate's central_id is another
#: registration's, a rejected record has none).
_UNSENT_AGAIN: dict[str, Any] = {"central_status": None, "central_reason": None, "central_id": None}


@dataclass(frozen=True, slots=True)
class Batch:
    id: str
    body: bytes
    records: int


def record_of(row: Mapping[str, Any]) -> dict[str, Any]:
    record = {name: row[name] for name in RECORD_FIELDS}
    record["in_school"] = bool(record["in_school"])
    record["social_assistance"] = bool(record["social_assistance"])
    record["registered_at"] = row["created_at"]
    return record


def content_hash(record: dict[str, Any]) -> str:
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CentralEdit:
    """What an edit of a record's content means for its central state."""

    #: Columns to write with the edit: the reset to unsent of a record never registered, or none.
    columns: dict[str, Any] = field(default_factory=dict)
    #: The central_id of a registration that keeps the content sent (the edit stays local): only
    #: a change of its identity (FIXED_FIELDS), which no amendment carries.
    central_unchanged: str | None = None
    #: The record the central system holds (or may: its batch is unanswered) is amended: the
    #: changed fields go as an amendment of its version (sync/amendments.py).
    amend: bool = False
    #: The amendment written with the edit (its amendment_id).
    amendment: str | None = None

    @property
    def resend(self) -> bool:
        return bool(self.columns)

    def audit_details(self) -> dict[str, Any]:
        """What the edit's audit entry says about it (ids, never values)."""
        if self.resend:
            return {"resend": True}
        if self.amendment is not None:
            return {"amendment": self.amendment}
        if self.central_unchanged is not None:
            return {"central_unchanged": self.central_unchanged}
        return {}


def central_edit(row: Mapping[str, Any], changes: Mapping[str, Any]) -> CentralEdit:
    """The central side of an edit of the stored `row` by `changes` (the one place for the rule).

    Only the content the central system receives counts (RECORD_FIELDS): a record it rejected or
    answered duplicate goes again, under the same client_id, with the next sync; one it registered
    (or may have: its batch went unanswered, `in_outbox`) is amended there, field by field, with
    the next sync. A change of its identity (the NIK) is not an amendment: it stays local and the
    clerk is told (desk edits refuse it before this: desk.edit). Content brought back to exactly
    what was sent changes nothing centrally.
    """
    before = record_of(row)
    after = record_of({**row, **changes})
    if after == before:
        return CentralEdit()
    state = row.get("central_status")
    if state in NOT_REGISTERED:
        if content_hash(after) == row.get("sent_hash"):
            return CentralEdit()
        return CentralEdit(dict(_UNSENT_AGAIN))
    if state in REGISTERED or (state is None and row.get("in_outbox")):
        if fixed_changed(before, after):
            return CentralEdit(central_unchanged=str(row.get("central_id") or "-"))
        if content_hash(after) == row.get("sent_hash"):
            return CentralEdit()  # what the central system holds already (see write_edit)
        return CentralEdit(amend=True)
    return CentralEdit()  # not sent yet: the edited content goes as it is


def fixed_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The fields of a registration's identity (FIXED_FIELDS) an edit changes."""
    return [name for name in FIXED_FIELDS if name in before and before[name] != after.get(name)]


def amended_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The amendable fields whose values (as the central system receives them) differ."""
    return {name: after[name] for name in AMENDABLE if before[name] != after[name]}


def write_edit(db: Database, applicant_id: str, changes: dict[str, Any]) -> CentralEdit:
    """Write an edit of a record's columns with its central side; call inside a write transaction.
    An edit of a record the central system holds writes its amendment in the same transaction."""
    row = _stored(db, applicant_id)
    central = central_edit(row, changes) if row is not None else CentralEdit()
    update_applicant(db, applicant_id, {**changes, **central.columns})
    if row is None:
        return central
    before, after = record_of(row), record_of({**row, **changes})
    if central == CentralEdit() and before != after and _unanswered_amendment(db, applicant_id):
        # Brought back to what the central system held, while a correction of it is still on
        # its way: the way back goes after it.
        central = CentralEdit(amend=True)
    if central.amend:
        amendment = queue_amendment(
            db, applicant_id, "amend", amended_fields(before, after), content_hash(after)
        )
        central = CentralEdit(amend=True, amendment=amendment)
    return central


def _unanswered_amendment(db: Database, applicant_id: str) -> bool:
    found = db.execute(
        "SELECT 1 FROM outbox_amendments WHERE applicant_id = ? AND outcome IS NULL LIMIT 1",
        [applicant_id],
    ).fetchone()
    return found is not None


def queue_amendment(
    db: Database,
    applicant_id: str,
    kind: str,
    changes: dict[str, Any],
    after_hash: str | None,
    *,
    amendment_id: str | None = None,
    base_version: int | None = None,
) -> str:
    """Write an amendment of a record to go with the next sync; call inside a write transaction.

    A correction while an earlier one of the record is still unsent (in no request) joins it:
    one amendment, the later values winning. `amendment_id` and `base_version` are given by an
    office hub forwarding a desk's amendment as the desk sent it (hub/store.py); otherwise the
    id is new and the version is the one the record has when the amendment is written into a
    request. Returns the amendment_id.
    """
    if kind == "amend" and amendment_id is None:
        waiting = db.execute(
            "SELECT id, changes FROM outbox_amendments WHERE applicant_id = ? AND kind = 'amend' "
            "AND request_id IS NULL AND base_version IS NULL ORDER BY created_at DESC, rowid DESC "
            "LIMIT 1",
            [applicant_id],
        ).fetchone()
        later = db.execute(
            "SELECT 1 FROM outbox_amendments WHERE applicant_id = ? AND request_id IS NULL "
            "AND kind = 'withdraw'",
            [applicant_id],
        ).fetchone()
        if waiting is not None and later is None:
            merged = {**json.loads(waiting[1]), **changes}
            db.execute(
                "UPDATE outbox_amendments SET changes = ?, content_hash = ? WHERE id = ?",
                [_dumps(merged), after_hash, waiting[0]],
            )
            return str(waiting[0])
    amendment_id = amendment_id or new_ids(1)[0]
    db.execute(
        "INSERT INTO outbox_amendments (id, applicant_id, kind, changes, content_hash, "
        "base_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [amendment_id, applicant_id, kind, _dumps(changes), after_hash, base_version, now_iso()],
    )
    return amendment_id


def queue_withdrawal(db: Database, applicant_id: str) -> str | None:
    """The amendment that withdraws a record centrally, when the central system holds it (or may:
    its batch is unanswered); None when it does not. Call inside a write transaction."""
    row = _stored(db, applicant_id)
    if row is None:
        return None
    state = row.get("central_status")
    if state in REGISTERED or (state is None and row.get("in_outbox")):
        return queue_amendment(db, applicant_id, "withdraw", {}, None)
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def went_central(db: Database, applicant_id: str) -> bool:
    """Has a record gone to the central system: answered, or written into a batch (sent, or to go
    again as written)?"""
    row = db.execute(
        "SELECT central_status IS NOT NULL OR EXISTS "
        "(SELECT 1 FROM outbox_items WHERE applicant_id = ?) FROM applicants WHERE id = ?",
        [applicant_id, applicant_id],
    ).fetchone()
    return bool(row and row[0])


def changed_since_sent(row: Mapping[str, Any]) -> bool:
    """Does a sent record's content differ from what the central system was sent?"""
    if row.get("central_status") is None or row.get("sent_hash") is None:
        return False
    return content_hash(record_of(row)) != str(row["sent_hash"])


_STORED = ", ".join(
    ("id", "created_at", *RECORD_FIELDS, "central_status", "central_id", "sent_hash",
     "EXISTS (SELECT 1 FROM outbox_items i WHERE i.applicant_id = applicants.id) AS in_outbox")
)  # fmt: skip


def _stored(db: Database, applicant_id: str) -> dict[str, Any] | None:
    """The columns of a stored record the sync compares."""
    cursor = db.execute(f"SELECT {_STORED} FROM applicants WHERE id = ?", [applicant_id])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def open_batches(db: Database) -> list[Batch]:
    """Batches written but not answered yet, oldest first: they go again with the same key."""
    rows = db.execute(
        "SELECT id, body, records FROM outbox_batches WHERE done_at IS NULL ORDER BY created_at, rowid"
    ).fetchall()
    return [Batch(row[0], bytes(row[1]), row[2]) for row in rows]


#: Not in a batch still open (written, not answered): such a record goes again with that batch.
_NOT_IN_OPEN_BATCH = (
    "NOT EXISTS (SELECT 1 FROM outbox_items i JOIN outbox_batches b ON b.id = i.batch_id "
    "WHERE i.applicant_id = applicants.id AND b.done_at IS NULL)"
)
_BATCH_COLUMNS = ", ".join(f"applicants.{name}" for name in ("id", "created_at", *RECORD_FIELDS))


def unsent_ids(db: Database) -> list[str]:
    """The ids of every unsent record not already in an open batch, oldest first: what this sync
    puts into new batches, one batch at a time (write_batch)."""
    return [
        row[0]
        for row in db.execute(
            f"SELECT id FROM applicants WHERE {UNSENT} AND {_NOT_IN_OPEN_BATCH} "
            f"ORDER BY {OLDEST_FIRST}"
        ).fetchall()
    ]


def write_batch(db: Database, office_code: str, ids: list[str]) -> Batch | None:
    """Write the records `ids` (in that order) that are still unsent and in no open batch into one
    new batch, reading their content in the transaction that writes it; None when none is left."""
    with write(db):
        # CROSS JOIN keeps the ids outside: each is looked up by its key, in the order given (an
        # index on the unsent condition would walk every unsent record for each batch).
        cursor = db.execute(
            f"SELECT {_BATCH_COLUMNS} FROM json_each(?) AS wanted CROSS JOIN applicants "
            f"ON applicants.id = wanted.value WHERE {UNSENT} AND {_NOT_IN_OPEN_BATCH} "
            "ORDER BY wanted.key",
            [json.dumps(ids)],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        return _write_batch(db, office_code, rows) if rows else None


def make_batches(db: Database, office_code: str, size: int) -> list[Batch]:
    """Put every unsent record not already in an open batch into new batches of `size`."""
    ids = unsent_ids(db)
    batches = []
    for start in range(0, len(ids), size):
        batch = write_batch(db, office_code, ids[start : start + size])
        if batch is not None:
            batches.append(batch)
    return batches


def _write_batch(db: Database, office_code: str, rows: list[dict[str, Any]]) -> Batch:
    items = []
    for row in rows:
        record = record_of(row)
        items.append(
            {"client_id": row["id"], "content_hash": content_hash(record), "record": record}
        )
    return _insert_batch(db, {"office_code": office_code}, items)


def _insert_batch(db: Database, envelope: dict[str, Any], items: list[dict[str, Any]]) -> Batch:
    """Write a batch (its key and exact body) and its items; call inside a write transaction."""
    body = json.dumps(
        {**envelope, "records": items}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    batch = Batch(new_ids(1)[0], body, len(items))  # time-ordered: the server's key index too
    db.execute(
        "INSERT INTO outbox_batches (id, body, records, created_at) VALUES (?, ?, ?, ?)",
        [batch.id, batch.body, batch.records, now_iso()],
    )
    db.conn.executemany(
        "INSERT INTO outbox_items (batch_id, applicant_id, content_hash) VALUES (?, ?, ?)",
        [(batch.id, i["client_id"], i["content_hash"]) for i in items],
    )
    return batch


def split_batch(db: Database, batch: Batch) -> list[Batch]:
    """Replace a batch the server refused as it is (413 too large, 400 or 422: nothing in it was
    processed) by two."""
    data = json.loads(batch.body)
    records = data["records"]
    half = max(1, len(records) // 2)
    with write(db):
        db.execute("DELETE FROM outbox_batches WHERE id = ?", [batch.id])
        envelope = {k: v for k, v in data.items() if k != "records"}
        parts = [
            _insert_batch(db, envelope, chunk)
            for chunk in (records[:half], records[half:])
            if chunk
        ]
    return parts


def drop_batch(db: Database, batch: Batch) -> str:
    """Delete a one-record batch the server refused as it is (a 4xx: nothing in it was
    processed, docs/central-api.md): resent, it would be refused again, ahead of every other
    record, at every sync. Its record is unsent again and goes in a later sync, in a new batch
    under a new key (the same client_id and content: harmless by contract). Returns its
    registration number."""
    record = json.loads(batch.body)["records"][0]["record"]
    with write(db):
        db.execute("DELETE FROM outbox_batches WHERE id = ?", [batch.id])  # its items cascade
    return str(record.get("registration_number"))


def note_attempt(db: Database, batch: Batch, error: str | None) -> None:
    with write(db):
        db.execute(
            "UPDATE outbox_batches SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            [error, batch.id],
        )


def apply_results(
    db: Database,
    batch: Batch,
    results: list[dict[str, Any]],
    warned: list[dict[str, str]] | None = None,
) -> dict[str, int]:
    """Record each record's outcome and close the batch, in one transaction.

    A record refused as sent (rejected, duplicate) but edited since its batch was written is not
    parked: it is unsent again, and its corrected content goes with the next sync (`requeued`).
    The updates go to SQLite as one executemany each, in the answer's order.

    An office hub's warning on an accepted record (`POSSIBLE_DUPLICATE` of another desk's record,
    docs/office.md) is kept with the record's findings (`possible_duplicate`), and told in
    `warned` (registration number, the other's, its desk).
    """
    counts = dict.fromkeys((*OUTCOMES, "requeued", "possible_duplicate"), 0)
    flagged: list[tuple[str, dict[str, Any]]] = []
    stamp = now_iso()
    outcomes: list[tuple[Any, ...]] = []
    requeued: list[tuple[Any, ...]] = []
    with write(db):
        hashes = dict(
            db.execute(
                "SELECT applicant_id, content_hash FROM outbox_items WHERE batch_id = ?", [batch.id]
            ).fetchall()
        )
        for result in results:
            client_id = result.get("client_id")
            outcome = result.get("outcome")
            if client_id not in hashes or outcome not in OUTCOMES:
                continue  # the contract promises neither; ignore rather than guess
            if outcome in NOT_REGISTERED and _edited_since(db, str(client_id), hashes[client_id]):
                requeued.append((*_UNSENT_AGAIN.values(), hashes[client_id], stamp, client_id))
                counts["requeued"] += 1
                continue
            counts[outcome] += 1
            reason = result.get("reason")
            if outcome == "duplicate":
                by = result.get("registered_by") or {}
                reason = f"{by.get('office_code', '?')} {by.get('registration_number', '?')}"
            outcomes.append(
                (outcome, result.get("central_id"), reason, hashes[client_id], stamp, client_id)
            )
            if outcome == "accepted" and (finding := hub_warning(result.get("warnings"))):
                flagged.append((str(client_id), finding))
        reset = "".join(f"{name} = ?, " for name in _UNSENT_AGAIN)
        db.conn.executemany(
            f"UPDATE applicants SET {reset}sent_hash = ?, synced_at = ? WHERE id = ?", requeued
        )
        db.conn.executemany(
            "UPDATE applicants SET central_status = ?, central_id = ?, central_reason = ?, "
            "sent_hash = ?, synced_at = ? WHERE id = ?",
            outcomes,
        )
        for client_id, finding in flagged:
            if _add_finding(db, client_id, finding):
                counts["possible_duplicate"] += 1
                if warned is not None:
                    warned.append(_warned(db, client_id, finding))
        db.execute("UPDATE outbox_batches SET done_at = ? WHERE id = ?", [stamp, batch.id])
    return counts


_NUMBER = re.compile(r"[0-9]{4}-[A-Z0-9]{1,8}-[0-9]{6,}")


def hub_warning(warnings: Any) -> dict[str, Any] | None:
    """An office hub's POSSIBLE_DUPLICATE warning on a result, as a stored finding (the `hub`
    wording: another desk's registration number and desk, what the two share); None when there is
    none or it is not what the hub sends (the desk trusts no more of an answer than it checks)."""
    if not isinstance(warnings, list):
        return None
    for warning in warnings:
        if not isinstance(warning, dict) or warning.get("code") != "POSSIBLE_DUPLICATE":
            continue
        number, desk, same = (warning.get(k) for k in ("registration_number", "desk", "same"))
        if (
            isinstance(number, str)
            and _NUMBER.fullmatch(number)
            and desk == number.split("-")[1]
            and same in ("district", "kk")
        ):
            params = {"registration_number": number, "desk": desk, "same": same, "variant": "hub"}
            return {"field": "nik", "code": "POSSIBLE_DUPLICATE", "severity": "warning",
                    "params": params}  # fmt: skip
    return None


def _add_finding(db: Database, applicant_id: str, finding: dict[str, Any]) -> bool:
    """Keep `finding` with a record's findings unless it holds it already. The status stays: a
    hub's warning after the record left the desk is the office's word, like a central answer,
    not the desk's validation (and the audit trail covers the status)."""
    row = db.execute("SELECT findings FROM applicants WHERE id = ?", [applicant_id]).fetchone()
    if row is None:
        return False
    held = json.loads(row[0] or "[]")
    if finding in held:
        return False
    db.execute(
        "UPDATE applicants SET findings = ? WHERE id = ?",
        [json.dumps([*held, finding], ensure_ascii=False), applicant_id],
    )
    return True


def _warned(db: Database, applicant_id: str, finding: dict[str, Any]) -> dict[str, str]:
    row = db.execute(
        "SELECT registration_number FROM applicants WHERE id = ?", [applicant_id]
    ).fetchone()
    params = finding["params"]
    return {"registration_number": str(row[0]), "other": params["registration_number"],
            "desk": params["desk"]}  # fmt: skip


def _edited_since(db: Database, applicant_id: str, sent_hash: str) -> bool:
    """Does the stored record's content differ from the content hash its batch sent?"""
    row = _stored(db, applicant_id)
    return row is not None and content_hash(record_of(row)) != sent_hash


#: One record's status-feed events of a page, folded into one UPDATE: the wave if one was
#: assigned, the last verification outcome if one came (as applying them one by one would leave it).
_APPLY_EVENT = (
    "UPDATE applicants SET "
    "central_wave = CASE WHEN :has_wave THEN :wave ELSE central_wave END, "
    "central_status = CASE WHEN :has_status THEN :status ELSE central_status END, "
    "central_reason = CASE WHEN :has_status THEN :reason ELSE central_reason END, "
    # verified_at: when this office learned it (what `purge --verified-before` reads).
    "verified_at = CASE WHEN NOT :has_status THEN verified_at "
    "WHEN :status = 'verified' THEN coalesce(verified_at, :stamp) END, "
    "synced_at = :stamp WHERE id = :id"
)


def apply_events(
    db: Database, events: list[dict[str, Any]], cursor: int | None, source: str | None = None
) -> dict[str, int]:
    """Apply status-feed events (verified, registry_rejected, wave_assigned, and an office hub's
    relayed verdicts) and keep the cursor (None: a USB bundle's events, which keep their own, and
    leave the network feed's where it stands).

    A page's events are folded per record (its `verified` and `wave_assigned` become one update)
    and written with one executemany; the counts are of events for records in this store.
    """
    counts = {"verified": 0, "registry_rejected": 0, "wave_assigned": 0, "relayed": 0}
    relayed: list[dict[str, Any]] = []
    stamp = now_iso()
    folded: dict[str, dict[str, Any]] = {}
    kinds: list[tuple[str, str]] = []
    for event in events:
        status = event.get("status")
        client_id = event.get("client_id")
        if (status in RELAYED or status in AMEND_RELAYED) and isinstance(client_id, str):
            relayed.append(event)
            continue
        if status not in counts or status == "relayed" or not isinstance(client_id, str):
            continue
        change = folded.setdefault(client_id, {"id": client_id, "stamp": stamp, "has_wave": False,
                                               "wave": None, "has_status": False, "status": None,
                                               "reason": None})  # fmt: skip
        if status == "wave_assigned":
            change.update(has_wave=True, wave=event.get("wave"))
        else:
            change.update(has_status=True, status=status, reason=event.get("reason"))
            if event.get("wave") is not None:  # an office hub's feed may carry both at once
                change.update(has_wave=True, wave=event.get("wave"))
        kinds.append((str(status), client_id))
    with write(db):
        # The feed is the office's: records of the office's other desks are not in this store.
        here = {
            row[0]
            for row in db.execute(
                "SELECT applicants.id FROM json_each(?) AS wanted CROSS JOIN applicants "
                "ON applicants.id = wanted.value",
                [json.dumps(list(folded))],
            )
        }
        # An office hub's verdicts first, one at a time (a few per sync): a record's answer
        # (accepted) comes before its verification, which may be on the same page.
        for event in relayed:
            apply = _apply_amend_relayed if event["status"] in AMEND_RELAYED else _apply_relayed
            counts["relayed"] += apply(db, event, stamp).rowcount
        db.conn.executemany(_APPLY_EVENT, [change for i, change in folded.items() if i in here])
        for status, client_id in kinds:
            counts[status] += client_id in here
        if cursor is not None:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('status_cursor', ?)",
                [str(cursor)],
            )
        if source is not None:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('status_source', ?)", [source]
            )
    return counts


#: A batch's outcomes that an office hub relays later through its status feed (hub/): the
#: central system's answer to a record the hub held and forwarded (docs/office.md).
RELAYED = OUTCOMES


def _apply_relayed(db: Database, event: dict[str, Any], stamp: str) -> Any:
    """The central answer to a record this desk sent through the office hub."""
    return db.execute(
        "UPDATE applicants SET central_status = ?, central_id = ?, central_reason = ?, "
        "synced_at = ? WHERE id = ?",
        [event.get("status"), event.get("central_id"), event.get("reason"), stamp,
         event.get("client_id")],
    )  # fmt: skip


#: What an office hub relays of a desk's amendment that it answered `applied` and the central
#: system then refused: a conflict (another correction came first) or a rejection.
AMEND_RELAYED = ("amendment_conflict", "amendment_rejected")


def _apply_amend_relayed(db: Database, event: dict[str, Any], stamp: str) -> Any:
    """The central answer to an amendment this desk sent through the office hub, when it was not
    `applied`: the amendment says so, and the record takes the version the answer names (the
    next correction amends that one)."""
    version = event.get("version")
    version = version if isinstance(version, int) and not isinstance(version, bool) else None
    done = db.execute(
        "UPDATE outbox_amendments SET outcome = ?, reason = ?, version = coalesce(?, version), "
        "answered_at = ? WHERE id = ? AND applicant_id = ?",
        [str(event["status"]).removeprefix("amendment_"), event.get("reason"), version, stamp,
         event.get("amendment_id"), event.get("client_id")],
    )  # fmt: skip
    if done.rowcount and version is not None:
        db.execute(
            "UPDATE applicants SET central_version = max(coalesce(central_version, 1), ?) "
            "WHERE id = ?",
            [version, event.get("client_id")],
        )
    return done


def status_cursor(db: Database, source: str | None = None) -> int:
    """Where this desk's status feed stands. A cursor is one feed's: a desk moved between an
    office hub and the central system (docs/office.md) starts the other feed from 0 (its events
    are idempotent), never from a cursor of the feed it left. A store from before the source was
    kept adopts its cursor for the source it syncs with next."""
    found = dict(
        db.execute(
            "SELECT key, value FROM meta WHERE key IN ('status_cursor', 'status_source')"
        ).fetchall()
    )
    if "status_cursor" not in found:
        return 0
    if source is not None and found.get("status_source", source) != source:
        return 0
    return int(found["status_cursor"])


def mark_synced(db: Database, office: Office, summary: dict[str, Any]) -> None:
    with write(db):
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_sync', ?)", [now_iso()])
        audit.record(db, office, "sync", None, summary)


def sync_counts(db: Database) -> dict[str, Any]:
    """Counts per central state, the last successful sync, and the oldest pending record."""
    states = dict(
        db.execute(
            "SELECT coalesce(central_status, 'pending'), count(*) FROM applicants "
            "WHERE status != 'withdrawn' GROUP BY 1"
        ).fetchall()
    )
    # The (central_status, created_at) index gives unsent records oldest first: the first that is
    # also live and not purged ends the search (min() would read every pending one).
    first = db.execute(
        f"SELECT created_at FROM applicants WHERE {UNSENT} ORDER BY created_at LIMIT 1"
    ).fetchone()
    oldest = first[0] if first else None
    last = db.execute("SELECT value FROM meta WHERE key = 'last_sync'").fetchone()
    in_flight = db.execute("SELECT count(*) FROM outbox_batches WHERE done_at IS NULL").fetchone()[
        0
    ]
    # Corrections after sync (sync/amendments.py): not answered yet, and met a conflict.
    pending, conflicts = db.execute(
        "SELECT count(*) FILTER (WHERE outcome IS NULL), "
        "count(*) FILTER (WHERE outcome = 'conflict') FROM outbox_amendments"
    ).fetchone()
    return {"states": states, "oldest_pending": oldest, "last_sync": last[0] if last else None,
            "open_batches": in_flight,
            "amendments": {"pending": int(pending or 0), "conflict": int(conflicts or 0)}}  # fmt: skip
