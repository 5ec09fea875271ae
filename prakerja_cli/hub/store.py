"""The office hub's store: the hub's own workspace database (store/), which also holds every
record the office's desks sent it, under the desk's own id, desk, operator and registration number.

So the hub's `prakerja sync` forwards them upstream exactly as a desk would (sync/outbox.py: the
same client_id and content_hash, so the central system never registers one twice, whichever way
it reaches it), and the central answers it writes on them go back to their desk through
`hub_feed` (a trigger of migration m011). A desk's corrections after sync (amendments) are
answered against the hub's copy and queued upstream under the desk's own amendment id and
version (`amend`).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from prakerja_cli.bundle.keys import PublicKey, parse_public
from prakerja_cli.central.contract import (
    AmendKind,
    Amendment,
    AmendmentBatch,
    AmendOutcome,
    AmendReason,
    ApiError,
    Batch,
    ConflictReason,
    ErrorCode,
    Item,
    Outcome,
    RejectReason,
    check_amendment,
    check_record,
    record_birth_date,
)
from prakerja_cli.errors import UsageError
from prakerja_cli.store import audit
from prakerja_cli.store.applicants import (
    Office,
    derived,
    insert_rows,
    now_iso,
    similar_records,
    update_applicant,
)
from prakerja_cli.store.db import write
from prakerja_cli.store.engine import dbapi
from prakerja_cli.sync.outbox import (
    AMENDABLE,
    RECORD_FIELDS,
    content_hash,
    queue_amendment,
    record_of,
)

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database

_DESK = re.compile(r"[A-Z0-9]{1,8}")
#: Columns the desk store requires that the contract leaves optional: a record without one is not
#: a desk's record (every desk stores them), so the hub refuses it rather than store it half.
_REQUIRED_HERE = ("address", "village", "district", "regency", "province", "phone", "education",
                  "employment", "registered_at")  # fmt: skip


def token_digest(token: str) -> str:
    """Tokens are 256 random bits: a plain SHA-256 keeps them unguessable from a stolen store."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class Desk:
    desk: str
    enrolled_at: str
    revoked_at: str | None


def enrol(db: Database, office: Office, desk: str, bundle_key: PublicKey | None = None) -> str:
    """Enrol `desk`; returns its token (shown once, stored only hashed). A desk id already
    enrolled, or the hub's own, is refused: registration numbers stay unique office-wide. With
    `bundle_key` (the desk's public key file, prakerja_cli/bundle/), the desk exchanges USB
    bundles with the hub too."""
    desk = desk.strip().upper()
    if not _DESK.fullmatch(desk):
        raise UsageError("error.hub_desk_id", hint="hint.hub_desk_id", desk=desk)
    if desk == office.desk:
        raise UsageError("error.hub_own_desk", hint="hint.hub_desk_taken", desk=desk)
    if bundle_key is not None and (bundle_key.office_code, bundle_key.desk) != (
        office.office_code,
        desk,
    ):
        raise UsageError(
            "error.bundle_key_other_desk", hint="hint.bundle_key_other_desk", desk=desk,
            key_desk=f"{bundle_key.office_code} {bundle_key.desk}",
        )  # fmt: skip
    token = f"{desk}.{secrets.token_urlsafe(32)}"
    with write(db):
        row = db.execute("SELECT revoked_at FROM hub_desks WHERE desk = ?", [desk]).fetchone()
        if row is not None and row[0] is None:
            raise UsageError("error.hub_desk_taken", hint="hint.hub_desk_taken", desk=desk)
        db.execute(
            "INSERT OR REPLACE INTO hub_desks (desk, token_sha256, enrolled_at, revoked_at, "
            "bundle_key) VALUES (?, ?, ?, NULL, ?)",
            [desk, token_digest(token), now_iso(), bundle_key.text() if bundle_key else None],
        )
        details = {"desk": desk}
        if bundle_key is not None:
            details["bundle_key"] = bundle_key.fingerprint
        audit.record(db, office, "hub_enrol", None, details)
    return token


def revoke(db: Database, office: Office, desk: str) -> None:
    desk = desk.strip().upper()
    with write(db):
        done = db.execute(
            "UPDATE hub_desks SET revoked_at = ? WHERE desk = ? AND revoked_at IS NULL",
            [now_iso(), desk],
        )
        if done.rowcount == 0:
            raise UsageError("error.hub_desk_unknown", hint="hint.hub_desks", desk=desk)
        audit.record(db, office, "hub_revoke", None, {"desk": desk})


