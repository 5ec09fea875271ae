"""Applicant records: insert, look up, list, search, update, withdraw."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from prakerja_cli.core.fields import fold
from prakerja_cli.core.findings import Finding
from prakerja_cli.core.nik import mask
from prakerja_cli.core.similar import Candidate
from prakerja_cli.core.validate import FIELDS, ExistingRecord, Validated
from prakerja_cli.errors import NotFoundError, UsageError
from prakerja_cli.store.numbering import reserve_numbers

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database

LIVE = "status != 'withdrawn'"
#: The partial index applicants_withdrawn_nik answers `nik` conditions with this one (m008).
WITHDRAWN = "status = 'withdrawn'"
_NIK = re.compile(r"[0-9]{16}")
#: Lifecycle states of a stored record (the sync adds its own later).
STATUSES = ("valid", "flagged", "withdrawn")
#: Central states a record can be parked in: answered, and not going again until corrected.
PARKED = ("rejected", "duplicate", "conflict", "registry_rejected")
IS_PARKED = f"central_status IN ({', '.join(repr(state) for state in PARKED)})"
#: Where a record stands centrally (`pending`: not delivered yet); `parked` names all of PARKED.
CENTRAL_STATES = ("pending", "accepted", "verified", *PARKED, "parked")
#: The statuses of a registered (live) record: what a recap counts as registered.
REGISTERED = ("valid", "flagged")
#: A record's priority (the rule set lowers it for those receiving other social assistance).
PRIORITIES = ("normal", "low")
#: What `applicants list --status` takes: a status, or `registered` for both of REGISTERED.
STATUS_FILTERS = (*STATUSES, "registered")
#: Age at registration (its day against the birth date), in the bands the programme reports on;
#: `unknown` for a record whose birth date was purged.
AGE_BANDS = ("<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
_AGE = (
    "(CAST(substr(created_at, 1, 4) AS INTEGER) - CAST(substr(birth_date, 1, 4) AS INTEGER)"
    " - (substr(created_at, 6, 5) < substr(birth_date, 6, 5)))"
)
#: The SQL of a record's age band: what a recap groups by and `applicants list --age` compares.
AGE_BAND = (
    f"CASE WHEN birth_date IS NULL THEN 'unknown' WHEN {_AGE} < 18 THEN '<18'"
    f" WHEN {_AGE} < 25 THEN '18-24' WHEN {_AGE} < 35 THEN '25-34' WHEN {_AGE} < 45 THEN '35-44'"
    f" WHEN {_AGE} < 55 THEN '45-54' WHEN {_AGE} < 65 THEN '55-64' ELSE '65+' END"
)
#: Records holding a finding of a code (one parameter): a record counts once, however many
#: findings of that code it holds.
HAS_FINDING = (
    "EXISTS (SELECT 1 FROM json_each(applicants.findings) AS f "
    "WHERE json_extract(f.value, '$.code') = ?)"
)


def now_iso() -> str:
    """Local time with its UTC offset: the date part is the office's calendar day."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Office:
    """Who is registering: stamped on every record."""

    office_code: str
    regency: str
    province: str
    desk: str
    operator: str
    rules: str


#: The last 60-bit time stamp (milliseconds << 12 | sub-millisecond steps) this process gave out.
_last_stamp = 0
_stamp_lock = threading.Lock()
_RANDOM_BITS = (1 << 62) - 1


