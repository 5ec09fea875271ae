"""`prakerja purge`: remove the personal fields of records the central system verified before a
date. What stays: the registration number, region codes, gender, education, employment, the
statuses and timestamps (the office's statistics), and for a live record its NIK's keyed hash, so
that NIK is still refused as a duplicate here (docs/security.md says what purge does not reach).

`prakerja purge --retention` does the same to the records that are going nowhere (withdrawn, or
refused centrally as rejected, duplicate or unknown to the registry) and have not changed for the
office's retention period; their NIKs are not kept: none of them holds a registration.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from prakerja_cli.store import audit
from prakerja_cli.store.applicants import TOMBSTONE_SCHEME, Office, now_iso, tombstones
from prakerja_cli.store.db import write
from prakerja_cli.store.engine import dbapi
from prakerja_cli.store.migrations import PERSONAL_COLUMNS

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database

#: Finding parameters that quote personal data: the two birth dates of NIK_BIRTHDATE_MISMATCH,
#: the e-mail domain of EMAIL_DOMAIN_SUSPECT (the code, field and severity stay, so the office
#: still knows the record was flagged and why).
PERSONAL_PARAMS = frozenset({"form_date", "nik_date", "digits", "domain"})
REDACTED = "***"
_SECURE_DELETE = {0: "OFF", 1: "ON", 2: "FAST"}
#: Verified centrally before the day given, not purged yet, and in no batch or amendment still to
#: be sent.
_CANDIDATES = (
    "central_status = 'verified' AND purged_at IS NULL AND verified_at IS NOT NULL "
    "AND substr(verified_at, 1, 10) < ? AND id NOT IN (SELECT applicant_id FROM outbox_items "
    "JOIN outbox_batches ON id = batch_id WHERE done_at IS NULL) "
    "AND id NOT IN (SELECT applicant_id FROM outbox_amendments WHERE outcome IS NULL)"
)


#: Central answers that end a record's way: it is not going again unless a clerk corrects it.
REFUSED = ("rejected", "duplicate", "registry_rejected")
#: The last day anything happened to a record (an edit, a withdrawal, a central answer).
_LAST_CHANGE = "substr(max(updated_at, coalesce(synced_at, ''), coalesce(withdrawn_at, '')), 1, 10)"
#: Withdrawn or refused, unchanged since before the day given, not purged yet, not being sent.
_RETIRED = (
    f"purged_at IS NULL AND (status = 'withdrawn' OR central_status IN {REFUSED!r}) "
    f"AND {_LAST_CHANGE} < ? AND id NOT IN (SELECT applicant_id FROM outbox_items "
    "JOIN outbox_batches ON id = batch_id WHERE done_at IS NULL) "
    # A correction or withdrawal still on its way to the central system (sync/amendments.py).
    "AND id NOT IN (SELECT applicant_id FROM outbox_amendments WHERE outcome IS NULL)"
)


@dataclass(slots=True)
class PurgeResult:
    #: Verified before this day; with `retention`, last changed before it.
    verified_before: date
    dry_run: bool
    #: A retention purge: withdrawn and refused records instead of verified ones.
    retention: bool = False
    #: Of a retention purge's `records`, how many per kind: withdrawn, or the central refusal.
    by_kind: dict[str, int] = field(default_factory=dict)
    records: int = 0
    #: Of `records`, how many were withdrawn (their NIK is not kept: a withdrawn NIK is free).
    withdrawn: int = 0
    #: Records per month of verification, YYYY-MM, oldest first.
    by_month: dict[str, int] = field(default_factory=dict)
    purged_at: str | None = None
    #: Whether VACUUM rebuilt the file and the WAL was emptied afterwards (never on a dry run).
    vacuumed: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.retention:
            return {"retention": True, "changed_before": self.verified_before.isoformat(),
                    "dry_run": self.dry_run, "records": self.records, "by_kind": self.by_kind,
                    "by_month": self.by_month, "purged_at": self.purged_at,
                    "vacuumed": self.vacuumed}  # fmt: skip
        return {"verified_before": self.verified_before.isoformat(), "dry_run": self.dry_run,
                "records": self.records, "withdrawn": self.withdrawn, "by_month": self.by_month,
                "purged_at": self.purged_at, "vacuumed": self.vacuumed}  # fmt: skip


def purge(
    db: Database, office: Office, before: date, *, dry_run: bool = False, retention: bool = False
) -> PurgeResult:
    """Purge every record verified before `before` (with `retention`: every withdrawn or refused
    record last changed before it) in one write transaction (all or nothing), with
    `secure_delete` on so SQLite overwrites the old values, then VACUUM the file."""
    result = PurgeResult(before, dry_run, retention)
    if dry_run:
        _count(result, _candidates(db, before, retention))
        return result
    previous = int(db.execute("PRAGMA secure_delete").fetchone()[0])
    db.execute("PRAGMA secure_delete = ON")
    try:
        with write(db):
            rows = _candidates(db, before, retention)
            _count(result, rows)
            if rows and retention:
                result.purged_at = _purge_rows(db, rows, keep_niks=False)
                audit.record(db, office, "retention", None, {
                    "changed_before": before.isoformat(), "records": result.records,
                    "by_kind": result.by_kind, "by_month": result.by_month,
                }, touched=[row["id"] for row in rows])  # fmt: skip
            elif rows:
                result.purged_at = _purge_rows(db, rows)
                audit.record(db, office, "purge", None, {
                    "verified_before": before.isoformat(), "records": result.records,
                    "withdrawn": result.withdrawn, "by_month": result.by_month,
                }, touched=[row["id"] for row in rows])  # fmt: skip
    finally:
        db.execute(f"PRAGMA secure_delete = {_SECURE_DELETE.get(previous, 'ON')}")
    result.vacuumed = _vacuum(db)  # also after a run that found nothing: it may follow a failed one
    return result


def _candidates(db: Database, before: date, retention: bool = False) -> list[dict[str, Any]]:
    """The records to purge; `verified_at` is the day a retention purge counts from."""
    day = f"{_LAST_CHANGE} AS verified_at" if retention else "verified_at"
    cursor = db.execute(
        f"SELECT id, registration_number, nik, status, central_status, {day}, findings "
        f"FROM applicants WHERE {_RETIRED if retention else _CANDIDATES} "
        "ORDER BY verified_at, seq, registration_number",
        [before.isoformat()],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _count(result: PurgeResult, rows: list[dict[str, Any]]) -> None:
    result.records = len(rows)
    result.withdrawn = sum(1 for r in rows if r["status"] == "withdrawn")
    months = Counter(str(r["verified_at"])[:7] for r in rows)
    result.by_month = dict(sorted(months.items()))
    if result.retention:
        kinds = Counter("withdrawn" if r["status"] == "withdrawn" else r["central_status"]
                        for r in rows)  # fmt: skip
        result.by_kind = dict(sorted(kinds.items()))


def _purge_rows(db: Database, rows: list[dict[str, Any]], *, keep_niks: bool = True) -> str:
    """Empty the personal fields; call inside the write transaction. Returns the purge time.
    With `keep_niks`, a live record's NIK is kept as its keyed hash (still a duplicate here)."""
    stamp = now_iso()
    live = [r for r in rows if keep_niks and r["status"] != "withdrawn" and r["nik"]]
    if live:
        from prakerja_cli.config import office_key

        kept = tombstones([r["nik"] for r in live], office_key())
        db.conn.executemany(
            "INSERT OR IGNORE INTO purged_niks (nik_hmac, registration_number, purged_at, scheme) "
            "VALUES (?, ?, ?, ?)",
            ((kept[r["nik"]], r["registration_number"], stamp, TOMBSTONE_SCHEME) for r in live),
        )
    # name_folded is the name as a search compares it (migration m008): it goes with the name.
    cleared = ", ".join(f"{c} = NULL" for c in (*PERSONAL_COLUMNS, "name_folded"))
    # sent_hash and the outbox's content hashes are plain SHA-256 over the whole record.
    db.conn.executemany(
        f"UPDATE applicants SET {cleared}, sent_hash = NULL, findings = ?, purged_at = ? "
        "WHERE id = ?",
        ((_redacted(r["findings"]), stamp, r["id"]) for r in rows),
    )
    db.conn.executemany(
        "UPDATE outbox_items SET content_hash = '' WHERE applicant_id = ?",
        ((r["id"],) for r in rows),
    )
    # Amendments carry the corrected values; answered ones are kept for their outcome only.
    db.conn.executemany(
        "UPDATE outbox_amendments SET changes = '{}', content_hash = '' WHERE applicant_id = ?",
        ((r["id"],) for r in rows),
    )
    db.execute(
        "UPDATE amendment_requests SET body = X'' WHERE done_at IS NOT NULL AND length(body) > 0 "
        "AND id IN (SELECT request_id FROM outbox_amendments WHERE content_hash = '')"
    )
    # A delivered batch keeps the exact body sent; nothing reads it again once it is answered.
    db.execute(
        "UPDATE outbox_batches SET body = X'' WHERE done_at IS NOT NULL AND length(body) > 0 "
        "AND id IN (SELECT batch_id FROM outbox_items WHERE content_hash = '')"
    )
    return stamp


def _redacted(findings: str | None) -> str:
    """The stored findings with the parameters that quote personal data starred out."""
    items = json.loads(findings or "[]")
    for item in items:
        params = item.get("params") or {}
        for name in PERSONAL_PARAMS & set(params):
            params[name] = REDACTED
    return json.dumps(items, ensure_ascii=False)


def _vacuum(db: Database) -> bool:
    """Rebuild the file without free pages (values of older edits may sit there), then copy the
    WAL into it and empty it (the WAL holds page images from before the purge).

    The purge is committed already: a failure here (disk full, a desk reading for longer than the
    busy timeout) leaves it in place and is reported as `vacuumed: false`."""
    try:
        db.execute("VACUUM")
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except dbapi.Error:
        return False
    return bool(busy == 0)
