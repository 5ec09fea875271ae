"""The audit trail: who did what to which record, hash-chained so any edit, insertion or deletion
of an entry is found by `prakerja audit verify`.

Entries hold no personal values, not even masked ones: a record is named by its id and
registration number, an edit by the names of the fields it changed. The trail is kept for good
while purge and retention erase the records, so a value written here would outlive its erasure
(a masked NIK in an entry, with the gender a purged record keeps, let a brute force recover the
NIK from its keyed hash in seconds). Entries written before that rule keep what they held:
docs/security.md says what and why they are not rewritten.

Each entry that changes records also commits to their content after the change (`records`: a keyed
hash of each record's stored fields), so a record edited behind the app's back (a direct SQL
UPDATE) matches no entry and verify names it. The head (`seq:hash`) is sent with each sync and
kept centrally (sync/anchor.py): a truncated or rewritten chain no longer holds the head the
central system kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import contains, itemgetter
from typing import TYPE_CHECKING, Any

from prakerja_cli.store.applicants import Office, now_iso

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database

GENESIS = "0" * 64
#: meta: the first entry signed with this office's key after a backup without the key was restored
#: (entries before it were signed with a key this PC does not hold).
KEY_FROM = "audit_key_from"
#: meta: a central anchor (`seq:hash`) this chain no longer holds, found at a sync (sync/anchor.py).
ANCHOR_LOST = "audit_anchor_lost"
#: The stored fields of a record an entry commits to: what the clerk typed, its status, its purge.
#: Central bookkeeping (central_status, synced_at...) is the central system's word, not covered.
COVERED = (
    "id", "registration_number", "nik", "kk", "name", "birth_place", "birth_date", "gender",
    "address", "rt", "rw", "village", "district", "regency", "province", "phone", "email",
    "education", "employment", "occupation", "in_school", "social_assistance", "priority",
    "training", "status", "withdrawn_reason", "purged_at",
)  # fmt: skip
_CHUNK = 500
#: Actions that change records, and so commit to their content. An entry that only reads (reveal,
#: export) commits to nothing: it would otherwise vouch for a record edited behind the app's back.
CHANGES = frozenset(
    {
        "create",
        "edit",
        "withdraw",
        "withdraw_undo",
        "import",
        "purge",
        "retention",
        "restore",
        "seal",
        "hub_receive",  # the records an office hub took from a desk (hub/store.py)
        "hub_amend",  # the corrections an office hub applied for a desk (hub/store.py)
    }
)


def _digest(prev: str, seq: int, at: str, operator: str, desk: str, action: str,
            applicant_id: str | None, details: str, key: bytes | None = None,
            records: str | None = None) -> str:  # fmt: skip
    """HMAC-SHA256 under the office key (or `key`) over the entry and the previous entry's hash.
    Entries without record hashes (all those made before m009) hash as they always did."""
    from prakerja_cli.config import office_key

    fields = [prev, seq, at, operator, desk, action, applicant_id, details]
    if records is not None:
        fields.append(records)
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key or office_key(), payload.encode(), hashlib.sha256).hexdigest()


#: What json.dumps(value, ensure_ascii=False, separators=(",", ":")) writes, from one encoder: dumps
#: builds a new one per call with those arguments, a third of the time of hashing an imported row.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def record_hashes(
    db: Database, ids: Iterable[str] | None = None, key: bytes | None = None
) -> dict[str, str]:
    """{applicant id: keyed hash of its COVERED fields as stored now}, for `ids` or every record."""
    from prakerja_cli.config import office_key

    secret = key or office_key()
    columns = ", ".join(COVERED)
    if ids is None:
        chunks: Iterable[list[Any]] = [[]]
    else:
        wanted = list(dict.fromkeys(ids))
        chunks = (wanted[i : i + _CHUNK] for i in range(0, len(wanted), _CHUNK))
    out: dict[str, str] = {}
    for chunk in chunks:
        if ids is not None and not chunk:
            continue
        where = f" WHERE id IN ({', '.join('?' * len(chunk))})" if chunk else ""
        for row in db.execute(f"SELECT {columns} FROM applicants{where}", chunk):
            out[row[0]] = _record_hash(secret, row)
    return out


def _record_hash(secret: bytes, values: Sequence[Any]) -> str:
    """The keyed hash of one record's COVERED values (in that order)."""
    payload = _COMPACT.encode(list(values))
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


#: The Python types SQLite gives back unchanged from a column of each affinity: text stays text
#: in a TEXT column, an integer (not a bool: it comes back 0 or 1) stays one in an INTEGER column.
_NULL: frozenset[type] = frozenset({type(None)})
_KEPT = {"TEXT": _NULL | {str}, "INTEGER": _NULL | {int}}
_INSERT_TRIGGER = re.compile(r"\bINSERT\s+ON\b", re.IGNORECASE)


def _affinity(declared: str) -> str:
    """A column's type affinity by its declared type (https://sqlite.org/datatype3.html 3.1)."""
    declared = declared.upper()
    if "INT" in declared:
        return "INTEGER"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    return "OTHER"  # BLOB, REAL, NUMERIC: not needed, so never taken to keep a value as it is


