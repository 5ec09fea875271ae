"""Read a roster file into rows of typed cells: xlsx/xlsm/xls/ods with python-calamine, csv/txt with
the csv module (encoding and delimiter detected). Untrusted input: every failure is a RosterError.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prakerja_cli.errors import UsageError

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt")
#: Bounds that keep a hostile file from exhausting memory or time.
MAX_COLUMNS = 512
MAX_ROWS = 1_100_000
MAX_CSV_LINE = 1 << 20  # 1 MiB: no honest roster line is longer
MAX_CELL = 32_767  # Excel's own limit for a cell's text
_SNIFF_BYTES = 1 << 16


class RosterError(UsageError):
    """A roster file that cannot be read: one line naming the file and what to do."""


@dataclass(slots=True)
class Sheet:
    name: str
    rows: list[list[Any]]
    #: First row's number as Excel (or a text editor) shows it; rows[i] is row first_row + i.
    first_row: int = 1


@dataclass(slots=True)
class Workbook:
    path: Path
    sha256: str
    sheets: list[str]
    kind: str  # "spreadsheet" or "csv"
    _loaded: dict[str, Sheet] = field(default_factory=dict)

    def sheet(self, name: str) -> Sheet:
        if name not in self._loaded:
            self._loaded[name] = _read_sheet(self, name)
        return self._loaded[name]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_roster(path: Path) -> Workbook:
    """Open a roster: check it exists and is a kind we read; list its sheets."""
    if not path.is_file():
        raise RosterError("error.file_missing", hint="hint.check_path", file=str(path))
    suffix = path.suffix.lower()
    try:
        sha = file_sha256(path)
    except OSError as exc:
        raise RosterError(
            "error.roster_unreadable",
            hint="hint.roster_resave",
            file=path.name,
            reason=exc.strerror,
        ) from None
    if suffix in CSV_SUFFIXES:
        return Workbook(path, sha, [path.stem], "csv")
    if suffix not in SPREADSHEET_SUFFIXES:
        raise RosterError("error.roster_kind", hint="hint.roster_kinds", file=path.name)
    workbook = _calamine(path)
    try:
        names = [m.name for m in workbook.sheets_metadata if str(m.typ).endswith("WorkSheet")]
    finally:
        workbook.close()
    return Workbook(path, sha, names or list(workbook.sheet_names), "spreadsheet")


def _calamine(path: Path, *, checked: bool = False) -> Any:
    from python_calamine import CalamineWorkbook

    if not checked and path.suffix.lower() in (".xlsx", ".xlsm"):
        _check_xlsx(path)
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several kinds for damaged files
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: BaseException) -> RosterError:
    name = type(exc).__name__
    if "Password" in name or "password" in str(exc).lower() or "encrypt" in str(exc).lower():
        return RosterError("error.roster_password", hint="hint.roster_password", file=path.name)
    reason = str(exc).splitlines()[0][:200] if str(exc) else name
    return RosterError(
        "error.roster_unreadable", hint="hint.roster_resave", file=path.name, reason=reason
    )


def _check_xlsx(path: Path) -> None:
    """Refuse an xlsx whose sheets claim more rows or columns than a roster can have.

    calamine holds a sheet as a dense grid, so one cell at XFD1048576 would ask for billions of
    cells. The <dimension> element and the cell references are read from the zip as a stream.
    """
    import re
    import zipfile

    ref = re.compile(
        rb'<(?:c|dimension)\b[^>]*?\br(?:ef)?="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"'
    )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if _looks_encrypted(path):
            raise RosterError(
                "error.roster_password", hint="hint.roster_password", file=path.name
            ) from None
        raise _unreadable(path, exc) from None
    with archive:
        for info in archive.infolist():
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            try:
                with archive.open(info) as stream:
                    tail = b""
                    for block in iter(lambda: stream.read(1 << 20), b""):
                        chunk = tail + block
                        for match in ref.finditer(chunk):
                            for col, row in ((match[1], match[2]), (match[3], match[4])):
                                if col and (
                                    _column_number(col) > MAX_COLUMNS or int(row) > MAX_ROWS
                                ):
                                    raise RosterError(
                                        "error.roster_too_big", hint="hint.roster_resave", file=path.name,
                                        limit=f"{MAX_COLUMNS} x {MAX_ROWS}",
                                    )  # fmt: skip
                        tail = chunk[-256:]
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
                raise _unreadable(path, exc) from None


def _looks_encrypted(path: Path) -> bool:
    """Password-protected xlsx files are OLE compound files holding an EncryptedPackage."""
    with path.open("rb") as handle:
        head = handle.read(8)
    return head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def _read_sheet(book: Workbook, name: str) -> Sheet:
    if book.kind == "csv":
        return Sheet(name, list(_csv_rows(book.path)))
    workbook = _calamine(book.path, checked=True)  # open_roster checked the file's bounds
    try:
        sheet = workbook.get_sheet_by_name(name)
        if sheet.width > MAX_COLUMNS or sheet.height > MAX_ROWS:
            raise RosterError("error.roster_too_big", hint="hint.roster_resave", file=book.path.name,
                              limit=f"{MAX_COLUMNS} x {MAX_ROWS}")  # fmt: skip
        rows = sheet.to_python(skip_empty_area=False)
        first = sheet.start[0] + 1 if sheet.start else 1
    except RosterError:
        raise
    except Exception as exc:
        raise _unreadable(book.path, exc) from None
    finally:
        workbook.close()
    return Sheet(name, rows, first_row=first)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252: what Excel writes on Indonesian Windows."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start < len(sample) - 3:
            return "cp1252"
    return "utf-8"


def detect_delimiter(first_line: str) -> str:
    """';' (Excel in an Indonesian locale), ',' or tab: whichever splits the header most."""
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _bounded_lines(stream: io.TextIOBase, path: Path) -> Iterator[str]:
    while True:
        line = stream.readline(MAX_CSV_LINE)
        if not line:
            return
        if len(line) >= MAX_CSV_LINE and not line.endswith("\n"):
            raise RosterError(
                "error.roster_line_too_long", hint="hint.roster_resave", file=path.name
            )
        yield line


def _csv_rows(path: Path) -> Iterator[list[Any]]:
    with path.open("rb") as raw:
        sample = raw.read(_SNIFF_BYTES)
    if b"\x00" in sample:
        raise RosterError("error.roster_kind", hint="hint.roster_kinds", file=path.name)
    encoding = detect_encoding(sample)
    try:
        with path.open(encoding=encoding, newline="", errors="strict") as stream:
            lines = _bounded_lines(stream, path)
            first = next(lines, "")
            delimiter = detect_delimiter(first)
            reader = csv.reader(_chain(first, lines), delimiter=delimiter)
            for row in reader:
                if any(len(cell) > MAX_CELL for cell in row):
                    raise RosterError("error.roster_cell_too_long", hint="hint.roster_resave", file=path.name,
                                      row=reader.line_num)  # fmt: skip
                yield row
    except UnicodeDecodeError:
        raise RosterError(
            "error.roster_encoding", hint="hint.roster_resave", file=path.name
        ) from None
    except csv.Error as exc:
        raise RosterError(
            "error.roster_unreadable", hint="hint.roster_resave", file=path.name, reason=str(exc)
        ) from None


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest
