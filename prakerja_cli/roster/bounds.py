"""Size checks a spreadsheet passes before calamine's reading of it is taken (roster/read.py runs
them while the child reads, and ends the child when they refuse).

calamine holds a sheet as a dense grid of (last row x last column) cells, and .ods repeats
(`number-rows-repeated`, `number-columns-repeated`) are expanded. A few kilobytes can therefore
ask for billions of cells: one cell at XFD1048576, 200k rows with one cell in column SR, an 845-byte
.ods repeating a cell 99 million times. These checks stream the sheet XML out of the zip (never
more than one chunk in memory) and refuse the file when its grid would pass the limits.

xlsx has a fast path: when every cell carries its reference as the first attribute (Excel,
LibreOffice, openpyxl and most writers do) the last row and column are found with a few C-level
passes per chunk. Anything else (cells without `r=`, namespace prefixes) is walked tag by tag.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import mmap

#: Columns a roster may have (Excel's own limit is 16,384).
MAX_COLUMNS = 512
#: Rows a sheet may have (Excel's limit is 1,048,576).
MAX_ROWS = 1_100_000
#: Cells of the dense grid (last row x last column). An import holds ~250 bytes per cell at its
#: peak (376 MB for 100k rows x 15 columns), so 4M cells stay near 1 GB.
MAX_CELLS = 4_000_000
#: Uncompressed bytes of any one XML part read from the zip (a 100k x 15 sheet is ~85 MB).
MAX_PART_BYTES = 512 << 20
_CHUNK = 1 << 20
#: Excel's limit for a cell's text, in characters.
MAX_CELL_TEXT = 32_767
#: Bytes of text one shared string may hold: a full cell written as numeric entities.
MAX_SHARED_STRING_BYTES = MAX_CELL_TEXT * 10
#: Spaces an .ods file may ask for with `<text:s text:c="N"/>`, all its cells together.
MAX_ODS_SPACES = 1 << 24


class TooBig(Exception):
    """The file asks for more than the limits allow."""


class TextTooLong(Exception):
    """A run of text longer than any cell Excel can hold (32,767 characters)."""


class Damaged(Exception):
    """The zip or its XML cannot be read; `reason` is one line for the clerk."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Extent:
    """The last row and column a part asks for (1-based; 0 when it has no cells)."""

    rows: int = 0
    columns: int = 0
    #: Cells of the grids read before this one, where a reader holds them all at once (.ods).
    before: int = 0

    def grow(self, rows: int, columns: int) -> None:
        self.rows = max(self.rows, rows)
        self.columns = max(self.columns, columns)
        if self.columns > MAX_COLUMNS or self.rows > MAX_ROWS:
            raise TooBig
        if self.before + self.rows * self.columns > MAX_CELLS:
            raise TooBig


def column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def check_spreadsheet(path: Path) -> None:
    """Raise TooBig, TextTooLong or Damaged for a zipped spreadsheet (.xlsx/.xlsm or .ods, told
    apart by its parts, not its name: calamine sniffs a file whose suffix it does not know)."""
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, OSError, ValueError, NotImplementedError ("version 6.4")
        raise Damaged(str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__) from None
    with archive:
        try:
            _check_parts(archive)
        except (TooBig, TextTooLong, Damaged):
            raise
        except Exception as exc:  # zipfile, zlib, bz2 and lzma raise many kinds for damage
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise Damaged(reason) from None


#: What calamine requires as the `mimetype` part of an .ods (it reads exactly this many bytes).
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def _check_parts(archive: zipfile.ZipFile) -> None:
    names = set(archive.namelist())
    if "content.xml" in names and "mimetype" in names:
        with archive.open("mimetype") as stream:
            if stream.read(len(ODS_MIMETYPE) + 1).strip() != ODS_MIMETYPE:
                raise Damaged("mimetype: not an OpenDocument spreadsheet")
    sheets = _worksheet_parts(archive)
    for info in archive.infolist():
        name = info.filename
        if name == "content.xml":
            _ods_extent(_chunks(archive, info, strict=True))
        elif part_name(name) in sheets:
            _xlsx_extent(_chunks(archive, info, strict=True))
        elif part_name(name).endswith("sharedstrings.xml"):
            _shared_strings(_chunks(archive, info))
        elif part_name(name).endswith((".xml", ".rels")):
            for _ in _chunks(archive, info):  # styles, relationships: size only
                pass


_SHARED_ITEM = re.compile(rb"<(?:[\w.-]+:)?si\b")
_MARKUP = re.compile(rb"<[^>]*>")


def _shared_strings(chunks: Iterator[bytes]) -> None:
    """Refuse a shared string longer than a cell may be: every cell that names it gets a copy
    of its own (one 20 MB string in 40 cells is 800 MB), so its length is what counts, however
    many runs (`<r><t>`) it is split into. Counted in bytes of text between tags, which is at
    least its characters; entities (`&amp;` is five bytes for one) are allowed for."""
    length = 0
    for chunk in chunks:
        for i, piece in enumerate(_SHARED_ITEM.split(chunk)):
            if i:
                length = 0
            length += len(piece) - sum(map(len, _MARKUP.findall(piece)))
            if length > MAX_SHARED_STRING_BYTES:
                raise TextTooLong


_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>", re.IGNORECASE)
_TARGET = re.compile(rb"""\bTarget\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_TYPE = re.compile(rb"""\bType\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
#: Relationship types a reader takes as a sheet: worksheet, dialogsheet, chartsheet,
#: macrosheet (xlMacrosheet, xlIntlMacrosheet), whatever namespace spells them.
_SHEET_TYPE = re.compile(rb"sheet$", re.IGNORECASE)


def part_name(name: str) -> str:
    """A part's name as a reader matches it: backslashes as slashes, no leading slash, '.' and
    '..' resolved, case ignored."""
    return posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/").lower()


def _relationships(
    archive: zipfile.ZipFile, names: dict[str, str], rels: str
) -> list[tuple[bytes, str]]:
    """(type, target part name) of each relationship in the part `rels` (normalised name),
    targets resolved against the folder the relationships are for."""
    member = names.get(rels)
    if member is None:
        return []
    data = b"".join(_chunks(archive, archive.getinfo(member)))
    source = posixpath.dirname(posixpath.dirname(rels))  # "xl/_rels/x.rels" -> "xl"
    found = []
    for relationship in _RELATIONSHIP.findall(data):
        target, kind = _TARGET.search(relationship), _TYPE.search(relationship)
        if target is None:
            continue
        text = target[1].decode("utf-8", "replace").replace("\\", "/")
        joined = text if text.startswith("/") else posixpath.join(source, text)
        found.append((kind[1] if kind else b"", part_name(joined)))
    return found


def _worksheet_parts(archive: zipfile.ZipFile) -> set[str]:
    """The parts a reader may take as sheets, by normalised name: everything under a
    worksheets/dialogsheets/chartsheets/macrosheets folder, and every sheet the workbook's
    relationships name, the workbook found as a reader finds it (through _rels/.rels, which
    may put it in any folder; xl/workbook.xml when it names none)."""
    names = {part_name(n): n for n in archive.namelist()}
    parts = {n for n in names if re.search(r"(?:^|/)(?:work|dialog|chart|macro)sheets/", n)}
    workbooks = [
        t
        for k, t in _relationships(archive, names, "_rels/.rels")
        if k.endswith(b"/officeDocument")
    ]
    for workbook in {*workbooks, "xl/workbook.xml"}:
        folder, base = posixpath.split(workbook)
        rels = posixpath.join(folder, "_rels", base + ".rels")
        parts.update(t for k, t in _relationships(archive, names, rels) if _SHEET_TYPE.search(k))
    return parts


def _chunks(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, strict: bool = False
) -> Iterator[bytes]:
    """The part's bytes in chunks that end just before a '<', so no tag is ever split.

    `strict` (sheet parts): no comments, CDATA, DTDs or processing instructions past the XML
    declaration. A reader skips what they hold, a pattern would not; no spreadsheet program
    writes them there, so a sheet that has them is refused rather than parsed twice."""
    total = 0
    first = True
    stream: IO[bytes]
    with archive.open(info) as stream:
        tail = b""
        for block in iter(lambda: stream.read(_CHUNK), b""):
            total += len(block)
            if total > MAX_PART_BYTES:
                raise TooBig
            chunk = tail + block
            cut = chunk.rfind(b"<")
            if cut <= 0:
                tail = chunk
                if len(tail) > _CHUNK:  # a MiB with no tag: no cell of Excel's is that long
                    raise TextTooLong
                continue
            tail = chunk[cut:]
            if strict:
                _plain_markup(chunk[:cut], first)
            first = False
            yield chunk[:cut]
        if tail:
            if strict:
                _plain_markup(tail, first)
            yield tail


def _plain_markup(chunk: bytes, first: bool) -> None:
    instructions = chunk.count(b"<?")
    if first and chunk.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml"):
        instructions -= 1
    if instructions or b"<!" in chunk:
        raise Damaged("a comment, CDATA section or processing instruction inside a sheet")


_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3}\d{1,9})"')
_ROW_REF = re.compile(rb'<row r="(\d{1,9})"')
_PREFIXED = re.compile(rb"<[\w.-]+:(?:c|row)\b")
_DIMENSION = re.compile(
    rb"""<(?:\w+:)?dimension\b[^>]*\bref\s*=\s*["'][A-Za-z]*\d*:?([A-Za-z]+)(\d+)["']"""
)
_DIGITS = b"0123456789"
_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _xlsx_extent(chunks: Iterator[bytes]) -> None:
    extent = Extent()
    walker = _TagWalker(extent)
    first = True
    for chunk in chunks:
        if first:
            first = False
            dimension = _DIMENSION.search(chunk)
            if dimension:
                extent.grow(_number(dimension[2]), _column(dimension[1].upper()))
        if not (b":c" in chunk or b":row" in chunk) or not _PREFIXED.search(chunk):
            # Fast path: every tag starting "<c" is a cell with its reference first, and every
            # tag starting "<row" has its number first.
            refs = _CELL_REF.findall(chunk)
            rows = _ROW_REF.findall(chunk)
            if len(refs) == chunk.count(b"<c") and len(rows) == chunk.count(b"<row"):
                if refs:
                    numbers = map(int, map(bytes.lstrip, refs, repeat(_LETTERS)))
                    letters = set(map(bytes.rstrip, refs, repeat(_DIGITS)))
                    extent.grow(max(numbers), max(map(column_number, letters)))
                # Where a walk of the next chunk would start: the last row, the last column.
                if rows:
                    walker.row = int(rows[-1])
                if chunk.rfind(b"<row") > chunk.rfind(b'<c r="'):
                    walker.column = 0
                elif refs:
                    walker.column = column_number(refs[-1].rstrip(_DIGITS))
                continue
        walker.feed(chunk)  # <cols>, cells without r=, odd spacing or prefixes: tag by tag


def _number(digits: bytes) -> int:
    if len(digits) > 9:
        raise TooBig
    return int(digits)


def _column(letters: bytes) -> int:
    if len(letters) > 3:
        raise TooBig
    return column_number(letters)


_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)\b([^>]*)>")
#: As calamine reads a reference: either quote, spaces around '=', letters in either case.
_TAG_REF = re.compile(rb"""\br\s*=\s*(["'])([A-Za-z]*)(\d*)\1""")


class _TagWalker:
    """Follows rows and cells the way calamine does: a cell with `r=` goes where it says, one
    without goes to the next column of the row the <row> tags have counted to."""

    def __init__(self, extent: Extent) -> None:
        self.extent = extent
        self.row = 0
        self.column = 0

    def feed(self, chunk: bytes) -> None:
        for match in _TAG.finditer(chunk):
            ref = _TAG_REF.search(match[2])
            if match[1] == b"row":
                self.row = _number(ref[3]) if ref and ref[3] else self.row + 1
                self.column = 0
                continue
            if ref and ref[2] and ref[3]:  # placed by its reference; the row counter stays
                self.column = _column(ref[2].upper())
                self.extent.grow(_number(ref[3]), self.column)
            else:  # the next column of the current row
                self.column += 1
                self.extent.grow(self.row, self.column)


_ODS_TAG = re.compile(
    rb"<(?:[\w.-]+:)?(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>"
)
_REPEATED = re.compile(rb"""number-(rows|columns)-repeated\s*=\s*(["'])(.*?)\2""")


#: `<text:s text:c="N"/>`: N spaces, expanded by the reader.
_ODS_SPACES = re.compile(rb"""<(?:[\w.-]+:)?s\b[^>]*?\bc\s*=\s*["']([^"']*)["']""")


def _repeats(attrs: bytes, kind: bytes) -> int:
    for match in _REPEATED.finditer(attrs):
        if match[1] == kind:
            value = match[3].strip().lstrip(b"+")
            if not value.isdigit():
                raise TooBig  # calamine's own parse takes forms a roster never has
            return _number(value)
    return 1


def _ods_extent(chunks: Iterator[bytes]) -> None:
    """Rows and columns of each table in content.xml, repeats expanded, counting only the rows
    and cells that hold something (LibreOffice ends every sheet with a million empty rows).
    calamine reads every table when it opens the file, so the limits hold for all together."""
    done = spaces = 0
    extent = Extent()
    row = column = 0
    for chunk in chunks:
        for count in _ODS_SPACES.findall(chunk):
            value = count.strip().lstrip(b"+")
            if not value.isdigit() or len(value) > 9 or int(value) > MAX_CELL_TEXT:
                raise TextTooLong
            spaces += int(value)
            if spaces > MAX_ODS_SPACES:
                raise TextTooLong
        for match in _ODS_TAG.finditer(chunk):
            kind, attrs, empty = match[1], match[2], match[3]
            if kind == b"table":
                done += extent.rows * extent.columns
                extent, row = Extent(before=done), 0
            elif kind == b"table-row":
                row += _repeats(attrs, b"rows")
                column = 0
            else:
                column += _repeats(attrs, b"columns")
                if not empty or b"value-type" in attrs:
                    extent.grow(row, column)


# .xls: an OLE compound file (CFB) whose "Workbook" stream holds BIFF8 records. calamine places
# each cell by the row and column its record says and builds the grid from the largest, so a
# 6 KB file whose one NUMBER record says row 65535, column 2000 asks for 131 million cells.

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE
#: BIFF records that place one cell by (row, column) in their first four bytes.
_CELL_RECORDS = frozenset({0x0203, 0x00FD, 0x027E, 0x0201, 0x0204, 0x0006, 0x0205, 0x00D6})
_MULTI_RECORDS = frozenset({0x00BD, 0x00BE})  # MULRK, MULBLANK: row, first column ... last
_BOF, _DIMENSIONS = 0x0809, 0x0200


def check_xls(path: Path) -> None:
    """Raise TooBig when a sheet's cell records (or its DIMENSIONS) ask for a grid past the
    limits, Damaged when the compound file cannot be followed. Reads the file through a memory
    map: nothing is copied but the workbook stream."""
    import mmap

    with path.open("rb") as handle:
        try:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file
            raise Damaged("cfb error: empty file") from None
        with data:
            try:
                stream = _workbook_stream(data)
            except (IndexError, struct.error, ValueError, KeyError) as exc:
                raise Damaged(f"cfb error: {exc}") from None
            if stream is not None:
                _biff_extent(stream)