def desks(db: Database) -> list[dict[str, Any]]:
    """Enrolled desks with what the hub holds of each: records, and their central states; how
    many it answered `duplicate` and how many it warned of as possible duplicates."""
    out = []
    for desk, enrolled, revoked, bundle_key in db.execute(
        "SELECT desk, enrolled_at, revoked_at, bundle_key FROM hub_desks ORDER BY desk"
    ).fetchall():
        states = dict(
            db.execute(
                "SELECT coalesce(a.central_status, 'pending'), count(*) FROM hub_records h "
                "JOIN applicants a ON a.id = h.client_id WHERE h.desk = ? GROUP BY 1",
                [desk],
            ).fetchall()
        )
        duplicates, possible = db.execute(
            "SELECT count(*) FILTER (WHERE result LIKE ?), count(*) FILTER (WHERE result LIKE ?) "
            "FROM hub_results WHERE desk = ?",
            ['%"outcome":"duplicate"%', '%"code":"POSSIBLE_DUPLICATE"%', desk],
        ).fetchone()
        out.append({"desk": desk, "enrolled_at": enrolled, "revoked_at": revoked,
                    "records": sum(states.values()), "states": states,
                    "duplicates": int(duplicates),
                    "possible_duplicates": int(possible),
                    "bundle_fingerprint": parse_public(bundle_key).fingerprint if bundle_key
                    else None})  # fmt: skip
    return out


def desk_of_token(db: Database, token: str) -> str | None:
    """The enrolled, unrevoked desk a bearer token belongs to, or None."""
    row = db.execute(
        "SELECT desk FROM hub_desks WHERE token_sha256 = ? AND revoked_at IS NULL",
        [token_digest(token)],
    ).fetchone()
    return str(row[0]) if row else None


def desk_bundle_key(db: Database, desk: str) -> PublicKey | None:
    """The enrolled, unrevoked desk's public bundle key, or None (none given, or revoked)."""
    row = db.execute(
        "SELECT bundle_key FROM hub_desks WHERE desk = ? AND revoked_at IS NULL", [desk]
    ).fetchone()
    return parse_public(str(row[0])) if row and row[0] else None


def answers(db: Database, desk: str) -> list[dict[str, Any]]:
    """Every batch answer the hub gave `desk`, by Idempotency-Key, oldest first: a return bundle
    carries them all, so that one lost on the way is carried by the next."""
    return [
        {"key": key, "response": json.loads(response)}
        for key, response in db.execute(
            "SELECT key, response FROM hub_keys WHERE desk = ? ORDER BY created_at, key", [desk]
        )
    ]


def check_claims(batch: Batch, office_code: str, desk: str) -> None:
    """A desk sends only its own records: the office's, its desk id in the record and in the
    registration number. Anything else refuses the whole batch (403), nothing processed."""
    if batch.office_code != office_code:
        raise ApiError(403, ErrorCode.FORBIDDEN, f"this hub is office {office_code}")
    prefix = f"{office_code}-{desk}-"
    for index, item in enumerate(batch.items):
        number = item.record.get("registration_number")
        if item.record.get("desk") != desk or not (
            isinstance(number, str) and number.startswith(prefix)
        ):
            raise ApiError(
                403,
                ErrorCode.FORBIDDEN,
                f"records[{index}] is not desk {desk}'s: a desk sends only its own registrations",
            )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def submit(
    db: Database,
    office: Office,
    desk: str,
    *,
    key: str,
    body_sha256: str,
    batch: Batch,
    today: date,
) -> bytes:
    """Take a desk's batch in one transaction, or replay the answer given to its key before.

    Answers as the central system does (docs/central-api.md), office-wide: `accepted` (held by the
    hub, on its way upstream: no central_id yet), `duplicate` naming the registration number that
    holds the NIK in this office, `rejected` by the contract's own checks, `conflict`.
    """
    with write(db):
        replayed = _replayed(db, desk, key, body_sha256)
        if replayed is not None:
            return replayed
        stamp = now_iso()
        taken: list[str] = []
        results = [_result(db, office, desk, item, today, stamp, taken) for item in batch.items]
        response = _dumps({"batch_id": key, "results": results})
        # The entry commits to the records stored, as an import's does: `audit verify` on the hub
        # vouches for them.
        _keep_answer(db, office, desk, (key, body_sha256, stamp, response), results,
                     ("hub_receive", "batch"), taken)  # fmt: skip
    return response.encode("utf-8")