def _stamps(count: int) -> int:
    """The first of `count` consecutive time stamps, each later than any given out before by this
    process (RFC 9562 method 3: 12 bits of sub-millisecond time; a bulk takes consecutive steps
    of 1/4096 ms, so 100,000 ids move the clock 24 ms ahead, less than they take to make)."""
    global _last_stamp
    ns = time.time_ns()
    now = (ns // 1_000_000) << 12 | (ns % 1_000_000) * 4096 // 1_000_000
    with _stamp_lock:
        first = max(now, _last_stamp + 1)
        _last_stamp = first + count - 1
    return first


def new_ids(count: int) -> list[str]:
    """`count` time-ordered UUIDs (version 7, RFC 9562), written as `str(uuid.UUID(...))` writes
    them, in the order they were made: ids sort by creation, so each insert into a unique index
    (here and on the central server) lands at its end instead of at a random page. 62 random bits
    per id, from one read of the system's random source, keep them unique across processes and
    desks. Records made before keep their version-4 ids; both are plain UUIDs to everyone."""
    if count <= 0:
        return []
    first = _stamps(count)
    rand = os.urandom(8 * count)
    ids = []
    for i in range(count):
        stamp = first + i
        value = (
            (stamp >> 12) << 80
            | 0x7 << 76
            | (stamp & 0xFFF) << 64
            | 0x2 << 62
            | int.from_bytes(rand[8 * i : 8 * i + 8]) & _RANDOM_BITS
        )
        h = f"{value:032x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


#: The stored columns that come from the form (record_values' keys, in this order).
FORM_COLUMNS = (*FIELDS, "priority", "status", "findings")
#: Where a record came from: a desk's form unless the caller says otherwise (an import: the file).
SOURCE_COLUMNS = ("source", "source_file", "source_sheet", "source_row", "source_sha256")
_DESK_SOURCE: dict[str, Any] = {"source": "desk"}
#: The columns of a new record, in the order new_record gives its values: the form's, the id and
#: number, the office's, the source, the time stamps, then the derived ones (see `derived`).
NEW_COLUMNS = (
    *FORM_COLUMNS, "id", "registration_number", "regency", "province", "office_code", "desk",
    "operator", "rules", *SOURCE_COLUMNS, "created_at", "updated_at", "seq", "name_folded",
)  # fmt: skip

_FIELD_NAMES = list(FIELDS)
_NAME, _BIRTH_DATE = _FIELD_NAMES.index("name"), _FIELD_NAMES.index("birth_date")
_IN_SCHOOL, _SOCIAL = _FIELD_NAMES.index("in_school"), _FIELD_NAMES.index("social_assistance")


def _form_values(validated: Validated) -> list[Any]:
    """The values of FORM_COLUMNS for a validated form, as the store holds them."""
    v = validated.values
    values = [v.get(name) for name in FIELDS]
    born = v.get("birth_date")
    values[_BIRTH_DATE] = born.isoformat() if isinstance(born, date) else born
    values[_IN_SCHOOL] = int(bool(v.get("in_school")))
    values[_SOCIAL] = int(bool(v.get("social_assistance")))
    found = validated.findings
    status = validated.status
    # Nearly every row has none: "[]" is what json.dumps([]) writes, without the encoder's call.
    stored = json.dumps([x.to_stored() for x in found], ensure_ascii=False) if found else "[]"
    values += (validated.priority, status, stored)
    return values


def record_values(validated: Validated) -> dict[str, Any]:
    """The stored columns that come from the form."""
    return dict(zip(FORM_COLUMNS, _form_values(validated), strict=True))


def new_record(
    validated: Validated,
    office: Office,
    number: str,
    source: dict[str, Any] | None = None,
    stamp: str | None = None,
    applicant_id: str | None = None,
) -> tuple[Any, ...]:
    """The values of NEW_COLUMNS for a validated form: the one way a new record is made, at the
    desk (insert_applicant) and by an import (`stamp` and `applicant_id`, from new_ids, given by
    one that stores many; `source`: SOURCE_COLUMNS, a desk's form when not given)."""
    stamp = stamp or now_iso()
    values = _form_values(validated)
    origin = {**_DESK_SOURCE, **source} if source else _DESK_SOURCE
    name = values[_NAME]
    return (
        *values, applicant_id or new_ids(1)[0], number, office.regency, office.province,
        office.office_code, office.desk, office.operator, office.rules,
        *[origin.get(column) for column in SOURCE_COLUMNS], stamp, stamp,
        serial_of(number), _folded(name),
    )  # fmt: skip


def derived(row: dict[str, Any]) -> dict[str, Any]:
    """The columns computed from others (migration m008): the registration number's serial as an
    integer (`seq`, what listings sort by) and the name as a search compares it (`name_folded`).
    Only those whose sources are in `row` (an edit's changes hold the name or not)."""
    values: dict[str, Any] = {}
    if "registration_number" in row:
        values["seq"] = serial_of(str(row["registration_number"]))
    if "name" in row:
        values["name_folded"] = _folded(row["name"])
    return values


def _folded(name: str | None) -> str | None:
    return fold(name) if name else None


def serial_of(number: str) -> int:
    """3273-D01-000042 -> 42; numbers past 999,999 have more digits (`{serial:06d}`)."""
    return int(number.rsplit("-", 1)[-1])


def insert_rows(db: Database, rows: list[dict[str, Any]]) -> None:
    """Insert complete rows (all with the same columns); call inside a write transaction."""
    if not rows:
        return
    columns = list(rows[0])
    insert_records(db, columns, [[row[c] for c in columns] for row in rows])


def insert_records(db: Database, columns: Sequence[str], records: Sequence[Sequence[Any]]) -> None:
    """Insert rows given as values of `columns` (new_record's: NEW_COLUMNS); call inside a write
    transaction."""
    if not records:
        return
    marks = ", ".join("?" for _ in columns)
    db.conn.executemany(f"INSERT INTO applicants ({', '.join(columns)}) VALUES ({marks})", records)


def insert_applicant(
    db: Database, validated: Validated, office: Office, source: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Store one validated applicant; call inside a write transaction. Returns the stored row."""
    record = new_record(validated, office, reserve_numbers(db, office)[0], source)
    insert_records(db, NEW_COLUMNS, [record])
    return dict(zip(NEW_COLUMNS, record, strict=True))


def find_live_nik(db: Database, nik: str, exclude_id: str | None = None) -> ExistingRecord | None:
    """The live record holding a NIK: a stored one, or one whose personal fields were purged."""
    row = db.execute(
        f"SELECT id, registration_number, name, created_at, {', '.join(FIELDS)} FROM applicants "
        f"WHERE nik = ? AND {LIVE} AND id IS NOT ?",
        [nik, exclude_id],
    ).fetchone()
    if row is not None:
        values = dict(zip(FIELDS, row[4:], strict=True))
        return ExistingRecord(row[0], row[1], row[2], row[3], values=values)
    return find_purged_nik(db, nik)


#: The office key also signs the audit chain: a prefix keeps the two uses apart.
_NIK_HMAC_CONTEXT = b"prakerja purged NIK\x00"
_TOMBSTONE_SALT = b"prakerja purged NIK scrypt salt\x00"
#: How purged_niks rows written before tombstones were slow are keyed (HMAC-SHA256, ~2 us a try).
LEGACY_SCHEME = "hmac-sha256"
#: The cost of one tombstone: scrypt with N=2^10, r=8, p=1 (1 MiB of memory, ~2 ms on the desk's
#: CPU; benchmarks/tombstone_bruteforce.py). It is the price of every NIK a roster import checks
#: (no cheaper prefilter: docs/security.md says why) and of every NIK a brute force tries.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**10, 8, 1
TOMBSTONE_SCHEME = f"scrypt-n{SCRYPT_N}-r{SCRYPT_R}-p{SCRYPT_P}"


def _key(key: bytes | None) -> bytes:
    if key is None:
        from prakerja_cli.config import office_key

        return office_key()
    return key


def nik_hmac(nik: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of a NIK under the office key (`office.key`, the audit trail's), as hex: how
    purged NIKs were kept before `nik_tombstone` (such rows are still recognised)."""
    return hmac.new(_key(key), _NIK_HMAC_CONTEXT + nik.encode(), hashlib.sha256).hexdigest()


def nik_tombstone(nik: str, key: bytes | None = None) -> str:
    """What `prakerja purge` keeps of a NIK: scrypt of the NIK salted with the office key, as hex.
    Enough to recognise the NIK again at this office; deliberately slow, so that whoever holds the
    desk's files (the key included) pays TOMBSTONE_SCHEME's cost for every NIK they try."""
    salt = hmac.new(_key(key), _TOMBSTONE_SALT, hashlib.sha256).digest()
    return hashlib.scrypt(nik.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                          dklen=32).hex()  # fmt: skip


def _digests(nik: str, schemes: set[str], key: bytes, tombstone: str | None = None) -> list[str]:
    """The keyed hashes of a NIK under each scheme the table holds (`tombstone`: computed already)."""
    out = [tombstone or nik_tombstone(nik, key)] if TOMBSTONE_SCHEME in schemes else []
    return [*out, nik_hmac(nik, key)] if LEGACY_SCHEME in schemes else out


def tombstones(niks: list[str], key: bytes) -> dict[str, str]:
    """{NIK: tombstone} for many NIKs, on every CPU (scrypt runs without Python's lock)."""
    from concurrent.futures import ThreadPoolExecutor

    unique = list(dict.fromkeys(niks))
    if len(unique) < 64:
        return {nik: nik_tombstone(nik, key) for nik in unique}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip(unique, pool.map(lambda nik: nik_tombstone(nik, key), unique), strict=True))


def _purged_by_hmac(db: Database, digests: list[str]) -> ExistingRecord | None:
    if not digests:
        return None
    row = db.execute(
        "SELECT a.id, p.registration_number, coalesce(a.created_at, p.purged_at), p.purged_at "
        "FROM purged_niks p LEFT JOIN applicants a ON a.registration_number = p.registration_number "
        f"WHERE p.nik_hmac IN ({', '.join('?' for _ in digests)})",
        digests,
    ).fetchone()
    if row is None:
        return None
    return ExistingRecord(row[0] or "", row[1], "", row[2], purged_at=row[3])


def _schemes(db: Database) -> set[str]:
    return {str(r[0]) for r in db.execute("SELECT DISTINCT scheme FROM purged_niks")}


def find_purged_nik(db: Database, nik: str) -> ExistingRecord | None:
    """The live record whose NIK was purged, found by the NIK's keyed hash."""
    schemes = _schemes(db)
    if not schemes:
        return None  # nothing purged yet: no need for the key
    return _purged_by_hmac(db, _digests(nik, schemes, _key(None)))


def release_purged_nik(db: Database, registration_number: str) -> None:
    """A purged record was withdrawn: its NIK may register again, as any withdrawn one may.
    (A scan of purged_niks: rare enough not to be worth an index of ~90 bytes per purged NIK.)"""
    db.execute("DELETE FROM purged_niks WHERE registration_number = ?", [registration_number])


class PurgedNiks:
    """Every purged NIK's keyed hash, read in one query, to check many NIKs (a roster import):
    one tombstone per NIK (`prepare` computes a file's on every CPU first) and a set lookup;
    nothing at all while nothing has been purged."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.version = self._version()
        rows = db.execute("SELECT nik_hmac, scheme FROM purged_niks").fetchall()
        self.hashes = {str(r[0]) for r in rows}
        self.schemes = {str(r[1]) for r in rows}
        self.key = _key(None) if self.hashes else b""
        self.cache: dict[str, str] = {}

    def _version(self) -> tuple[Any, ...]:
        return tuple(self.db.execute("SELECT count(*), max(purged_at) FROM purged_niks").fetchone())

    def stale(self) -> bool:
        """Has a purge (or a withdrawal of a purged record) changed the table since it was read?"""
        return self._version() != self.version

    def prepare(self, niks: list[str]) -> None:
        """Compute the tombstones of the NIKs `find` will be asked about, all at once."""
        if TOMBSTONE_SCHEME in self.schemes:
            self.cache.update(tombstones([n for n in niks if n not in self.cache], self.key))

    def find(self, nik: str) -> ExistingRecord | None:
        if not self.hashes:
            return None
        digests = _digests(nik, self.schemes, self.key, self.cache.get(nik))
        found = [d for d in digests if d in self.hashes]
        return _purged_by_hmac(self.db, found) if found else None


def count_kk(db: Database, kk: str, exclude_id: str | None = None) -> int:
    """Live records with this KK number; with `exclude_id` (an edit), those registered before
    that record: the first members of a family do not become "one too many" when edited."""
    if exclude_id is None:
        row = db.execute(f"SELECT count(*) FROM applicants WHERE kk = ? AND {LIVE}", [kk])
    else:
        row = db.execute(
            f"SELECT count(*) FROM applicants WHERE kk = ? AND {LIVE} AND id != ? AND "
            "(created_at, rowid) < (SELECT created_at, rowid FROM applicants WHERE id = ?)",
            [kk, exclude_id, exclude_id],
        )
    return int(row.fetchone()[0])


_SIMILAR_COLUMNS = "a.nik, a.name, a.birth_date, a.district, a.kk, a.registration_number"
#: Parameters: born, district, exclude_id, kk, born, exclude_id.
SIMILAR_SQL = (
    f"SELECT {_SIMILAR_COLUMNS} FROM applicants a WHERE a.birth_date = ? "
    f"AND a.district = ? COLLATE NOCASE AND a.{LIVE} AND a.id IS NOT ? "
    f"UNION SELECT {_SIMILAR_COLUMNS} FROM applicants a WHERE a.kk = ? AND a.birth_date = ? "
    f"AND a.{LIVE} AND a.id IS NOT ?"
)


def similar_records(
    db: Database, born: str, district: str | None, kk: str | None, exclude_id: str | None = None
) -> list[Candidate]:
    """Live records born on `born` (ISO) in the kecamatan `district` (any case) or with the KK
    `kk`: what core.similar compares a new form's name with. Two index seeks
    (applicants_birth_district, applicants_kk), a few rows each even in a million records."""
    rows = db.execute(SIMILAR_SQL, [born, district, exclude_id, kk, born, exclude_id])
    return [Candidate(*row) for row in rows]


def similar_records_bulk(
    db: Database, keys: Iterable[tuple[str, str | None, str | None]]
) -> list[Candidate]:
    """similar_records for many (born, district, kk) keys at once (a roster's rows): the keys go
    into a temporary table joined through the same two indexes."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS similar_keys (birth_date, district, kk)")
    db.execute("DELETE FROM temp.similar_keys")
    db.conn.executemany("INSERT INTO temp.similar_keys VALUES (?, ?, ?)", set(keys))
    rows = db.execute(
        f"SELECT {_SIMILAR_COLUMNS} FROM temp.similar_keys k JOIN applicants a "
        f"ON a.birth_date = k.birth_date AND a.district = k.district COLLATE NOCASE "
        f"WHERE a.{LIVE} UNION SELECT {_SIMILAR_COLUMNS} FROM temp.similar_keys k "
        f"JOIN applicants a ON a.kk = k.kk AND a.birth_date = k.birth_date WHERE a.{LIVE}"
    ).fetchall()
    db.execute("DELETE FROM temp.similar_keys")
    return [Candidate(*row) for row in rows]


def _rows(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def get_applicant(db: Database, ref: str) -> dict[str, Any]:
    """Find one applicant by id, registration number, or NIK (the live record first).

    The kind of key is told from its form and only that column is asked, through its index: an
    `id = ? OR registration_number = ? OR nik = ?` reads every row of a large store."""
    ref = ref.strip()
    if not ref:  # was "Applicant  not found" (an empty quote, a variable left empty in a script)
        raise UsageError("error.ref_blank", hint="hint.applicant_search")
    if _NIK.fullmatch(ref):
        # The live record, else the latest withdrawn one: each through its partial index.
        rows = _rows(db, f"SELECT * FROM applicants WHERE nik = ? AND {LIVE}", [ref]) or _rows(
            db, "SELECT * FROM applicants INDEXED BY applicants_withdrawn_nik "
            f"WHERE nik = ? AND {WITHDRAWN} ORDER BY created_at DESC LIMIT 1", [ref],
        )  # fmt: skip
    elif _ID_QUERY.fullmatch(ref):
        rows = _rows(db, "SELECT * FROM applicants WHERE id = ?", [ref.lower()])
    else:
        rows = _rows(db, "SELECT * FROM applicants WHERE registration_number = ?", [ref.upper()])
    if (not rows or rows[0]["status"] == "withdrawn") and _NIK.fullmatch(ref):
        purged = find_purged_nik(db, ref)  # a live record whose NIK was purged comes first
        if purged is not None:
            rows = _rows(
                db, "SELECT * FROM applicants WHERE registration_number = ?",
                [purged.registration_number],
            ) or rows  # fmt: skip
    if not rows:
        # A NIK typed to look someone up is not echoed whole (to the screen, a --json log).
        shown = mask(ref) if _NIK.fullmatch(ref) else ref
        raise NotFoundError("error.applicant_not_found", hint="hint.applicant_search", ref=shown)
    return rows[0]


#: The order of a listing: by time, then by the number's serial as an integer (`seq`, m008), which
#: sorts right past 999,999 where the number as text does not. The index
#: applicants_created_seq holds this order, so the first page is read, not sorted.
NEWEST_FIRST = "created_at DESC, seq DESC, registration_number DESC"
OLDEST_FIRST = "created_at, seq, registration_number"
#: The largest integer SQLite stores; `--limit 99999999999999999999` means "all of them".
SQLITE_MAX_INT = 2**63 - 1


def list_applicants(
    db: Database, *, limit: int | None = None, **filters: Any
) -> list[dict[str, Any]]:
    """Applicants, newest first, filtered (see `_where`)."""
    return list(iter_applicants(db, limit=limit, **filters))


def iter_applicants(
    db: Database, *, limit: int | None = None, oldest_first: bool = False, **filters: Any
) -> Iterator[dict[str, Any]]:
    """Applicants one at a time, read from the database as they are consumed (an export of a
    million records holds a few hundred in memory, not all of them); newest first unless
    `oldest_first`, filtered (see `_where`)."""
    where, params = _where(db, **filters)
    order = OLDEST_FIRST if oldest_first else NEWEST_FIRST
    sql = f"SELECT * FROM applicants{where} ORDER BY {order}"
    if limit:
        # SQLite's integers stop at 2**63 - 1; a larger LIMIT is read as a real and refused.
        sql += f" LIMIT {min(int(limit), SQLITE_MAX_INT)}"
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    while rows := cursor.fetchmany(500):
        for row in rows:
            yield dict(zip(names, row, strict=True))


def count_applicants(db: Database, **filters: Any) -> int:
    """How many applicants `list_applicants` would give without a limit."""
    where, params = _where(db, **filters)
    return int(db.execute(f"SELECT count(*) FROM applicants{where}", params).fetchone()[0])


def where_clause(db: Database, **filters: Any) -> tuple[str, list[Any]]:
    """The WHERE clause `list_applicants` uses for `filters`: a recap counts with the very same
    conditions, so its numbers agree with the listing's."""
    return _where(db, **filters)


def _where(
    db: Database,
    *,
    status: str | None = None,
    statuses: Sequence[str] = (),
    central: str | None = None,
    since: date | None = None,
    until: date | None = None,
    desk: str | None = None,
    operator: str | None = None,
    district: str | None = None,
    village: str | None = None,
    finding: str | None = None,
    gender: str | None = None,
    age: str | None = None,
    education: str | None = None,
    employment: str | None = None,
    priority: str | None = None,
    social_assistance: bool | None = None,
    query: str | None = None,
) -> tuple[str, list[Any]]:
    """The WHERE clause of a listing; `query` as `_search` reads it, `status` one of
    STATUS_FILTERS, `central` one of CENTRAL_STATES, `age` one of AGE_BANDS, `finding` a
    finding code; gender, education, employment and priority as stored (their codes).
    Each is the condition a recap's breakdown groups by, so its counts are the listing's."""
    where: list[str] = []
    params: list[Any] = []
    if status == "registered":
        where.append(f"status IN ({', '.join('?' * len(REGISTERED))})")
        params += REGISTERED
    elif status:
        where.append("status = ?")
        params.append(status)
    if statuses:
        where.append(f"status IN ({', '.join('?' * len(statuses))})")
        params += statuses
    if central == "pending":
        where.append("central_status IS NULL")
    elif central == "parked":
        where.append(IS_PARKED)
    elif central:
        where.append("central_status = ?")
        params.append(central)
    if since:
        where.append("created_at >= ?")
        params.append(since.isoformat())
    if until:
        where.append("substr(created_at, 1, 10) <= ?")
        params.append(until.isoformat())
    if desk:
        where.append("desk = ?")
        params.append(desk.upper())
    if operator:  # any case, as a recap groups them (config set operator is free text)
        where.append("operator = ? COLLATE NOCASE")
        params.append(operator.strip())
    for column, name in (("district", district), ("village", village)):
        if name:
            condition, value = _place_condition(db, column, name)
            where.append(condition)
            params.append(value)
    if finding:
        where.append(HAS_FINDING)
        params.append(finding.strip().upper())
    if age:
        where.append(f"({AGE_BAND}) = ?")
        params.append(age)
    for column, code in (("gender", gender), ("education", education),
                         ("employment", employment), ("priority", priority)):  # fmt: skip
        if code:
            where.append(f"{column} = ?")
            params.append(code)
    if social_assistance is not None:
        where.append("social_assistance = ?")
        params.append(int(social_assistance))
    if query is not None:
        condition, values = _search(db, query)
        where.append(condition)
        params += values
    return (" WHERE " + " AND ".join(where) if where else ""), params


def _place_condition(db: Database, column: str, name: str) -> tuple[str, str]:
    """A kecamatan or desa by its whole name (any case), as a recap shows it; a name no record
    holds whole is looked for as part of a name (`--district cobl` finds COBLONG). Whole first:
    `--district cimahi` must not list CIMAHI SELATAN under the recap's CIMAHI. Names are stored
    as validation writes them (upper case, single spaces), so the whole name is one index seek."""
    wanted = " ".join(name.split()).upper()
    whole = f"{column} = ?"
    if db.execute(f"SELECT 1 FROM applicants WHERE {whole} LIMIT 1", [wanted]).fetchone():
        return whole, wanted
    return f"{column} LIKE ?", f"%{wanted}%"


_NUMBER_QUERY = re.compile(r"\+?[0-9][0-9 .\-()/]*")
#: A whole registration number as `reserve_numbers` makes it (office-desk-sequence), any case.
_REGISTRATION_QUERY = re.compile(r"[0-9]{2,4}-[A-Za-z0-9]{1,8}-[0-9]{6,}")
_ID_QUERY = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _search(db: Database, query: str) -> tuple[str, list[Any]]:
    """The WHERE condition for `applicants search`: a registration number or a record's id (as
    `show` takes them); a number is (the start of) a NIK or KK, or a phone number in any form the
    form accepts; anything else is words of a name, each found in the name in any order,
    compared without accents or case. A blank query is refused: it would match everyone."""
    from prakerja_cli.core.fields import fold, normalise_phone

    text = query.strip()
    if not text:
        raise UsageError("error.search_blank", hint="hint.search_blank")
    if _REGISTRATION_QUERY.fullmatch(text):
        return "registration_number = ?", [text.upper()]  # the UNIQUE index answers
    if _ID_QUERY.fullmatch(text):
        return "id = ?", [text.lower()]
    if _NUMBER_QUERY.fullmatch(text):
        digits = "".join(ch for ch in text if ch.isdigit())
        purged = find_purged_nik(db, digits) if len(digits) == 16 else None
        phone, _ = normalise_phone(text)
        # A prefix as a range (`nik >= '3273' AND nik < '3274'`): the indexes on nik and kk answer
        # it, where `LIKE '3273%'` reads every row. phone = NULL is never true: a text that is no
        # phone number matches no phone.
        start, stop = digits, _next_prefix(digits)
        return (
            f"((nik >= ? AND nik < ? AND {LIVE}) OR (nik >= ? AND nik < ? AND {WITHDRAWN}) "
            "OR (kk >= ? AND kk < ?) OR phone = ? OR registration_number = ?)",
            [start, stop, start, stop, start, stop, phone,
             purged.registration_number if purged else None],
        )  # fmt: skip
    # Each word a substring of the folded name (m008): SQLite reads the narrow name_folded index
    # (the rowids whose name holds the words), not every row through a Python function.
    words = fold(text).split()
    found = " AND ".join("instr(name_folded, ?) > 0" for _ in words)
    return f"rowid IN (SELECT rowid FROM applicants WHERE {found})", words


def _next_prefix(digits: str) -> str:
    """The first text after every one that starts with `digits` ("3273" -> "3274", "" -> ":"):
    ':' follows '9' in ASCII, so "39" -> "3:" and "" -> ":" are still upper bounds."""
    if not digits:
        return ":"
    return digits[:-1] + chr(ord(digits[-1]) + 1)


def update_applicant(db: Database, applicant_id: str, changes: dict[str, Any]) -> None:
    """Write changed columns; call inside a write transaction."""
    changes = {**changes, **derived(changes), "updated_at": now_iso()}
    assignments = ", ".join(f"{name} = ?" for name in changes)
    db.execute(
        f"UPDATE applicants SET {assignments} WHERE id = ?", [*changes.values(), applicant_id]
    )


def stored_findings(row: dict[str, Any]) -> list[Finding]:
    return [Finding.from_stored(x) for x in json.loads(row.get("findings") or "[]")]


def status_counts(db: Database) -> dict[str, int]:
    return dict(db.execute("SELECT status, count(*) FROM applicants GROUP BY status").fetchall())
