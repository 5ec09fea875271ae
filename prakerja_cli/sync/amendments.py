"""Amendments on the wire: corrections and withdrawals of records the central system holds, put
into requests that are written (key and exact body) before they are sent, and the answers applied.

The amendments themselves are written with the edit that makes them (outbox.queue_amendment); a
request goes again, under its Idempotency-Key, until it is answered, and each amendment keeps its
amendment_id on every retry: the central system answers a resent one as it did the first time
(docs/central-api.md, Amendments).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prakerja_cli.store.applicants import new_ids, now_iso
from prakerja_cli.store.db import write
from prakerja_cli.sync.outbox import NOT_REGISTERED, REGISTERED

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database

#: The outcomes of an amendment (docs/central-api.md).
OUTCOMES = ("applied", "conflict", "rejected")
#: Amendments in one request at most (the contract's limit).
MAX_REQUEST = 1000


@dataclass(frozen=True, slots=True)
class Request:
    id: str
    body: bytes
    amendments: int


@dataclass(slots=True)
class Answered:
    """What one request's answers did."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    #: Registration numbers of the records whose amendment met a conflict.
    conflicts: list[str] = field(default_factory=list)
    #: Amendments of the request the answer gave no outcome for (they go again, see
    #: apply_answers).
    unanswered: int = 0


def open_requests(db: Database) -> list[Request]:
    """Requests written but not answered yet, oldest first: they go again with the same key."""
    rows = db.execute(
        "SELECT id, body, amendments FROM amendment_requests WHERE done_at IS NULL "
        "ORDER BY created_at, rowid"
    ).fetchall()
    return [Request(row[0], bytes(row[1]), row[2]) for row in rows]


#: The records whose registration stands centrally (answered, one of REGISTERED).
_REGISTERED = "a.central_status IN (" + ", ".join(f"'{s}'" for s in REGISTERED) + ")"
#: An amendment of the record is in a request not answered yet: the next waits for its answer.
_IN_FLIGHT = (
    "EXISTS (SELECT 1 FROM outbox_amendments o JOIN amendment_requests r ON r.id = o.request_id "
    "WHERE o.applicant_id = a.id AND r.done_at IS NULL)"
)
#: A batch holding the record is not answered yet: whether it is registered is not known.
_IN_OPEN_BATCH = (
    "EXISTS (SELECT 1 FROM outbox_items i JOIN outbox_batches b ON b.id = i.batch_id "
    "WHERE i.applicant_id = a.id AND b.done_at IS NULL)"
)


def write_request(
    db: Database, office_code: str, limit: int = MAX_REQUEST, held: Collection[str] = ()
) -> Request | None:
    """Write the unsent amendments of registered records (none of whose amendments is in flight)
    into one new request, oldest first; None when none can go now.

    A record's amendments go in the order made; each amends the version the one before it makes
    (the first: the version the record has, or the one an office hub's desk gave). A desk's own
    amendment of a record that turned out not registered (refused, so sent again whole) is
    dropped: its content goes with the record. One an office hub took from a desk goes even then:
    the central system's answer (NOT_REGISTERED) is relayed to the desk. At most `limit`; none
    of the records `held` (ids: refused as they are in this sync, see drop_request).
    """
    with write(db):
        not_registered = ", ".join(f"'{s}'" for s in NOT_REGISTERED)
        # Driven by the unsent amendments (a few), each record looked up by its key: never a
        # walk over the store's unsent records.
        db.execute(
            "DELETE FROM outbox_amendments WHERE request_id IS NULL AND base_version IS NULL "
            "AND EXISTS (SELECT 1 FROM applicants a WHERE a.id = outbox_amendments.applicant_id "
            f"AND (a.central_status IS NULL OR a.central_status IN ({not_registered})) "
            f"AND NOT {_IN_OPEN_BATCH})"
        )
        rows = db.execute(
            "SELECT o.id, o.applicant_id, o.kind, o.changes, o.base_version, "
            "coalesce(a.central_version, 1) FROM outbox_amendments o "
            "JOIN applicants a ON a.id = o.applicant_id "
            f"WHERE o.request_id IS NULL AND ({_REGISTERED} OR (o.base_version IS NOT NULL "
            f"AND a.central_status IN ({not_registered}))) AND NOT {_IN_FLIGHT} "
            "AND o.applicant_id NOT IN (SELECT value FROM json_each(?)) "
            "ORDER BY o.created_at, o.rowid LIMIT ?",
            [json.dumps(sorted(held)), max(1, min(limit, MAX_REQUEST))],
        ).fetchall()
        if not rows:
            return None
        versions: dict[str, int] = {}
        entries = []
        for aid, cid, kind, changes, fixed, current in rows:
            base = fixed if fixed is not None else versions.get(cid, int(current))
            versions[cid] = base + 1
            entry: dict[str, Any] = {"amendment_id": aid, "client_id": cid, "base_version": base,
                                     "kind": kind}  # fmt: skip
            if kind == "amend":
                entry["changes"] = json.loads(changes)
            entries.append(entry)
        body = json.dumps(
            {"office_code": office_code, "amendments": entries},
            ensure_ascii=False, separators=(",", ":"),
        ).encode()  # fmt: skip
        request = Request(new_ids(1)[0], body, len(entries))
        db.execute(
            "INSERT INTO amendment_requests (id, body, amendments, created_at) VALUES (?, ?, ?, ?)",
            [request.id, request.body, request.amendments, now_iso()],
        )
        db.conn.executemany(
            "UPDATE outbox_amendments SET request_id = ?, base_version = ? WHERE id = ?",
            [(request.id, e["base_version"], e["amendment_id"]) for e in entries],
        )
    return request