def _keep_answer(
    db: Database,
    office: Office,
    desk: str,
    request: tuple[str, str, str, str],
    results: list[dict[str, Any]],
    action: tuple[str, str],
    touched: list[str],
) -> None:
    """Keep a keyed request's answer (replayed for a resend) and audit it with its outcomes
    counted. `request`: key, body hash, time, answer; `action`: the audit action and the name
    the key goes under in its entry."""
    key, body_sha256, stamp, response = request
    db.execute(
        "INSERT INTO hub_keys (key, desk, body_sha256, response, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [key, desk, body_sha256, response, stamp],
    )
    counts: dict[str, int] = {}
    for result in results:
        counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
    audit.record(db, office, action[0], None, {"desk": desk, action[1]: key, **counts},
                 touched=touched)  # fmt: skip


def _replayed(db: Database, desk: str, key: str, body_sha256: str) -> bytes | None:
    """The stored answer to a request under `key` with the same body; 422 for another body."""
    row = db.execute(
        "SELECT desk, body_sha256, response FROM hub_keys WHERE key = ?", [key]
    ).fetchone()
    if row is None:
        return None
    if row[0] == desk and row[1] == body_sha256:
        return str(row[2]).encode("utf-8")
    raise ApiError(
        422,
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "this Idempotency-Key was used before with another body; use a new key for a new request",
    )


def amend(
    db: Database,
    office: Office,
    desk: str,
    *,
    key: str,
    body_sha256: str,
    batch: AmendmentBatch,
    today: date,
) -> bytes:
    """Take a desk's amendments in one transaction, or replay the answer given to its key before.

    Answered as the central system answers them (docs/central-api.md, Amendments), against the
    hub's copy of the desk's record and its version: `applied` amends the copy and queues the
    amendment upstream under the desk's amendment_id and base version, so the central system's
    versions stay the hub's; the hub's own sync forwards it once the record is registered there,
    and a conflict or rejection met upstream goes back to the desk through its feed.
    """
    if batch.office_code != office.office_code:
        raise ApiError(403, ErrorCode.FORBIDDEN, f"this hub is office {office.office_code}")
    with write(db):
        replayed = _replayed(db, desk, key, body_sha256)
        if replayed is not None:
            return replayed
        stamp = now_iso()
        decided: dict[str, dict[str, Any]] = {}
        results = []
        touched: list[str] = []
        for item in batch.items:
            result = decided.get(item.amendment_id)
            if result is None:
                first = db.execute(
                    "SELECT result FROM hub_amendments WHERE amendment_id = ?", [item.amendment_id]
                ).fetchone()
                if first is not None:
                    result = dict(json.loads(first[0]))
                else:
                    result = _amend_one(db, office, desk, item, today, stamp)
                    if result["outcome"] == AmendOutcome.APPLIED:
                        touched.append(item.client_id)
                    db.execute(
                        "INSERT INTO hub_amendments (amendment_id, desk, client_id, result) "
                        "VALUES (?, ?, ?, ?)",
                        [item.amendment_id, desk, item.client_id, _dumps(result)],
                    )
                decided[item.amendment_id] = result
            results.append(result)
        response = _dumps({"request_id": key, "results": results})
        _keep_answer(db, office, desk, (key, body_sha256, stamp, response), results,
                     ("hub_amend", "request"), touched)  # fmt: skip
    return response.encode("utf-8")


def _amend_one(
    db: Database, office: Office, desk: str, item: Amendment, today: date, stamp: str
) -> dict[str, Any]:
    cursor = db.execute(
        "SELECT a.* FROM hub_records h JOIN applicants a ON a.id = h.client_id "
        "WHERE h.client_id = ? AND h.desk = ?",
        [item.client_id, desk],
    )
    found = cursor.fetchone()
    head: dict[str, Any] = {"amendment_id": item.amendment_id, "client_id": item.client_id}
    if found is None:
        return {**head, "outcome": str(AmendOutcome.REJECTED),
                "reason": str(AmendReason.NOT_REGISTERED)}  # fmt: skip
    row = dict(zip([d[0] for d in cursor.description], found, strict=True))
    version = int(row["central_version"] or 1)
    head.update(central_id=row["central_id"], version=version)
    if row["status"] == "withdrawn":
        return {**head, "outcome": str(AmendOutcome.REJECTED),
                "reason": str(AmendReason.WITHDRAWN)}  # fmt: skip
    if item.base_version != version:
        return {**head, "outcome": str(AmendOutcome.CONFLICT),
                "reason": str(AmendReason.VERSION_STALE)}  # fmt: skip
    reason, amended = check_amendment(record_of(row), item, office.office_code, today)
    changes = {name: amended[name] for name in AMENDABLE if name in item.changes}
    if reason is None and any(changes.get(n, "") is None for n in _REQUIRED_HERE):
        reason = str(RejectReason.FIELD_INVALID)
    if reason is not None:
        return {**head, "outcome": str(AmendOutcome.REJECTED), "reason": reason}
    columns: dict[str, Any] = {"central_version": version + 1}
    if item.kind == AmendKind.WITHDRAW:
        columns.update(status="withdrawn", withdrawn_at=stamp, withdrawn_reason=f"desk {desk}")
    else:
        for name in ("in_school", "social_assistance"):
            if name in changes:
                changes[name] = int(bool(changes[name]))
        if "priority" in changes:
            changes["priority"] = changes["priority"] or "normal"
        columns.update(changes)
    update_applicant(db, item.client_id, columns)
    after = None
    if item.kind == AmendKind.AMEND:
        after = content_hash(record_of({**row, **columns}))
    queue_amendment(db, item.client_id, str(item.kind), dict(item.changes), after,
                    amendment_id=item.amendment_id, base_version=item.base_version)  # fmt: skip
    return {**head, "outcome": str(AmendOutcome.APPLIED), "version": version + 1}


def _result(
    db: Database,
    office: Office,
    desk: str,
    item: Item,
    today: date,
    stamp: str,
    taken: list[str],
) -> dict[str, Any]:
    first = db.execute(
        "SELECT result FROM hub_results WHERE client_id = ? AND content_hash = ?",
        [item.client_id, item.content_hash],
    ).fetchone()
    if first is not None:
        return dict(json.loads(first[0]))
    result = _decide(db, office, desk, item, today, stamp)
    if result["outcome"] == Outcome.ACCEPTED:
        taken.append(item.client_id)
    db.execute(
        "INSERT INTO hub_results (client_id, content_hash, desk, result) VALUES (?, ?, ?, ?)",
        [item.client_id, item.content_hash, desk, _dumps(result)],
    )
    return result


def _decide(
    db: Database, office: Office, desk: str, item: Item, today: date, stamp: str
) -> dict[str, Any]:
    cid = item.client_id
    record = item.record
    held = db.execute(
        "SELECT a.central_id FROM hub_records h JOIN applicants a ON a.id = h.client_id "
        "WHERE h.client_id = ?",
        [cid],
    ).fetchone()
    if held is not None:
        return {"client_id": cid, "outcome": str(Outcome.CONFLICT),
                "reason": str(ConflictReason.CONTENT_CHANGED), "central_id": held[0]}  # fmt: skip
    reason = check_record(record, office.office_code, today)
    if reason is None and any(record.get(name) is None for name in _REQUIRED_HERE):
        reason = RejectReason.FIELD_INVALID
    if reason is not None:
        return {"client_id": cid, "outcome": str(Outcome.REJECTED), "reason": str(reason)}
    holder = db.execute(
        "SELECT registration_number, central_id FROM applicants "
        "WHERE nik = ? AND status != 'withdrawn'",
        [record["nik"]],
    ).fetchone()
    if holder is not None:
        return {"client_id": cid, "outcome": str(Outcome.DUPLICATE), "central_id": holder[1],
                "registered_by": {"office_code": office.office_code,
                                  "registration_number": holder[0]}}  # fmt: skip
    warning = near_duplicate(db, office.office_code, desk, record, cid)
    row = _row(record, cid, office, stamp)
    if warning is not None:
        row["findings"] = _dumps([stored_finding(warning)])
    # The hub forwards what it stores: it must hash as the desk hashed it, or the central system
    # would see other content under the desk's client_id (a desk moved to direct sync: conflict).
    if content_hash(record_of(row)) != item.content_hash:
        return {"client_id": cid, "outcome": str(Outcome.REJECTED),
                "reason": str(RejectReason.FIELD_INVALID)}  # fmt: skip
    try:
        insert_rows(db, [row])
    except dbapi.IntegrityError:
        # Another record holds its registration number: the desk numbered twice (a store set up
        # again from an old backup); the central system would refuse it in the same way.
        return {"client_id": cid, "outcome": str(Outcome.REJECTED),
                "reason": str(RejectReason.FIELD_INVALID)}  # fmt: skip
    db.execute(
        "INSERT INTO hub_records (client_id, desk, received_at) VALUES (?, ?, ?)",
        [cid, desk, stamp],
    )
    result: dict[str, Any] = {
        "client_id": cid,
        "outcome": str(Outcome.ACCEPTED),
        "central_id": None,
    }
    if warning is not None:
        result["warnings"] = [warning]
    return result