class NewRecordHashes:
    """The hashes record_hashes will compute for records about to be inserted as values of
    `columns`, computed from those values instead of read back: an import's new records, which
    `record` then commits to without a second pass over them.

    Only where that is sure to give the same hash: every COVERED value is of a type its column
    keeps as it is (str or None in a TEXT column, int or None in an INTEGER one: SQLite's
    affinity converts anything else, and the driver adapts some types on the way in), a COVERED
    column not inserted has no default (so it holds NULL), no trigger runs on insert, and the
    connection reads text back as str. The ids of other records are kept in `unsure`; `record`
    reads those back as before. tests/test_audit.py compares both ways over varied records."""

    def __init__(self, db: Database, columns: Sequence[str], key: bytes | None = None) -> None:
        from prakerja_cli.config import office_key

        self.secret = key or office_key()
        self.hashes: dict[str, str] = {}
        self.unsure: list[str] = []
        self._id = list(columns).index("id")
        info = {row[1]: row for row in db.execute("PRAGMA table_info(applicants)")}
        triggers = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'applicants'"
        ).fetchall()
        self.sure = db.conn.text_factory is str and not any(
            _INSERT_TRIGGER.search(str(sql)) for (sql,) in triggers
        )
        self._where: list[int] = []  # each COVERED column's place in a record (absent: the end)
        self._kept: list[frozenset[type]] = []
        for name in COVERED:
            if name in columns:
                self._where.append(list(columns).index(name))
                self._kept.append(_KEPT.get(_affinity(str(info[name][2])), frozenset()))
            else:
                self.sure = self.sure and info[name][4] is None  # no default: NULL
                self._where.append(len(columns))
                self._kept.append(_NULL)

    def add(self, records: Sequence[Sequence[Any]]) -> None:
        """Hash these records (call before they are inserted, with their final values)."""
        covered = itemgetter(*self._where)
        rows = [covered((*record, None)) for record in records]
        kept, secret = self._kept, self.secret
        # Column by column (a type check per value would cost more than the hashing): nearly
        # always every column is sure at once; else each record is checked.
        sure = self.sure and all(
            set(map(type, column)) <= ok
            for column, ok in zip(zip(*rows, strict=True), kept, strict=False)
        )
        for record, values in zip(records, rows, strict=True):
            if sure or (self.sure and all(map(contains, kept, map(type, values)))):
                self.hashes[values[0]] = _record_hash(secret, values)
            else:
                self.unsure.append(record[self._id])


def record(
    db: Database,
    office: Office,
    action: str,
    applicant_id: str | None = None,
    details: dict[str, Any] | None = None,
    touched: Iterable[str] = (),
    known: dict[str, str] | None = None,
) -> None:
    """Append one entry; call inside the write transaction of the change it records, after the
    change: the entry commits to the stored content of `applicant_id` and of every `touched` id.
    `known`: hashes of touched records as NewRecordHashes computed them before their insert (the
    others are read back)."""
    last, prev = head(db)
    seq = last + 1
    at = now_iso()
    text = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
    ids = [applicant_id, *touched] if applicant_id else list(touched)
    hashes: dict[str, str] = {}
    if ids and action in CHANGES:
        known = known or {}
        hashes = record_hashes(db, [i for i in ids if i not in known])
        hashes.update((i, known[i]) for i in ids if i in known)
    records = json.dumps(hashes, sort_keys=True, separators=(",", ":")) if hashes else None
    digest = _digest(prev, seq, at, office.operator, office.desk, action, applicant_id, text,
                     records=records)  # fmt: skip
    db.execute(
        "INSERT INTO audit (seq, at, operator, desk, action, applicant_id, details, prev_hash,"
        " hash, records) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, office.operator, office.desk, action, applicant_id, text, prev, digest, records],
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
    #: Registration numbers of records whose stored content matches no entry (edited directly).
    changed: tuple[str, ...] = ()
    #: A central anchor (`seq:hash`) this chain no longer holds: truncated or rewritten.
    anchor_lost: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None and not self.changed and self.anchor_lost is None


def mark_key_change(db: Database) -> None:
    """Record that the entries so far were signed with a key this PC does not hold (a backup without
    the office key was restored), so verify names that instead of calling them edited."""
    last = db.execute("SELECT max(seq) FROM audit").fetchone()[0] or 0
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [KEY_FROM, str(last + 1)])


def head(db: Database) -> tuple[int, str]:
    """(seq, hash) of the chain's last entry; (0, GENESIS) for an empty trail."""
    last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def holds(db: Database, seq: int, digest: str) -> bool:
    """Whether entry `seq` of this chain has hash `digest`, or one starting with it (at least 16
    hex digits: what a backup prints); seq 0 is the empty chain, always held."""
    if seq == 0:
        return True
    row = db.execute("SELECT hash FROM audit WHERE seq = ?", [seq]).fetchone()
    return row is not None and hmac.compare_digest(str(row[0])[: len(digest)], digest)