def note_attempt(db: Database, request: Request, error: str | None) -> None:
    with write(db):
        db.execute(
            "UPDATE amendment_requests SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            [error, request.id],
        )


def apply_answers(db: Database, request: Request, results: list[dict[str, Any]]) -> Answered:
    """Record each amendment's answer and close the request, in one transaction.

    `applied`: the record takes the version answered, and what the central system holds is now
    the amended content (sent_hash). `conflict`: another correction reached the registration
    first; the record takes the version the central system holds, so the clerk's next correction
    amends that one. On an office hub, an answer other than `applied` to a desk's amendment goes
    back to that desk through its feed (the hub answered it `applied` when it took it).
    """
    answered = Answered()
    stamp = now_iso()
    with write(db):
        mine = {
            row[0]: (row[1], row[2])
            for row in db.execute(
                "SELECT id, applicant_id, content_hash FROM outbox_amendments WHERE request_id = ?",
                [request.id],
            )
        }
        settled: set[str] = set()
        for result in results:
            aid = result.get("amendment_id")
            outcome = result.get("outcome")
            if aid not in mine or outcome not in OUTCOMES:
                continue  # the contract promises neither; ignore rather than guess
            settled.add(str(aid))
            applicant_id, after_hash = mine[aid]
            version = result.get("version")
            if isinstance(version, bool) or not isinstance(version, int):
                version = None
            answered.counts[outcome] += 1
            db.execute(
                "UPDATE outbox_amendments SET outcome = ?, reason = ?, version = ?, "
                "answered_at = ? WHERE id = ?",
                [outcome, result.get("reason"), version, stamp, aid],
            )
            if outcome == "applied" and version is not None:
                db.execute(
                    "UPDATE applicants SET central_version = ?, "
                    "sent_hash = coalesce(?, sent_hash) WHERE id = ?",
                    [version, after_hash, applicant_id],
                )
            elif outcome == "conflict" and version is not None:
                db.execute(
                    "UPDATE applicants SET central_version = ? WHERE id = ?",
                    [version, applicant_id],
                )
            if outcome == "conflict":
                number = db.execute(
                    "SELECT registration_number FROM applicants WHERE id = ?", [applicant_id]
                ).fetchone()
                answered.conflicts.append(str(number[0]) if number else applicant_id)
            if outcome != "applied":
                _relay(db, str(aid), applicant_id, outcome, result, version, stamp)
        # An amendment the answer gave no outcome for would wait for an answer that never comes
        # (the request is answered: its key replays the same). It goes again in a new request.
        unanswered = [aid for aid in mine if aid not in settled]
        _unsend(db, unanswered)
        answered.unanswered = len(unanswered)
        db.execute("UPDATE amendment_requests SET done_at = ? WHERE id = ?", [stamp, request.id])
    return answered


def _unsend(db: Database, ids: list[str]) -> None:
    """Amendments out of their request, to go in a new one under their amendment_id (the central
    system answers one it did apply as it did the first time); a desk's own then amends the
    version its record has by then, one an office hub took from a desk the desk's."""
    db.conn.executemany(
        "UPDATE outbox_amendments SET request_id = NULL, base_version = CASE WHEN id IN "
        "(SELECT amendment_id FROM hub_amendments) THEN base_version END WHERE id = ?",
        [(aid,) for aid in ids],
    )


def drop_request(db: Database, request: Request) -> list[tuple[str, str]]:
    """A request the central system refused as it is (a 4xx: nothing in it was processed),
    deleted, its amendments unsent again: resent unchanged it would be refused at every sync,
    ahead of every later correction. Returns (record id, registration number) of each."""
    with write(db):
        rows = db.execute(
            "SELECT o.id, o.applicant_id, a.registration_number FROM outbox_amendments o "
            "JOIN applicants a ON a.id = o.applicant_id WHERE o.request_id = ? "
            "ORDER BY o.created_at, o.rowid",
            [request.id],
        ).fetchall()
        _unsend(db, [str(row[0]) for row in rows])
        db.execute("DELETE FROM amendment_requests WHERE id = ?", [request.id])
    return [(str(row[1]), str(row[2])) for row in rows]


def _relay(
    db: Database,
    amendment_id: str,
    applicant_id: str,
    outcome: str,
    result: Mapping[str, Any],
    version: int | None,
    stamp: str,
) -> None:
    """On an office hub, the event of a desk's feed for an amendment refused upstream (a desk's
    record is in hub_records; on a desk, nothing)."""
    db.execute(
        "INSERT INTO hub_feed (desk, client_id, central_id, status, reason, wave, at, "
        "amendment_id, version) SELECT h.desk, h.client_id, a.central_id, ?, ?, NULL, ?, ?, ? "
        "FROM hub_records h JOIN applicants a ON a.id = h.client_id WHERE h.client_id = ?",
        [f"amendment_{outcome}", result.get("reason"), stamp, amendment_id, version,
         applicant_id],
    )  # fmt: skip


def latest(db: Database, applicant_id: str) -> dict[str, Any] | None:
    """The record's last amendment (what `applicants show` says of it), without its values."""
    cursor = db.execute(
        "SELECT id, kind, base_version, outcome, reason, version, created_at, answered_at, "
        "request_id IS NOT NULL AS sent FROM outbox_amendments WHERE applicant_id = ? "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        [applicant_id],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    found = dict(zip([d[0] for d in cursor.description], row, strict=True))
    found["sent"] = bool(found["sent"])
    return found
