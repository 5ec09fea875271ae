"""The audit trail: who did what to which record, hash-chained so any edit, insertion or deletion
of an entry is found by `prakerja audit verify`.

Entries hold no personal values, not even masked ones: a record is named by its id and
registration number, an edit by the names of the fields it changed. The trail is kept for good
while purge and retention erase the records, so a value written here would outlive its erasure
(a masked NIK in an entry, with the gender a purged record keeps, let a brute force recover the
NIK from its keyed hash in seconds). Entries written before that rule keep what they held:
docs/security.md says what and why they are not rewritten.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prakerja_cli.store.applicants import Office, now_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

GENESIS = "0" * 64
#: meta: the first entry signed with this office's key after a backup without the key was restored
#: (entries before it were signed with a key this PC does not hold).
KEY_FROM = "audit_key_from"


def _digest(prev: str, seq: int, at: str, operator: str, desk: str, action: str,
            applicant_id: str | None, details: str, key: bytes | None = None) -> str:  # fmt: skip
    """HMAC-SHA256 under the office key (or `key`) over the entry and the previous entry's hash."""
    from prakerja_cli.config import office_key

    payload = json.dumps([prev, seq, at, operator, desk, action, applicant_id, details],
                         ensure_ascii=False, separators=(",", ":"))  # fmt: skip
    return hmac.new(key or office_key(), payload.encode(), hashlib.sha256).hexdigest()


def record(
    db: Database,
    office: Office,
    action: str,
    applicant_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry; call inside the write transaction of the change it records."""
    last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = now_iso()
    text = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
    digest = _digest(prev, seq, at, office.operator, office.desk, action, applicant_id, text)
    db.execute(
        "INSERT INTO audit (seq, at, operator, desk, action, applicant_id, details, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, office.operator, office.desk, action, applicant_id, text, prev, digest],
    )
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)", [f"{seq}:{digest}"]
    )


def changed_fields(before: dict[str, Any], after: dict[str, Any], fields: list[str]) -> list[str]:
    """The names of the fields whose values differ, in `fields` order: what an `edit` entry keeps
    of a change (never the values, old or new)."""
    return [f for f in fields if before.get(f) != after.get(f)]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    entries: int
    broken_at: int | None  # the first entry that does not hold, or None when the chain is intact
    problem: str | None  # edited, inserted, deleted, or key (signed with a key not held here)


def mark_key_change(db: Database) -> None:
    """Record that the entries so far were signed with a key this PC does not hold (a backup without
    the office key was restored), so verify names that instead of calling them edited."""
    last = db.execute("SELECT max(seq) FROM audit").fetchone()[0] or 0
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [KEY_FROM, str(last + 1)])


def verify(db: Database) -> VerifyResult:
    """Walk the chain: recompute each hash and check each link and the sequence. Entries before a
    restored key-less backup's boundary are checked with the office's earlier keys; those none of
    them verifies are reported as `key` when nothing worse is found."""
    from prakerja_cli.config import earlier_keys

    key_from = db.execute("SELECT value FROM meta WHERE key = ?", [KEY_FROM]).fetchone()
    first_key = int(key_from[0]) if key_from else 1
    old_keys = earlier_keys() if first_key > 1 else []
    prev, expected, count = GENESIS, 1, 0
    unverifiable: int | None = None
    rows = db.execute(
        "SELECT seq, at, operator, desk, action, applicant_id, details, prev_hash, hash FROM audit ORDER BY seq"
    )
    for seq, at, operator, desk, action, applicant_id, details, prev_hash, digest in rows:
        count += 1
        if seq != expected:
            problem = "deleted" if seq > expected else "inserted"
            return VerifyResult(count, expected if seq > expected else seq, problem)
        if prev_hash != prev:
            return VerifyResult(count, seq, "inserted" if prev_hash == GENESIS else "deleted")
        if _digest(prev_hash, seq, at, operator, desk, action, applicant_id, details) != digest:
            if seq >= first_key:
                return VerifyResult(count, seq, "edited")
            entry = (prev_hash, seq, at, operator, desk, action, applicant_id, details)
            if all(_digest(*entry, key=old) != digest for old in old_keys):
                unverifiable = unverifiable or seq
        prev, expected = digest, seq + 1
    head = db.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    if head is not None and head[0] != f"{expected - 1}:{prev}":
        return VerifyResult(count, expected, "deleted")
    return VerifyResult(count, unverifiable, "key" if unverifiable else None)


def entries(
    db: Database,
    *,
    applicant_id: str | None = None,
    since: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    where, params = [], []
    if applicant_id:
        where.append("applicant_id = ?")
        params.append(applicant_id)
    if since:
        where.append("at >= ?")
        params.append(since)
    sql = "SELECT seq, at, operator, desk, action, applicant_id, details FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq"
    if limit:
        sql += f" LIMIT {int(limit)}"
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    out = []
    for row in cursor.fetchall():
        item = dict(zip(names, row, strict=True))
        item["details"] = json.loads(item["details"])
        out.append(item)
    return out
