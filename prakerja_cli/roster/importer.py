"""Import a roster: every row through the desk's validation core, plus duplicates inside the file
and against the store; valid rows stored in one transaction, so a crash leaves nothing half-done
and a rerun ends where one uninterrupted run would.
"""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from prakerja_cli.core.findings import Code, Finding, Severity, error, info
from prakerja_cli.core.nik import clean_number
from prakerja_cli.core.rules import load_rule_set
from prakerja_cli.core.similar import Candidate, blocks, key_of, possible_duplicate
from prakerja_cli.core.validate import (
    FIELDS,
    Checked,
    ExistingRecord,
    Validated,
    ValidationContext,
    check_against_store,
    differing_fields,
    duplicate_finding,
)
from prakerja_cli.office import Workspace
from prakerja_cli.roster.columns import COMBINED, STORED_AS, header_key
from prakerja_cli.roster.headers import HeaderMap, find_header, parse_overrides
from prakerja_cli.roster.read import RosterError, Sheet, Workbook, open_roster
from prakerja_cli.roster.rows import (
    MIN_SHARE,
    NOT_APPLICANT,
    TOTAL,
    Layout,
    blank_row,
    checks_in_order,
    cores,
)
from prakerja_cli.roster.writer import CACHE_KIB, Writer
from prakerja_cli.store import applicants as store
from prakerja_cli.store import audit
from prakerja_cli.store.db import write
from prakerja_cli.store.numbering import Numbers, reserve_numbers
from prakerja_cli.store.regions import office_places, region_names
from prakerja_cli.sync import outbox

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database


class Progress(Protocol):
    """How far an import is: `done` of `total` rows checked and compared with the store (phase
    "check"; similar records are looked for meanwhile), then, while the records are written (phase
    "store"), `done` of `total` records written; `total` None while the count is not known."""

    def __call__(self, done: int, total: int | None, phase: str = "check") -> None: ...


#: Rows built and inserted at a time: the whole file is still one transaction, but 100k complete
#: rows are never held at once (that added ~60 MB to the peak memory of a 100k-row import).
_INSERT_CHUNK = 5000
#: A roster file this big or bigger (~5,000 rows of csv, ~10,000 of xlsx) is written by a writer
#: process (a smaller one is written in ~1 s here, little more than the writer's start costs).
WRITER_FROM_BYTES = 1_000_000
_ID = store.NEW_COLUMNS.index("id")
#: Rows compared with similar records at a time, while the later rows are checked.
_SIMILAR_CHUNK = 2000
#: How often (rows) the import reports its progress.
_PROGRESS_EVERY = 1000
#: Sheets searched for a header when --sheet is not given (each may be as big as the limits).
_MAX_SHEETS_TRIED = 16