def parse_anchor(text: str) -> tuple[int, str]:
    """`SEQ:HASH` (HASH at least its first 16 hex digits) as written down from a backup."""
    from prakerja_cli.errors import UsageError

    seq, _, digest = text.strip().lstrip("#").partition(":")
    digest = digest.strip().lower()
    if not (seq.isdigit() and 16 <= len(digest) <= 64) or digest.strip("0123456789abcdef"):
        raise UsageError("error.audit_anchor", hint="hint.audit_anchor", value=text)
    return int(seq), digest


def ids_of(db: Database, numbers: Iterable[str]) -> list[str]:
    """The ids of the records with these registration numbers."""
    wanted = list(numbers)
    return [
        str(row[0])
        for i in range(0, len(wanted), _CHUNK)
        for row in db.execute(
            f"SELECT id FROM applicants WHERE registration_number IN"
            f" ({', '.join('?' * len(wanted[i : i + _CHUNK]))})",
            wanted[i : i + _CHUNK],
        )
    ]


def seal(db: Database, office: Office) -> bool:
    """Commit to every record once, in a store whose trail commits to none yet (made before
    entries carried record hashes): from then on a direct edit of any record is found. Only a
    trail holding a `create` entry without record hashes (signed, so made by an older version) is
    sealed: a trail emptied behind the app's back leaves its records uncommitted (verify names
    them) rather than sealed again."""
    if db.execute("SELECT 1 FROM audit WHERE records IS NOT NULL LIMIT 1").fetchone():
        return False
    legacy = "SELECT 1 FROM audit WHERE action = 'create' AND records IS NULL LIMIT 1"
    if db.execute(legacy).fetchone() is None:
        return False
    ids = [row[0] for row in db.execute("SELECT id FROM applicants")]
    if not ids:
        return False
    from prakerja_cli.store.db import write

    with write(db):
        record(db, office, "seal", None, {"records": len(ids)}, touched=ids)
    return True


def verify(db: Database) -> VerifyResult:
    """Walk the chain: recompute each hash and check each link and the sequence. Entries before a
    restored key-less backup's boundary are checked with the office's earlier keys; those none of
    them verifies are reported as `key` when nothing worse is found. Then every record's stored
    content is compared with the last entry that committed to it, and a central anchor found lost
    at a sync is reported."""
    from prakerja_cli.config import earlier_keys

    key_from = db.execute("SELECT value FROM meta WHERE key = ?", [KEY_FROM]).fetchone()
    first_key = int(key_from[0]) if key_from else 1
    old_keys = earlier_keys() if first_key > 1 else []
    prev, expected, count = GENESIS, 1, 0
    unverifiable: int | None = None
    committed: dict[str, tuple[str, int]] = {}  # applicant id: (hash, seq of the entry)
    rows = db.execute(
        "SELECT seq, at, operator, desk, action, applicant_id, details, prev_hash, hash, records"
        " FROM audit ORDER BY seq"
    )
    for seq, at, operator, desk, action, applicant_id, details, prev_hash, digest, records in rows:
        count += 1
        if seq != expected:
            problem = "deleted" if seq > expected else "inserted"
            return VerifyResult(count, expected if seq > expected else seq, problem)
        if prev_hash != prev:
            return VerifyResult(count, seq, "inserted" if prev_hash == GENESIS else "deleted")
        entry = (prev_hash, seq, at, operator, desk, action, applicant_id, details)
        if _digest(*entry, records=records) != digest:
            if seq >= first_key:
                return VerifyResult(count, seq, "edited")
            if all(_digest(*entry, key=old, records=records) != digest for old in old_keys):
                unverifiable = unverifiable or seq
        if records:
            committed.update((k, (v, seq)) for k, v in json.loads(records).items())
        prev, expected = digest, seq + 1
    last = db.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    if last is not None and last[0] != f"{expected - 1}:{prev}":
        return VerifyResult(count, expected, "deleted")
    lost = db.execute("SELECT value FROM meta WHERE key = ?", [ANCHOR_LOST]).fetchone()
    return VerifyResult(
        count, unverifiable, "key" if unverifiable else None,
        changed=_changed_records(db, committed, first_key, old_keys),
        anchor_lost=str(lost[0]) if lost else None,
    )  # fmt: skip


def _changed_records(
    db: Database, committed: dict[str, tuple[str, int]], first_key: int, old_keys: list[bytes]
) -> tuple[str, ...]:
    """Registration numbers of records whose content no entry committed to: edited, or inserted,
    behind the app's back. A record last committed under an earlier key is tried with those too."""
    numbers = dict(db.execute("SELECT id, registration_number FROM applicants").fetchall())
    now = record_hashes(db)
    changed = []
    for applicant_id, digest in now.items():
        kept, seq = committed.get(applicant_id, ("", 0))
        if hmac.compare_digest(digest, kept):
            continue
        if kept and seq < first_key and (not old_keys or any(
            hmac.compare_digest(h, kept)
            for old in old_keys
            for h in record_hashes(db, [applicant_id], key=old).values()
        )):  # fmt: skip
            continue  # committed under a key this PC does not hold: verify says `key`
        changed.append(str(numbers[applicant_id]))
    return tuple(sorted(changed))


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
