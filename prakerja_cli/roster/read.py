"""Read a roster file into rows of typed cells: xlsx/xlsm/xls/ods with python-calamine, csv/txt with
the csv module (encoding and delimiter detected). Untrusted input: every failure is a RosterError.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from prakerja_cli.errors import UsageError, check_input_file, library_reason, os_reason
from prakerja_cli.i18n import t
from prakerja_cli.roster import sandbox
from prakerja_cli.roster.bounds import (
    MAX_CELL_TEXT,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_ROWS,
    Damaged,
    TextTooLong,
    TooBig,
    check_spreadsheet,
    check_xls,
)

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt")
#: Bounds that keep a hostile file from exhausting memory or time (more in roster/bounds.py).
MAX_CSV_LINE = 1 << 20  # 1 MiB: no honest roster line is longer
#: The largest csv taken (bytes). The largest roster a desk takes (MAX_CELLS, ~266k rows of 15
#: columns) is ~50 MB as csv; a bigger file is long cells, held in memory whole while checked
#: (a spreadsheet's are bounded by its parts, bounds.MAX_PART_BYTES, and read in the sandbox).
MAX_CSV_BYTES = 256 << 20
_SNIFF_BYTES = 1 << 16
_DECODE_CHUNK = 1 << 20


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
    kind: str  # "spreadsheet", "csv" or "html" (a web page's table saved as .xls)
    #: Sheets Excel does not show (hidden or "very hidden"): chosen only when no other will do.
    hidden: set[str] = field(default_factory=set)
    _loaded: dict[str, Sheet] = field(default_factory=dict)
    #: The sheet read with the sheet list (or why it could not be), kept for the first request.
    _ahead: tuple[str, Sheet | RosterError] | None = None

    def sheet(self, name: str) -> Sheet:
        if name not in self._loaded:
            ahead, self._ahead = self._ahead, None  # let it go if another sheet is asked first
            if ahead is not None and ahead[0] == name:
                if isinstance(ahead[1], RosterError):
                    raise ahead[1]
                self._loaded[name] = ahead[1]
            else:
                self._loaded[name] = _read_sheet(self, name)
        return self._loaded[name]

    def forget(self, name: str) -> None:
        """Let a loaded sheet go (one that is not the roster)."""
        self._loaded.pop(name, None)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_roster(path: Path, sheet: str | None = None) -> Workbook:
    """Open a roster: check it exists and is a kind we read; list its sheets. A spreadsheet's
    `sheet` (asked for by name) or else its first visible sheet is read at once (`_spreadsheet`)."""
    check_input_file(path, RosterError)
    suffix = path.suffix.lower()
    try:
        sha = file_sha256(path)
    except OSError as exc:
        raise RosterError(
            "error.roster_unreadable",
            hint="hint.roster_resave",
            file=path.name,
            reason=os_reason(exc),
        ) from None
    if suffix in CSV_SUFFIXES:
        return Workbook(path, sha, [path.stem], "csv")
    if suffix not in SPREADSHEET_SUFFIXES:
        raise RosterError("error.roster_kind", hint="hint.roster_kinds", file=path.name)
    content = _content_kind(path)
    if suffix == ".xls" and content in ("text", "html"):  # what web applications call Excel
        return Workbook(path, sha, [path.stem], "csv" if content == "text" else "html")
    _check_content_matches(path, suffix, content)
    return _spreadsheet(path, sha, content, sheet)


def _limits() -> tuple[int, int, int, int]:
    return (MAX_COLUMNS, MAX_ROWS, MAX_CELLS, MAX_CELL_TEXT)


def _spreadsheet(path: Path, sha: str, content: str, wanted: str | None) -> Workbook:
    """List the sheets and read the one the import asks for first, in one child process
    (roster/sandbox.py: calamine opens the file once). The child starts before the static bounds
    check, which runs here meanwhile on another core; when the check refuses the file the child
    is ended unheard, so its refusal is the one given, as if the child had never started. A zipped
    file is checked whatever its suffix (calamine sniffs suffixes it does not know, so the bytes
    decide)."""
    check: Callable[[Path], None] | None = None
    if path.suffix.lower() in (".xlsx", ".xlsm", ".ods") or content == "zip":
        check = check_spreadsheet
    elif content == "ole":
        check = check_xls
    child = sandbox.Child("book", path, wanted or "", _limits())
    try:
        if check is not None:
            _check_size(path, check)
    except BaseException:
        child.stop()
        raise
    listing, ahead = child.answers(2)
    metadata = _answer(path, listing)
    names, hidden = sandbox.sheet_names(metadata)
    book = Workbook(path, sha, names, "spreadsheet", hidden)
    first = sandbox.first_sheet(metadata, wanted or "")
    if first is not None:
        try:
            book._ahead = (first, _sheet(path, first, _answer(path, ahead)))
        except RosterError as refusal:  # told when the sheet is asked for, as when read then
            book._ahead = (first, refusal)
    return book


def _calamine(path: Path, sheet: str) -> Any:
    """calamine's cells of one sheet, read in a child process (roster/sandbox.py)."""
    return _answer(path, sandbox.Child("cells", path, sheet, _limits()).answers(1)[0])


def _answer(path: Path, answer: Any) -> Any:
    """A child's answer, or the refusal its failure stands for."""
    try:
        return sandbox.value(answer)
    except sandbox.ChildError as exc:
        raise _unreadable(path, exc.name, exc.text) from None
    except sandbox.ChildFailed as exc:
        if exc.memory:
            raise RosterError(
                "error.roster_memory", hint="hint.roster_split", file=path.name
            ) from None
        raise _unreadable(path, "", str(exc)) from None


def _unreadable(path: Path, name: str, text: str) -> RosterError:
    if "Password" in name or "password" in text.lower() or "encrypt" in text.lower():
        return RosterError("error.roster_password", hint="hint.roster_password", file=path.name)
    reason = library_reason(text or name)
    return RosterError(
        "error.roster_unreadable", hint="hint.roster_resave", file=path.name, reason=reason
    )


def _too_big(path: Path) -> RosterError:
    return RosterError("error.roster_too_big", hint="hint.roster_split", file=path.name,
                       columns=MAX_COLUMNS, rows=MAX_ROWS, cells=MAX_CELLS)  # fmt: skip


def _check_size(path: Path, check: Callable[[Path], None]) -> None:
    """Refuse a spreadsheet whose sheets would not fit the limits (see roster/bounds.py)."""
    try:
        check(path)
    except TooBig:
        raise _too_big(path) from None
    except TextTooLong:
        raise RosterError(
            "error.roster_text_too_long", hint="hint.roster_resave", file=path.name
        ) from None
    except Damaged as exc:
        if _looks_encrypted(path):
            raise RosterError(
                "error.roster_password", hint="hint.roster_password", file=path.name
            ) from None
        raise RosterError(
            "error.roster_unreadable",
            hint="hint.roster_resave",
            file=path.name,
            reason=library_reason(exc.reason),
        ) from None


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: The stream an encrypted (password-protected) Office file keeps its workbook in, as the OLE
#: directory spells names (UTF-16LE).
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


def _content_kind(path: Path) -> str:
    """What the bytes are, whatever the name says: "zip", "ole", "html", "spreadsheetml"
    (Excel 2003 XML), "text" (CSV or other plain text) or "other"."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(_OLE):
        return "ole"
    if b"\x00" in head or not head:
        return "other"
    lower = head.lower()
    if b"urn:schemas-microsoft-com:office:spreadsheet" in lower:
        return "spreadsheetml"
    if b"<table" in lower or b"<html" in lower:
        return "html"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not merely a character cut by the sniff's end
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return "other"
    return "text"


def _check_content_matches(path: Path, suffix: str, content: str) -> None:
    """Refuse a file whose bytes are another kind than its name says, naming what it is: a real
    .xls named .xlsx is not "password-protected", and an HTML page saved as .xls (what many
    web applications export) is no damaged workbook."""
    if content == "ole" and suffix != ".xls":
        if _looks_encrypted(path):
            raise RosterError("error.roster_password", hint="hint.roster_password", file=path.name)
        what = ".xls"
    elif content == "zip" and suffix == ".xls":
        what = ".xlsx"
    elif content in ("html", "spreadsheetml"):  # HTML under .xls is read (open_roster)
        raise RosterError("error.roster_disguised", hint="hint.roster_disguised",
                          file=path.name, what=t(f"roster.kind_{content}"))  # fmt: skip
    else:
        return
    raise RosterError("error.roster_renamed", hint="hint.roster_renamed", file=path.name,
                      what=what, suffix=suffix)  # fmt: skip


def _looks_encrypted(path: Path) -> bool:
    """Password-protected xlsx files are OLE compound files holding an EncryptedPackage."""
    with path.open("rb") as handle:
        if handle.read(len(_OLE)) != _OLE:
            return False
        tail = b""
        for block in iter(lambda: handle.read(1 << 20), b""):
            if _ENCRYPTED in tail + block:
                return True
            tail = block[-len(_ENCRYPTED) :]
    return False


def _read_sheet(book: Workbook, name: str) -> Sheet:
    if book.kind == "csv":
        return Sheet(name, list(_csv_rows(book.path)))
    if book.kind == "html":
        return Sheet(name, _html_rows(book.path))
    return _sheet(book.path, name, _calamine(book.path, name))


def _sheet(path: Path, name: str, reply: tuple[Any, ...]) -> Sheet:
    """The sheet of the child's `cells` answer, or its refusal."""
    if reply[0] == "too_big":
        raise _too_big(path)
    if reply[0] == "text_too_long":
        raise RosterError("error.roster_cell_too_long", hint="hint.roster_resave",
                          file=path.name, row=reply[1])  # fmt: skip
    return Sheet(name, reply[1], first_row=reply[2])


def _html_rows(path: Path) -> list[list[Any]]:
    """The rows of the tables of a web page saved as .xls (roster/htmltable.py)."""
    from prakerja_cli.roster.htmltable import TableTooBig, html_rows

    with path.open("rb") as raw:
        encoding = detect_encoding(raw) or "cp1252"
    try:
        rows = html_rows(path, encoding, (MAX_COLUMNS, MAX_ROWS, MAX_CELLS, MAX_CELL_TEXT))
    except TableTooBig:
        raise _too_big(path) from None
    if not rows:
        raise RosterError("error.roster_disguised", hint="hint.roster_disguised", file=path.name,
                          what=t("roster.kind_html"))  # fmt: skip
    return list(rows)


def detect_encoding(raw: BinaryIO) -> str | None:
    """UTF-8 (with or without BOM) when the whole file is UTF-8, else cp1252: what Excel writes
    on Indonesian Windows. The whole file decides, read in chunks and let go (a cp1252 accent on
    row 1,400 of a file is as telling as on row 1); the stream is left at its start. None for a
    file that is UTF-8 in one place and not in another (two files pasted together): no single
    reading of it is right."""
    start = raw.read(len(codecs.BOM_UTF8))
    if start == codecs.BOM_UTF8:
        raw.seek(0)
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    plain = True  # only ASCII decoded so far: UTF-8 and cp1252 read it alike
    chunk, pending = start, b""
    try:
        while chunk:
            # The bytes the decoder still holds (a character cut by the read) come first: the
            # error's position counts them, and they are no text yet.
            pending = decoder.getstate()[0]
            text = decoder.decode(chunk)  # every chunk: an invalid byte anywhere decides
            plain = plain and text.isascii()
            chunk = raw.read(_DECODE_CHUNK)
        pending = decoder.getstate()[0]
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return "cp1252" if plain and (pending + chunk)[: exc.start].isascii() else None
    finally:
        raw.seek(0)
    return "utf-8"


#: Lines read before the delimiter is chosen: a title, a blank line or two may come first.
_SNIFF_LINES = 20


def detect_delimiter(lines: list[str]) -> str:
    """';' (Excel in an Indonesian locale), ',' or tab: whichever splits one of the first lines
    most (the header; a title line above it, with none, does not decide, nor a comma in an
    address below it)."""
    counts = {d: max((line.count(d) for line in lines), default=0) for d in (";", ",", "\t")}
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
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise RosterError("error.roster_csv_too_big", hint="hint.roster_split", file=path.name,
                          size=size >> 20, max=MAX_CSV_BYTES >> 20)  # fmt: skip
    with path.open("rb") as raw:
        sample = raw.read(_SNIFF_BYTES)
        if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            # Excel's "Unicode Text (*.txt)": UTF-16 (the BOM of UTF-32 starts the same way).
            raise RosterError("error.roster_utf16", hint="hint.roster_utf16", file=path.name)
        if b"\x00" in sample:
            raise RosterError("error.roster_kind", hint="hint.roster_kinds", file=path.name)
        raw.seek(0)
        encoding = detect_encoding(raw)
    if encoding is None:
        raise RosterError("error.roster_encoding", hint="hint.roster_resave", file=path.name)
    try:
        with path.open(encoding=encoding, newline="", errors="strict") as stream:
            lines = _bounded_lines(stream, path)
            first = list(itertools.islice(lines, _SNIFF_LINES))
            reader = csv.reader(itertools.chain(first, lines), delimiter=detect_delimiter(first))
            cells = 0
            for row in reader:
                cells += len(row)
                if cells > MAX_CELLS or reader.line_num > MAX_ROWS or len(row) > MAX_COLUMNS:
                    raise _too_big(path)
                if any(len(cell) > MAX_CELL_TEXT for cell in row):
                    raise RosterError("error.roster_cell_too_long", hint="hint.roster_resave", file=path.name,
                                      row=reader.line_num)  # fmt: skip
                yield row
    except UnicodeDecodeError:
        raise RosterError(
            "error.roster_encoding", hint="hint.roster_resave", file=path.name
        ) from None
    except csv.Error as exc:
        raise RosterError(
            "error.roster_unreadable",
            hint="hint.roster_resave",
            file=path.name,
            reason=library_reason(str(exc)),
        ) from None