def _workbook_stream(data: mmap.mmap) -> bytes | None:
    if data[:8] != _CFB_MAGIC:
        return None  # not a compound file: calamine says what it is
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if not 7 <= shift <= 12 or mini_shift != 6:
        raise ValueError("sector size")
    size = 1 << shift
    sectors = (len(data) - size) // size + 1
    fat_count, first_dir = struct.unpack_from("<II", data, 0x2C)
    cutoff, first_mini, mini_count, first_difat, difat_count = struct.unpack_from(
        "<IIIII", data, 0x38
    )
    difat = list(struct.unpack_from("<109I", data, 0x4C))
    sector = first_difat
    for _ in range(min(difat_count, sectors)):
        if sector >= sectors:
            break
        entries = struct.unpack_from(f"<{size // 4}I", data, (sector + 1) * size)
        difat.extend(entries[:-1])
        sector = entries[-1]
    fat: list[int] = []
    for sector in difat[: min(fat_count, sectors)]:
        fat.extend(struct.unpack_from(f"<{size // 4}I", data, (sector + 1) * size))

    def chain(start: int) -> Iterator[int]:
        seen = 0
        while start != _END_OF_CHAIN:
            if start >= len(fat) or seen > sectors:
                raise ValueError("sector chain")
            yield start
            seen += 1
            start = fat[start]

    def read(start: int, length: int) -> bytes:
        out = b"".join(data[(s + 1) * size : (s + 2) * size] for s in chain(start))
        return out[:length]

    directory = b"".join(data[(s + 1) * size : (s + 2) * size] for s in chain(first_dir))
    streams: dict[tuple[str, int], tuple[int, int]] = {}
    for offset in range(0, len(directory) - 127, 128):
        name_length, kind = struct.unpack_from("<HB", directory, offset + 64)
        name = directory[offset : offset + max(0, min(name_length, 64) - 2)].decode(
            "utf-16-le", "replace"
        )
        start, length = struct.unpack_from("<IQ", directory, offset + 116)
        if shift == 9:
            length &= 0xFFFFFFFF
        streams[(name.lower(), kind)] = (start, length)
    root = streams.get(("root entry", 5))
    found = streams.get(("workbook", 2)) or streams.get(("book", 2))
    if found is None:
        return None
    start, length = found
    if length > MAX_PART_BYTES:
        raise TooBig
    if length >= cutoff or root is None:
        return read(start, length)
    mini_stream = read(root[0], root[1])
    mini_fat: list[int] = []
    for sector in list(chain(first_mini))[:mini_count]:
        mini_fat.extend(struct.unpack_from(f"<{size // 4}I", data, (sector + 1) * size))
    out, seen = [], 0
    while start != _END_OF_CHAIN:
        if start >= len(mini_fat) or seen > len(mini_fat):
            raise ValueError("mini sector chain")
        out.append(mini_stream[start * 64 : start * 64 + 64])
        seen += 1
        start = mini_fat[start]
    return b"".join(out)[:length]


def _biff_extent(stream: bytes) -> None:
    extent = Extent()
    offset, end = 0, len(stream) - 4
    while offset <= end:
        kind, length = struct.unpack_from("<HH", stream, offset)
        body = offset + 4
        if kind == _BOF:
            extent = Extent()
        elif kind in _CELL_RECORDS and length >= 4:
            row, column = struct.unpack_from("<HH", stream, body)
            extent.grow(row + 1, column + 1)
        elif kind in _MULTI_RECORDS and length >= 6:
            row, first = struct.unpack_from("<HH", stream, body)
            (last,) = struct.unpack_from("<H", stream, body + length - 2)
            extent.grow(row + 1, max(first, last) + 1)
        elif kind == _DIMENSIONS and length >= 14:
            _, rows, _, columns = struct.unpack_from("<IIHH", stream, body)
            extent.grow(rows, columns)
        offset = body + length