@dataclass(slots=True)
class RowResult:
    """What became of one data row; `row` is the row number as Excel shows it."""

    row: int
    cells: list[Any]
    outcome: str  # stored, warned, rejected, unchanged, updated, skipped
    findings: list[Finding] = field(default_factory=list)
    validated: Validated | None = None
    #: The registration the row is stored as: a new one, the one an update changes, or (a row of
    #: our error report) the one its STORED_AS cell names. `changed`: the fields (names only) an
    #: update changes.
    registration_number: str | None = None
    changed: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImportResult:
    file: str
    sheet: str
    sha256: str
    header: HeaderMap
    first_row: int
    rows: list[RowResult]
    dry_run: bool

    def count(self, *outcomes: str) -> int:
        return sum(1 for r in self.rows if r.outcome in outcomes)

    @property
    def stored(self) -> int:
        """Rows stored by this run (new or updated), with or without warnings."""
        return self.count("stored", "warned", "updated")

    @property
    def warned(self) -> int:
        return self.count("warned")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def skipped(self) -> int:
        """Total rows, and rows already stored with the same content by an earlier import."""
        return self.count("skipped", "unchanged")

    @property
    def updated(self) -> int:
        """Rows whose stored registration this run changed (--update); part of `stored`."""
        return self.count("updated")

    def rejected_by_code(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for r in self.rows:
            if r.outcome == "rejected":
                counts.update({str(f.code) for f in r.findings if f.blocking})
        return dict(counts.most_common())


@dataclass(slots=True)
class _Stored:
    """A live record already in the store, as the import compares against it."""

    existing: ExistingRecord
    values: dict[str, Any]


def choose_sheet(
    book: Workbook, wanted: str | None, overrides: dict[str, str]
) -> tuple[Sheet, HeaderMap]:
    """The sheet asked for, or the first whose header the mapping recognises and that has a row
    under it: a blank copy of the template ahead of the filled-in sheet must not stand for the
    roster (it would import nothing, and say so with exit 0). With no such sheet, the first
    recognised one (the import then says it holds no applicant)."""
    names = book.sheets
    if wanted is not None:
        match = [n for n in names if n == wanted] or [
            n for n in names if n.lower() == wanted.lower()
        ]
        if not match:
            raise RosterError("error.roster_sheet", hint="hint.roster_sheets", file=book.path.name,
                              sheet=wanted, sheets=", ".join(names))  # fmt: skip
        names = match[:1]
    # Visible sheets first: a hidden or "very hidden" one is not what the clerk sees in Excel.
    ordered = [n for n in names if n not in book.hidden] + [n for n in names if n in book.hidden]
    empty: tuple[Sheet, HeaderMap] | None = None
    lone_nik: HeaderMap | None = None  # a NIK column with too few others to be sure of
    for name in ordered[:_MAX_SHEETS_TRIED]:
        sheet = book.sheet(name)
        header = find_header(sheet.rows, overrides)
        if header is None and lone_nik is None:
            lone_nik = find_header(sheet.rows, overrides, min_fields=1)
        if header is not None:
            if wanted is not None or not all(map(blank_row, sheet.rows[header.row_index + 1 :])):
                if wanted is None and name in book.hidden:
                    raise RosterError("error.roster_only_hidden", hint="hint.roster_only_hidden",
                                      file=book.path.name, sheet=name)  # fmt: skip
                return sheet, header
            empty = empty or (sheet, header)  # header only: kept (small), the next sheets tried
        if empty is None or empty[0] is not sheet:
            book.forget(name)  # one sheet in memory at a time, however many the workbook lists
    if empty is not None:
        return empty
    if lone_nik is not None:
        _refuse_missing_columns(book.path, lone_nik)
    if len(ordered) > _MAX_SHEETS_TRIED:
        raise RosterError("error.roster_no_header_more", hint="hint.roster_no_header_more",
                          file=book.path.name, tried=_MAX_SHEETS_TRIED, count=len(ordered),
                          sheets=", ".join(ordered[_MAX_SHEETS_TRIED:]))  # fmt: skip
    raise RosterError("error.roster_no_header", hint="hint.roster_map", file=book.path.name)


def _refuse_missing_columns(path: Path, header: HeaderMap) -> None:
    missing = header.missing_required()
    if missing:
        from prakerja_cli.i18n import field_label

        raise RosterError("error.roster_missing_columns", hint="hint.roster_map", file=path.name,
                          columns=", ".join(field_label(m) for m in missing))  # fmt: skip


_STORED_COLUMNS = ("id", "registration_number", "name", "created_at",
                   *[f for f in FIELDS if f != "name"])  # fmt: skip
#: Host parameters per IN (...): SQLite before 3.32 allows 999 in one statement.
_LOOKUP_CHUNK = 500


class _Known:
    """The live stored records an import compares its rows with, looked up through the indexes for
    the NIKs, KK numbers and registration numbers that the file holds, not read whole: a store of
    a million records is ~1.6 GB of Python objects. The file's cells are read once up front and
    asked for in batches; a value that only validation gives (a NIK typed with dots, a number
    cell, a combined column) is asked for alone when the row meets it. A purged record has neither
    NIK nor KK here: its NIK is checked by its keyed hash, see store.PurgedNiks."""

    def __init__(self, ws: Workspace) -> None:
        self.db = ws.db
        self._by_nik: dict[str, _Stored | None] = {}
        self._by_number: dict[str, _Stored | None] = {}
        self._by_id: dict[str, _Stored] = {}  # one object per record: `owner is known` holds
        self._kk: dict[str, int] = {}

    def prefetch(self, niks: set[str], kks: set[str], numbers: set[str]) -> None:
        self._fetch("nik", [n for n in niks if n not in self._by_nik])
        self._fetch("registration_number", [n for n in numbers if n not in self._by_number])
        wanted = [k for k in kks if k not in self._kk]
        self._kk.update(dict.fromkeys(wanted, 0))
        for part in _chunks(wanted):
            rows = self.db.execute(
                f"SELECT kk, count(*) FROM applicants WHERE kk IN ({', '.join('?' * len(part))}) "
                f"AND {store.LIVE} AND purged_at IS NULL GROUP BY kk",
                part,
            )
            self._kk.update((str(kk), int(count)) for kk, count in rows)

    def _fetch(self, column: str, keys: list[str]) -> None:
        found = self._by_nik if column == "nik" else self._by_number
        found.update(dict.fromkeys(keys))
        for part in _chunks(keys):
            rows = self.db.execute(
                f"SELECT {', '.join(_STORED_COLUMNS)} FROM applicants "
                f"WHERE {column} IN ({', '.join('?' * len(part))}) "
                f"AND {store.LIVE} AND purged_at IS NULL",
                part,
            )
            for values in rows:
                record = self._record(dict(zip(_STORED_COLUMNS, values, strict=True)))
                found[str(values[_STORED_COLUMNS.index(column)])] = record

    def _record(self, row: dict[str, Any]) -> _Stored:
        known = self._by_id.get(row["id"])
        if known is None:
            existing = ExistingRecord(
                row["id"], row["registration_number"], row["name"], row["created_at"]
            )
            known = self._by_id[row["id"]] = _Stored(existing, {f: row[f] for f in FIELDS})
        return known

    def by_nik(self, nik: str) -> _Stored | None:
        if nik not in self._by_nik:
            self._fetch("nik", [nik])
        return self._by_nik[nik]

    def by_number(self, number: str) -> _Stored | None:
        if not number:
            return None
        if number not in self._by_number:
            self._fetch("registration_number", [number])
        return self._by_number[number]

    def kk_count(self, kk: str) -> int:
        if kk not in self._kk:
            self.prefetch(set(), {kk}, set())
        return self._kk[kk]


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        yield keys[start : start + _LOOKUP_CHUNK]


def _file_keys(data: list[list[Any]], col: int | None, length: int | None = 16) -> set[str]:
    """The values a column of the file holds, as the store writes them (digits of a NIK or KK, an
    upper-case registration number): what to look up in one go before the rows are checked."""
    if col is None:
        return set()
    keys: set[str] = set()
    for cells in data:
        value = cells[col] if col < len(cells) else None
        if value is None:
            continue
        if length is None:
            keys.add(str(value).strip().upper())
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = value if isinstance(value, str) else str(value)
        digits = text if text.isdigit() else "".join(ch for ch in text if ch.isdigit())
        if len(digits) == length:
            keys.add(digits)
    return keys


def _nik_cell(cells: list[Any], col: int) -> str | None:
    """A row's NIK cell as validation will read it, when it can be a NIK (16 digits)."""
    value = cells[col] if col < len(cells) else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    digits = clean_number(str(value)) if value is not None else ""
    return digits if len(digits) == 16 and digits.isdigit() else None


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (also as a decorator). An import's rows make no cycles
    worth collecting, and the collector's full passes over a sheet's million cells cost a
    100k-row import ~1.5 s (measured: 12.5-12.9 s paused, 14.0-14.7 s not; same peak memory).
    The roster command keeps it paused while it reports too: the rows are still alive then."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@paused_gc()
def import_roster(
    ws: Workspace,
    path: Path,
    *,
    sheet: str | None = None,
    mapping: list[str] | None = None,
    dry_run: bool = False,
    update: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    apart: bool | None = None,
) -> ImportResult:
    """Validate every row of a roster and store the valid ones (see the module docstring), the
    rows' own checks on `jobs` processes (default: one per CPU; roster/rows.py), the records
    written by a writer process (roster/writer.py) where `apart` (default: a file of at least
    WRITER_FROM_BYTES)."""
    if apart is None:
        apart = path.stat().st_size >= WRITER_FROM_BYTES if path.is_file() else False
    writer = Writer.start(ws.office) if apart and not dry_run else None
    try:
        return _import(ws, path, sheet, mapping, dry_run, update, today, progress, jobs, writer)
    finally:
        if writer is not None:
            writer.stop()


def _import(
    ws: Workspace,
    path: Path,
    sheet: str | None,
    mapping: list[str] | None,
    dry_run: bool,
    update: bool,
    today: date | None,
    progress: Progress | None,
    jobs: int | None,
    writer: Writer | None,
) -> ImportResult:
    overrides = parse_overrides(mapping or [])
    book = open_roster(path, sheet)
    chosen, header = choose_sheet(book, sheet, overrides)
    _refuse_missing_columns(path, header)
    # From here the writer holds the store's write lock: what is looked up below stays true
    # until the import commits.
    if writer is not None and not writer.lock():
        writer.stop()  # it could not start or lock: written in this process, as a small file is
        writer = None
    source = _source(path.name, chosen.name, book.sha256)
    sent = _Sent(ws, writer, source) if writer is not None else None

    known_records = _Known(ws)
    purged = store.PurgedNiks(ws.db)
    file_kk: Counter[str] = Counter()
    regions = region_names(ws.db)
    ctx = ValidationContext(
        rules=load_rule_set(ws.config.rules),
        today=today or date.today(),
        regions=regions.get,
        places=office_places(ws.db, ws.office.office_code, ws.office.regency),
        # Stored live NIKs are compared below (same content: unchanged); a purged one is refused.
        find_live_nik=purged.find,
        kk_members=lambda kk: known_records.kk_count(kk) + file_kk[kk],
        memo={},  # this import's value-only checks, each distinct value once (see BY_VALUE)
    )
    # Our error report names the registration each warned row is stored as: a fixed row is
    # applied to it (the clerk was told to import the report as it is), where another file's row
    # with a stored NIK and other content needs --update.
    stored_as = _stored_as_column(header)
    nik_col = next(col for col, name in header.columns.items() if name == "nik")
    kk_col = next((col for col, name in header.columns.items() if name == "kk"), None)
    combined = any(name in COMBINED for name in header.columns.values())
    first_data = chosen.first_row + header.row_index + 1
    data = chosen.rows[header.row_index + 1 :]
    known_records.prefetch(
        _file_keys(data, nik_col), _file_keys(data, kk_col), _file_keys(data, stored_as, None)
    )
    # A purged NIK is found by its slow keyed hash: those of the file's NIKs that are not stored
    # live (a NIK is one or the other), on every CPU, first.
    purged.prepare(
        [
            nik
            for cells in data
            if (nik := _nik_cell(cells, nik_col)) and known_records.by_nik(nik) is None
        ]
    )
    seen: dict[str, int] = {}
    results: list[RowResult] = []
    similar = _Similar(ws.db)
    deciding = 0  # results[deciding:] are not yet compared with similar records
    total = len(data)
    layout = Layout(tuple(header.columns.items()), combined)
    # --jobs N splits even a small file; by default, one process per CPU for a big file. Never
    # more than the CPUs: more processes than CPUs only take turns.
    share = 1 if jobs else MIN_SHARE
    checks = checks_in_order(data, layout, ctx, min(jobs or cores(), cores()), share)
    with closing(checks):  # a failure below ends the workers at once
        for offset, (cells, check) in enumerate(zip(data, checks, strict=True)):
            if progress is not None and offset % _PROGRESS_EVERY == 0:
                progress(offset, total)
            number = first_data + offset
            if check is None:
                continue  # a blank row
            if check == TOTAL:
                results.append(RowResult(number, cells, "skipped"))
                continue
            if check == NOT_APPLICANT:
                skipped = [info(Code.ROW_NOT_APPLICANT, "nik")]
                results.append(RowResult(number, cells, "skipped", skipped))
                continue
            assert isinstance(check, Checked)
            validated = check_against_store(check, ctx)
            findings = validated.findings
            nik = validated.values.get("nik")
            outcome = "rejected" if validated.rejected else "pending"
            differs: list[str] = []
            updates: str | None = None  # the registration number an updated row changes
            owner = (
                known_records.by_number(_stored_as(cells, stored_as))
                if stored_as is not None
                else None
            )
            if nik:
                if nik in seen:
                    findings.append(error(Code.NIK_DUPLICATE_IN_FILE, "nik", first_row=seen[nik]))
                    outcome = "rejected"
                else:
                    seen[nik] = number
                    known = known_records.by_nik(nik)
                    if owner is not None and owner is not known:
                        # A report's stored row whose NIK was changed: storing it would register the
                        # person twice, updating by the number could overwrite another person.
                        claimed = owner.existing.registration_number
                        findings.append(
                            error(Code.REPORT_NIK_CHANGED, "nik", registration_number=claimed)
                        )
                        outcome = "rejected"
                    elif known is not None and outcome != "rejected":
                        differs = differing_fields(known.values, validated.values)
                        if not differs:
                            outcome = "unchanged"
                        elif update or owner is known:
                            outcome = "updated"
                            updates = known.existing.registration_number
                        else:
                            findings.append(duplicate_finding(known.existing, differs))
                            outcome = "rejected"
            if outcome == "pending":
                outcome = "warned" if validated.status == "flagged" else "stored"
                file_kk[validated.values["kk"]] += 1
            changed = differs if updates else []
            number_of = updates or (owner.existing.registration_number if owner else None)
            results.append(
                RowResult(number, cells, outcome, findings, validated, number_of, changed)
            )
            if len(results) - deciding >= _SIMILAR_CHUNK:
                similar.mark(results[deciding:])
                if sent is not None:  # written by the writer while later rows are checked
                    sent.send(results[deciding:])
                deciding = len(results)
    similar.mark(results[deciding:])
    del similar  # its blocks (~50 MB at 100k rows) are not needed while the records are written
    if progress is not None:
        progress(total, total)
        if not dry_run:  # the records written: a few seconds at 100k rows
            progress(0, None, "store")
    result = ImportResult(path.name, chosen.name, book.sha256, header, first_data, results, dry_run)
    if sent is not None:
        sent.send(results[deciding:])
        if _finished(sent, result, known_records):
            if progress is not None:
                progress(len(sent.created), len(sent.created), "store")
            return result
        sent.writer.stop()
        if sent.committed():
            return result  # it committed, and died before it could say so
        # It failed and committed nothing: written here instead.
        for r in sent.numbered:
            r.registration_number = None  # numbered again by _store
    if not dry_run:
        _store(ws, result, known_records, purged, progress)
    return result


class _Similar:
    """POSSIBLE_DUPLICATE (core/similar.py) on the rows about to be stored, a chunk at a time as
    the import decides them: against the store's records (looked up in bulk through the indexes)
    and the file's earlier rows. A warned row is stored
    flagged, as any warning makes it. Done while workers still check later rows, so that this
    process, which asks the store about every row in order, has less left when they finish."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # By block: the store's records (in registration-number order, so that a tie between two
        # of them names the same one whichever chunk found it), then the file's earlier rows.
        self.stored: dict[tuple[str, str], list[Candidate]] = {}
        # The file's rows by their blocks' hashes, as the rows themselves: one small entry a row
        # while the rest of the file is checked (a hash shared by another block only adds a
        # candidate that possible_duplicate passes over: it compares the day and the block).
        self.rows: dict[int, list[RowResult | Candidate]] = {}
        self.found: set[str | None] = set()  # registration numbers of the store's records held

    def mark(self, results: list[RowResult]) -> None:
        keyed = [
            (r, key)
            for r in results
            if r.outcome in ("stored", "warned")
            and r.validated is not None
            and (key := key_of(r.validated.values)) is not None
        ]
        wanted = {key for _, key in keyed}  # nearly one per row: not worth remembering
        touched: set[tuple[str, str]] = set()
        for other in store.similar_records_bulk(self.db, wanted) if wanted else ():
            if other.registration_number in self.found:
                continue  # found again through another of its blocks
            self.found.add(other.registration_number)
            for block in blocks(other.birth_date, other.district, other.kk):
                self.stored.setdefault(block, []).append(other)
                touched.add(block)
        for block in touched:
            self.stored[block].sort(key=lambda c: c.registration_number or "")
        for r, (born, district, kk) in keyed:
            values = r.validated.values if r.validated is not None else {}
            mine = blocks(born, district, kk)
            near = [hash(block) for block in mine]
            candidates: list[Candidate] = []
            for block, at in zip(mine, near, strict=True):
                candidates += self.stored.get(block, ())
                earlier = self.rows.get(at, [])
                for i, row in enumerate(earlier):
                    if isinstance(row, RowResult):
                        earlier[i] = row = _candidate(row)  # made once, then kept
                    candidates.append(row)
            if candidates and (found := possible_duplicate(values, candidates)):
                r.findings.extend(found)
                r.outcome = "warned"
            for at in near:
                self.rows.setdefault(at, []).append(r)


def _candidate(r: RowResult) -> Candidate:
    """An earlier row of the file as a possible duplicate of a later one."""
    values = r.validated.values if r.validated is not None else {}
    born, district, kk = key_of(values) or ("", None, None)
    return Candidate(values["nik"], values["name"], born, district, kk, row=r.row)


class _Sent:
    """The new records built as the import decides them and sent to the writer process
    (roster/writer.py), which holds the write lock from before the first look-up: the counter,
    the stored NIKs and the purged ones cannot change meanwhile, so none of `_store`'s late checks
    is needed. The numbers are taken from the counter here and reserved by the writer."""

    def __init__(self, ws: Workspace, writer: Writer, source: dict[str, Any]) -> None:
        self.ws, self.writer, self.source = ws, writer, source
        self.numbers: Numbers | None = None  # at the first new record (a locked desk fails then)
        self.first = 0
        self.stamp = store.now_iso()
        self.created: list[str] = []
        self.numbered: list[RowResult] = []
        # The audit trail's last entry while the writer holds the lock: the import's own entries
        # follow it, whatever else waits to write (see committed).
        self.after = audit.head(ws.db)[0]
        self.entries: tuple[int, dict[str, Any]] | None = None

    def send(self, chunk: list[RowResult]) -> None:
        new = [r for r in chunk if r.outcome in ("stored", "warned") and r.validated is not None]
        if not new:
            return
        if self.numbers is None:
            self.numbers = Numbers(self.ws.db, self.ws.office)
            self.first = self.numbers.issued + 1
        given = self.numbers.take(len(new))
        for start in range(0, len(new), _INSERT_CHUNK):
            part = slice(start, start + _INSERT_CHUNK)
            ids = store.new_ids(len(new[part]))
            records = [
                store.new_record(
                    r.validated,
                    self.ws.office,
                    number,
                    {**self.source, "source_row": r.row},
                    self.stamp,
                    key,
                )
                for r, number, key in zip(new[part], given[part], ids, strict=True)
                if r.validated is not None
            ]
            for r, number in zip(new[part], given[part], strict=True):
                r.registration_number = number  # the error report names it (STORED_AS)
            self.numbered += new[part]
            self.writer.send(("insert", records))
            self.created += (record[_ID] for record in records)

    def finish(self, result: ImportResult, known_records: _Known) -> bool:
        """The updated rows and the import's audit entry sent, then the commit; true once the
        writer has committed."""
        updates = [r for r in result.rows if r.outcome == "updated"]
        for r in updates:
            self.writer.send(("update", *_edit(self.ws, result, r, known_records, self.source)))
        details = _import_details(result, len(self.created), len(updates))
        self.entries = (len(updates) + 1, details)
        count = len(self.created)
        return self.writer.finish(("finish", self.first, count, details, self.created))

    def committed(self) -> bool:
        """Whether a writer that gave no "done" committed all the same (it died between its
        commit and its answer): its transaction appended the updated rows' entries, then the
        import's, right after the audit's head as it was when it took the lock. Asked of the
        store, not of the records: an import of --update rows only creates none."""
        if self.entries is None:
            return False  # it failed before "finish": it cannot have committed
        count, details = self.entries
        row = self.ws.db.execute(
            "SELECT action, details FROM audit WHERE seq = ?", [self.after + count]
        ).fetchone()
        return row is not None and row[0] == "import" and json.loads(row[1]) == details


def _finished(sent: _Sent, result: ImportResult, known_records: _Known) -> bool:
    """`sent.finish`, where Ctrl+C while the writer commits tells what happened. On Windows a
    pipe read is not interrupted: the KeyboardInterrupt comes only with the writer's "done",
    once the import is stored (the writer ignores Ctrl+C), and is then no cancellation; on POSIX
    it comes at once, the writer is ended, and committed() says whether it had committed."""
    try:
        return sent.finish(result, known_records)
    except KeyboardInterrupt:
        sent.writer.stop()
        if sent.committed():
            return True
        raise


def _source(file: str, sheet: str, sha256: str) -> dict[str, Any]:
    """The source columns of the records an import writes (and of the rows it updates)."""
    return {"source": "roster", "source_file": file, "source_sheet": sheet, "source_sha256": sha256}


def _edit(
    ws: Workspace, result: ImportResult, r: RowResult, known: _Known, source: dict[str, Any]
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """An updated row as an edit: the stored record's id, what changes in it, and its audit
    entry's details (without the central side, which writing the edit gives)."""
    assert r.validated is not None
    stored = known.by_nik(r.validated.values["nik"])
    assert stored is not None  # an updated row's NIK was found stored
    changes = {**store.record_values(r.validated), **source, "source_row": r.row,
               "rules": ws.config.rules}  # fmt: skip
    details = {
        "registration_number": stored.existing.registration_number,
        "source": result.file, "row": r.row,
        "fields": audit.changed_fields(stored.values, changes, list(FIELDS)),
    }  # fmt: skip
    return stored.existing.id, changes, details


def _import_details(result: ImportResult, stored: int, updated: int) -> dict[str, Any]:
    """The details of an import's audit entry."""
    return {"file": result.file, "sheet": result.sheet, "sha256": result.sha256,
            "stored": stored, "updated": updated, "rejected": result.rejected}  # fmt: skip


def _store(
    ws: Workspace,
    result: ImportResult,
    known_records: _Known,
    purged: store.PurgedNiks,
    progress: Progress | None = None,
) -> None:
    """Write the new and updated rows in one transaction (all or nothing)."""
    new = [r for r in result.rows if r.outcome in ("stored", "warned")]
    updates = [r for r in result.rows if r.outcome == "updated"]
    source = _source(result.file, result.sheet, result.sha256)
    with write(ws.db), _page_cache(ws.db, CACHE_KIB):
        # A desk may have registered one of these NIKs since the file was checked.
        taken = _live_niks(ws, [r.validated.values["nik"] for r in new if r.validated])
        for r in new:
            if r.validated and r.validated.values["nik"] in taken:
                existing = store.find_live_nik(ws.db, r.validated.values["nik"])
                if existing is not None:
                    r.findings.append(duplicate_finding(existing))
                r.outcome = "rejected"
        if purged.stale():  # a purge ran since the file was checked
            purged = store.PurgedNiks(ws.db)
            for r in [*new, *updates]:
                existing = purged.find(r.validated.values["nik"]) if r.validated else None
                if existing is not None and r.outcome != "rejected":
                    r.findings.append(duplicate_finding(existing))
                    r.outcome = "rejected"
        new = [r for r in new if r.outcome != "rejected"]
        updates = [r for r in updates if r.outcome != "rejected"]
        numbers = reserve_numbers(ws.db, ws.office, len(new)) if new else []
        stamp = store.now_iso()
        created: list[str] = []
        hashes = audit.NewRecordHashes(ws.db, store.NEW_COLUMNS)
        for start in range(0, len(new), _INSERT_CHUNK):
            chunk = slice(start, start + _INSERT_CHUNK)
            ids = store.new_ids(len(new[chunk]))
            records = [
                store.new_record(
                    r.validated, ws.office, number, {**source, "source_row": r.row}, stamp, key
                )
                for r, number, key in zip(new[chunk], numbers[chunk], ids, strict=True)
                if r.validated is not None
            ]
            for r, number in zip(new[chunk], numbers[chunk], strict=True):
                r.registration_number = number  # the error report names it (STORED_AS)
            hashes.add(records)  # before the insert: the records as they are stored
            store.insert_records(ws.db, store.NEW_COLUMNS, records)
            created += (record[_ID] for record in records)
            if progress is not None:
                progress(len(created), len(new), "store")
        for r in updates:
            applicant_id, changes, details = _edit(ws, result, r, known_records, source)
            central = outbox.write_edit(ws.db, applicant_id, changes)
            audit.record(ws.db, ws.office, "edit", applicant_id,
                         {**details, **central.audit_details()})  # fmt: skip
        details = _import_details(result, len(new), len(updates))
        audit.record(
            ws.db, ws.office, "import", None, details, touched=created, known=hashes.hashes
        )


@contextmanager
def _page_cache(db: Database, kib: int) -> Iterator[None]:
    """A larger SQLite page cache for this connection while the block runs."""
    before = int(db.execute("PRAGMA cache_size").fetchone()[0])
    db.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size = {before}")


def _live_niks(ws: Workspace, niks: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(niks), 500):
        chunk = niks[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        cursor = ws.db.execute(
            f"SELECT nik FROM applicants WHERE nik IN ({marks}) AND {store.LIVE}", chunk
        )
        found.update(row[0] for row in cursor)
    return found


def _stored_as_column(header: HeaderMap) -> int | None:
    """Where our error report names the registration each warned row is stored as (None: the
    file is no report of ours)."""
    wanted = header_key(STORED_AS)
    return next(
        (col for col, name in enumerate(header.headers) if header_key(name) == wanted), None
    )


def _stored_as(cells: list[Any], col: int | None) -> str:
    """The registration number a report's row names ("" when none)."""
    value = cells[col] if col is not None and col < len(cells) else None
    return "" if value is None else str(value).strip().upper()


def severity_of(result: RowResult) -> Severity | None:
    """The worst severity among a row's findings (None when it has none)."""
    severities = {f.severity for f in result.findings}
    for level in (Severity.ERROR, Severity.WARNING, Severity.INFO):
        if level in severities:
            return level
    return None