def near_duplicate(
    db: Database, office_code: str, desk: str, record: dict[str, Any], cid: str
) -> dict[str, Any] | None:
    """POSSIBLE_DUPLICATE office-wide (core/similar.py): the most similar live record of another
    desk (or the hub's own) born the same day, in the same kecamatan or with the same KK, under
    another NIK, with a similar name. Candidates come from the store's two indexes (a few rows),
    never a scan.

    A warning for the desk, never a refusal: the central system decides. It names the other
    record's registration number, desk and what the two share, not its name or NIK: those stay
    on the hub (the supervisor's `applicants show`)."""
    from prakerja_cli.core.similar import possible_duplicate

    born = record_birth_date(record)
    if born is None or not record.get("name"):
        return None
    district, kk = record.get("district"), record.get("kk")
    mine = f"{office_code}-{desk}-"
    candidates = [
        other
        for other in similar_records(db, born.isoformat(), district, kk, exclude_id=cid)
        if other.registration_number and not other.registration_number.startswith(mine)
    ]
    if not candidates:
        return None
    values = {"birth_date": born, "name": record["name"], "district": district, "kk": kk,
              "nik": record.get("nik")}  # fmt: skip
    found = possible_duplicate(values, candidates)
    if not found:
        return None
    number = str(found[0].params["registration_number"])
    return {"code": "POSSIBLE_DUPLICATE", "registration_number": number,
            "desk": number.split("-")[1], "same": found[0].params["same"]}  # fmt: skip


def stored_finding(warning: dict[str, Any]) -> dict[str, Any]:
    """A hub's warning as a stored finding (core/findings.py), the `hub` wording of its code."""
    params = {name: warning[name] for name in ("registration_number", "desk", "same")}
    return {"field": "nik", "code": warning["code"], "severity": "warning",
            "params": {**params, "variant": "hub"}}  # fmt: skip


def _row(record: dict[str, Any], cid: str, office: Office, stamp: str) -> dict[str, Any]:
    row: dict[str, Any] = {name: record.get(name) for name in RECORD_FIELDS}
    row["in_school"] = int(bool(record.get("in_school")))
    row["social_assistance"] = int(bool(record.get("social_assistance")))
    row["priority"] = record.get("priority") or "normal"
    row.update(
        id=cid,
        office_code=office.office_code,
        rules=office.rules,
        source="hub",
        status="valid",
        created_at=record["registered_at"],
        updated_at=stamp,
    )
    row.update(derived(row))
    return row


def feed(db: Database, desk: str, cursor: int, limit: int) -> dict[str, Any]:
    """The desk's verdicts and status events after `cursor`, oldest first (the status feed)."""
    rows = db.execute(
        "SELECT seq, client_id, central_id, status, reason, wave, at, amendment_id, version "
        "FROM hub_feed WHERE desk = ? AND seq > ? ORDER BY seq LIMIT ?",
        [desk, cursor, limit],
    ).fetchall()
    events = []
    for seq, cid, central, status, reason, wave, at, amendment_id, version in rows:
        event = {"seq": seq, "client_id": cid, "central_id": central, "status": status,
                 "reason": reason, "wave": wave, "at": at}  # fmt: skip
        if amendment_id is not None:  # an amendment refused upstream (sync/amendments.py)
            event.update(amendment_id=amendment_id, version=version)
        events.append(event)
    return {"events": events, "next_cursor": events[-1]["seq"] if events else cursor}
