"""Proof: a generated corpus of malformed rosters never crashes the import or stores bad data.

A session fixture writes the corpus (fixed seed) into a temporary folder: truncated and random
files with every suffix, xlsx with broken XML parts and zip records, entity and zip bombs, huge
cells, formulas and wrong cell types in every column, wrong encodings and broken CSVs, empty files,
a directory named x.xlsx, an encrypted (OLE) workbook. Every file goes through
`prakerja roster import FILE --json` against one office and must end in one of two ways:

(a) refused: exit 1 or 2, no traceback, exactly one `galat:` line on stderr, nothing on stdout,
    and the store (applicants, audit, counters) byte-for-byte unchanged;
(b) read: exit 0 or 3 with one valid JSON document whose rejected rows all carry an error finding,
    and every record it stored satisfies the storage invariants and validates again.

The tests at the end of this module pin the bugs this corpus found, each fixed since: a corrupt
deflate stream, a truncated .xls (a Rust panic), cell bombs the size check missed, escape sequences
reaching the terminal, and validator rules that hung ("regressions", in the corpus too).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from rosters import HEADERS, person, rows_of, write_csv, write_ods, write_xls, write_xlsx

from prakerja_cli.core import fields as f
from prakerja_cli.core.findings import Code, Severity
from prakerja_cli.core.rules import load_rule_set
from prakerja_cli.core.validate import FIELDS, ValidationContext, validate_applicant
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import Run, invoke

SEED = 20250615
#: Wall time one import may take, and the alarm that stops a hung one.
PER_FILE_LIMIT = 10.0
HARD_STOP = 25
#: A two-row roster imports in well under a second (plus interpreter start-up).
SMALL_FILE_LIMIT = 5.0
#: Address space for a child import of a bomb: an honest 100k-row import peaks at ~380 MB RSS.
MEMORY_CAP = 3 << 29  # 1.5 GiB
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
FORMULAS = ["=1+2", '=HYPERLINK("http://contoh.invalid/x","Klik")', "=cmd|' /C calc'!A0"]
NIK_16 = re.compile(r"[0-9]{16}")
PHONE = re.compile(r"\+628[0-9]{7,12}")

REFUSE, IMPORT, EITHER = "refuse", "import", "either"


@dataclass(frozen=True, slots=True)
class Case:
    path: Path
    category: str
    expect: str  # REFUSE (a), IMPORT (b) or EITHER

    @property
    def label(self) -> str:
        return f"{self.category}/{self.path.name}"


# ---------------------------------------------------------------------------------------------
# Writers for the corpus
# ---------------------------------------------------------------------------------------------


def col_letters(n: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def rezip(
    src: Path,
    dst: Path,
    replace: dict[str, bytes | None] | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """A copy of a zip with some members replaced (None removes one) or added."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        missing = set(replace) - set(zin.namelist())
        assert not missing, f"{src.name} has no {missing}: add them instead"
        for item in zin.infolist():
            if item.filename in replace:
                data = replace[item.filename]
                if data is None:
                    continue
            else:
                data = zin.read(item)
            zout.writestr(item.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def sheet_xml(rows: str | bytes, *, head: str = "") -> bytes:
    body = rows.encode() if isinstance(rows, str) else rows
    return (
        (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">{head}<sheetData>'
        ).encode()
        + body
        + b"</sheetData></worksheet>"
    )


def inline(ref: str, text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escaped}</t></is></c>'


def header_row_xml(row: int = 1) -> str:
    cells = "".join(inline(f"{col_letters(i + 1)}{row}", h) for i, h in enumerate(HEADERS))
    return f'<row r="{row}">{cells}</row>'


def shared_strings_xlsx(base: Path, dst: Path, people: list[dict[str, Any]]) -> Path:
    """An xlsx whose text cells are all shared strings (as Excel writes them)."""
    strings: list[str] = []

    def ref(text: str) -> int:
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    rows = []
    for r, values in enumerate([HEADERS, *rows_of(people)], start=1):
        cells = []
        for c, value in enumerate(values, start=1):
            at = f"{col_letters(c)}{r}"
            if isinstance(value, int):
                cells.append(f'<c r="{at}"><v>{value}</v></c>')
            elif value is not None:
                text = value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value)
                cells.append(f'<c r="{at}" t="s"><v>{ref(text)}</v></c>')
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    sst = "".join(f"<si><t>{x}</t></si>" for x in strings)
    n = len(strings)
    return rezip(
        base,
        dst,
        replace={"xl/worksheets/sheet1.xml": sheet_xml("".join(rows))},
        add={
            "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}" '
            f'count="{n}" uniqueCount="{n}">{sst}</sst>'.encode()
        },
    )


def person_row_xml(p: dict[str, Any], row: int) -> str:
    cells = []
    for i, h in enumerate(HEADERS):
        value = p.get(h)
        ref = f"{col_letters(i + 1)}{row}"
        if isinstance(value, date):
            cells.append(inline(ref, value.strftime("%d/%m/%Y")))
        elif isinstance(value, int):
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        elif value is not None:
            cells.append(inline(ref, str(value)))
    return f'<row r="{row}">{"".join(cells)}</row>'


def write_xlsx_cells(path: Path, rows: list[list[Any]], *, as_text: bool = False) -> Path:
    """An xlsx from typed cells; strings starting with '=' are formulas unless `as_text`."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if as_text and isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"
    book.save(path)
    return path


def write_ods_cells(path: Path, rows: list[list[Any]]) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Data")
    for row in rows:
        tr = TableRow()
        for value in row:
            if isinstance(value, bool):
                cell = TableCell(valuetype="boolean", booleanvalue=str(value).lower())
            elif isinstance(value, int | float):
                cell = TableCell(valuetype="float", value=value)
            elif isinstance(value, date):  # datetime too: "2001-02-03T04:05:06"
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text="" if value is None else str(value)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def write_xls_cells(path: Path, rows: list[list[Any]]) -> Path:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Data")
    date_style = xlwt.easyxf(num_format_str="DD-MM-YYYY")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write(r, c, value, date_style)
            elif value is not None:
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def write_csv_cells(path: Path, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    import csv

    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=";")
        for row in rows:
            writer.writerow([csv_text(v) for v in row])
    return path


def set_zip_flags(data: bytes, *, flag: int | None = None, method: int | None = None) -> bytes:
    """Patch every local and central header of a zip: general-purpose flags, compression method."""
    out = bytearray(data)
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        pos = out.find(sig)
        while pos != -1:
            if flag is not None:
                (old,) = struct.unpack_from("<H", out, pos + flag_at)
                struct.pack_into("<H", out, pos + flag_at, old | flag)
            if method is not None:
                struct.pack_into("<H", out, pos + method_at, method)
            pos = out.find(sig, pos + 4)
    return bytes(out)


def strip_decl(text: str) -> str:
    """The XML without its <?xml ...?> declaration (a DOCTYPE must come right after one)."""
    return text.split("?>", 1)[1] if text.startswith("<?xml") else text


def billion_laughs(root: str, levels: int = 9) -> str:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, levels + 1)
    )
    return f'<?xml version="1.0"?><!DOCTYPE {root} [{entities}]>'


# ---------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------


class CorpusBuilder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.rng = random.Random(SEED)
        self.cases: list[Case] = []
        self._person = 0

    def path(self, category: str, name: str, expect: str) -> Path:
        folder = self.root / category
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        assert not any(c.path == path for c in self.cases), path
        self.cases.append(Case(path, category, expect))
        return path

    def people(self, n: int, **changes: Any) -> list[dict[str, Any]]:
        """Fresh synthetic applicants (serials 7001-9999), never reused between files."""
        out = []
        for _ in range(n):
            self._person += 1
            assert self._person < 3000, "person() serials run out at 2999"
            out.append(person(self._person, **changes))
        return out

    def base_xlsx(self, n: int = 5, **kwargs: Any) -> Path:
        scratch = self.root / "_base"
        path = scratch / f"base{len(list(scratch.iterdir()))}.xlsx"
        return write_xlsx(path, self.people(n), **kwargs)


def build_corpus(root: Path) -> list[Case]:
    (root / "_base").mkdir(parents=True, exist_ok=True)
    b = CorpusBuilder(root)
    rng = b.rng
    for make in (
        truncated,
        random_bytes,
        broken_xlsx_parts,
        broken_zip_records,
        broken_ods,
        bombs,
        entity_bombs,
        huge_cells,
        formulas,
        wrong_types,
        encodings,
        broken_csv,
        dimensions,
        regressions,
        odd_files,
    ):
        make(b, rng)
    shutil.rmtree(root / "_base", ignore_errors=True)
    for case in b.cases:
        if case.path.is_file() and not case.path.is_symlink():
            assert case.path.stat().st_size < 10 << 20, case.label
    return b.cases


def truncated(b: CorpusBuilder, rng: random.Random) -> None:
    whole = write_xlsx(b.root / "whole.xlsx", b.people(40))
    data = whole.read_bytes()
    cuts = {1, 2, 4, 10, 22, 30, 64, 100, 512, len(data) // 2, len(data) - 22, len(data) - 1}
    while len(cuts) < 32:
        cuts.add(rng.randrange(1, len(data)))
    for cut in sorted(cuts):
        b.path("truncated", f"cut{cut:06d}.xlsx", REFUSE).write_bytes(data[:cut])
    whole.unlink()
    ods = write_ods(b.root / "whole.ods", b.people(30)).read_bytes()
    for cut in sorted({5, 100, len(ods) // 3, len(ods) // 2, len(ods) - 10}):
        b.path("truncated", f"cut{cut:06d}.ods", REFUSE).write_bytes(ods[:cut])
    # An .xls cut inside its header; cuts further in can make calamine panic (known bug, see
    # test_truncated_xls_is_one_line below).
    xls = write_xls(b.root / "whole.xls", b.people(30)).read_bytes()
    for cut in (5, 100, 511, 512):
        b.path("truncated", f"cut{cut:06d}.xls", REFUSE).write_bytes(xls[:cut])


def random_bytes(b: CorpusBuilder, rng: random.Random) -> None:
    magics = {
        "zip": b"PK\x03\x04",
        "ole": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "xml": b'<?xml version="1.0"?>',
    }
    for suffix in (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"):
        for size in (1, 17, 512, 5000, 70_000):
            b.path("random", f"acak{size}{suffix}", REFUSE).write_bytes(rng.randbytes(size))
        for name, magic in magics.items():
            b.path("random", f"{name}{suffix}", REFUSE).write_bytes(magic + rng.randbytes(3000))


def broken_xlsx_parts(b: CorpusBuilder, rng: random.Random) -> None:
    sheet = "xl/worksheets/sheet1.xml"
    shared = "xl/sharedStrings.xml"
    workbook = "xl/workbook.xml"
    rels = "xl/_rels/workbook.xml.rels"
    good_sheet_rows = header_row_xml() + "".join(
        person_row_xml(p, r) for r, p in enumerate(b.people(3), start=2)
    )
    variants: dict[str, tuple[dict[str, bytes | None], str]] = {
        "sheet_random": ({sheet: rng.randbytes(4000)}, EITHER),
        "sheet_random_utf8": ({sheet: bytes(rng.randrange(32, 127) for _ in range(4000))}, EITHER),
        "sheet_empty": ({sheet: b""}, EITHER),
        "sheet_truncated": ({sheet: sheet_xml(good_sheet_rows)[:700]}, EITHER),
        "sheet_unclosed": ({sheet: sheet_xml(good_sheet_rows)[:-30]}, EITHER),
        "sheet_wrong_root": ({sheet: b'<?xml version="1.0"?><foo><bar/></foo>'}, EITHER),
        "sheet_no_sheetdata": (
            {sheet: f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}"/>'.encode()},
            EITHER,
        ),
        "sheet_bad_refs": (
            {sheet: sheet_xml('<row r="1"><c r="!!"><v>1</v></c><c r="1A"><v>2</v></c></row>')},
            EITHER,
        ),
        "sheet_bad_values": (
            {
                sheet: sheet_xml(
                    header_row_xml()
                    + '<row r="2"><c r="A2" t="n"><v>bukan angka</v></c><c r="B2" t="b"><v>7</v>'
                    '</c><c r="C2" t="d"><v>kemarin</v></c><c r="D2" t="e"><v>#REF!</v></c>'
                    '<c r="E2" t="s"><v>99999</v></c><c r="F2" t="s"><v>-1</v></c>'
                    '<c r="G2" t="zz"><v>x</v></c></row>'
                )
            },
            EITHER,
        ),
        "sheet_removed": ({sheet: None}, EITHER),
        "shared_random": ({shared: rng.randbytes(3000)}, EITHER),
        "shared_empty": ({shared: b""}, EITHER),
        "shared_truncated": (
            {shared: b'<?xml version="1.0"?><sst xmlns="' + MAIN_NS.encode()},
            EITHER,
        ),
        "shared_removed": ({shared: None}, EITHER),
        "shared_too_few": (
            {
                shared: f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>NIK</t></si></sst>'.encode()
            },
            EITHER,
        ),
        "workbook_random": ({workbook: rng.randbytes(2000)}, EITHER),
        "workbook_removed": ({workbook: None}, EITHER),
        "workbook_no_sheets": (
            {workbook: f'<workbook xmlns="{MAIN_NS}"><sheets/></workbook>'.encode()},
            EITHER,
        ),
        "workbook_bad_rid": (
            {
                workbook: f'<workbook xmlns="{MAIN_NS}" xmlns:r="http://schemas.openxmlformats.org/'
                'officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" '
                'r:id="rId999"/></sheets></workbook>'.encode()
            },
            EITHER,
        ),
        "workbook_long_name": (
            {
                workbook: f'<workbook xmlns="{MAIN_NS}" xmlns:r="http://schemas.openxmlformats.org/'
                f'officeDocument/2006/relationships"><sheets><sheet name="{"N" * 5000}" sheetId="1" '
                'r:id="rId1"/></sheets></workbook>'.encode()
            },
            EITHER,
        ),
        "content_types_removed": ({"[Content_Types].xml": None}, EITHER),
        "content_types_random": ({"[Content_Types].xml": rng.randbytes(500)}, EITHER),
        "rels_removed": ({rels: None}, EITHER),
        "rels_random": ({rels: rng.randbytes(500)}, EITHER),
        "rels_escape": (
            {
                rels: b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                b'openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                b'Target="../../../../../../etc/passwd"/></Relationships>'
            },
            EITHER,
        ),
        "styles_random": ({"xl/styles.xml": rng.randbytes(800)}, EITHER),
        "styles_removed": ({"xl/styles.xml": None}, EITHER),
    }
    scratch = b.root / "_base"
    for name, (replace, expect) in variants.items():
        source = b.base_xlsx()
        if shared in replace:
            source = shared_strings_xlsx(source, scratch / f"{name}.xlsx", b.people(5))
        rezip(source, b.path("xml_parts", f"{name}.xlsx", expect), replace=replace)
    rezip(
        shared_strings_xlsx(b.base_xlsx(), scratch / "shared_ok.xlsx", b.people(3)),
        b.path("xml_parts", "shared_ok.xlsx", IMPORT),
    )
    index_bad = scratch / "index.xlsx"
    shared_strings_xlsx(b.base_xlsx(), index_bad, b.people(2))
    bad_sheet = zipfile.ZipFile(index_bad).read(sheet).replace(b"<v>3</v>", b"<v>99999</v>", 1)
    rezip(
        index_bad,
        b.path("xml_parts", "shared_index_out_of_range.xlsx", EITHER),
        replace={sheet: bad_sheet},
    )
    # Two members with the same name: the second sheet1.xml is garbage.
    dup = b.path("xml_parts", "duplicate_member.xlsx", EITHER)
    rezip(b.base_xlsx(), dup)
    with zipfile.ZipFile(dup, "a") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": that is the point
        z.writestr(sheet, b"<garbage")


def broken_zip_records(b: CorpusBuilder, rng: random.Random) -> None:
    base = b.base_xlsx().read_bytes()
    b.path("zip_records", "encrypted_flag.xlsx", REFUSE).write_bytes(set_zip_flags(base, flag=1))
    for method in (12, 14, 99):  # bzip2, lzma, AES: not what an xlsx may use
        b.path("zip_records", f"method{method}.xlsx", REFUSE).write_bytes(
            set_zip_flags(base, method=method)
        )
    no_eocd = base[: base.rfind(b"PK\x05\x06")]
    b.path("zip_records", "no_end_record.xlsx", REFUSE).write_bytes(no_eocd)
    b.path("zip_records", "zip_of_nothing.xlsx", REFUSE).write_bytes(b"PK\x05\x06" + bytes(18))
    nested = b.path("zip_records", "zip_in_zip.xlsx", REFUSE)
    with zipfile.ZipFile(nested, "w") as z:
        z.writestr("inner.xlsx", base)
    prefixed = b.path("zip_records", "junk_before.xlsx", EITHER)
    prefixed.write_bytes(rng.randbytes(1000) + base)


def broken_ods(b: CorpusBuilder, rng: random.Random) -> None:
    base = write_ods(b.root / "_base" / "base.ods", b.people(3))
    variants: dict[str, dict[str, bytes | None]] = {
        "content_random": {"content.xml": rng.randbytes(2000)},
        "content_removed": {"content.xml": None},
        "content_truncated": {"content.xml": b'<?xml version="1.0"?><office:document-content'},
        "manifest_removed": {"META-INF/manifest.xml": None},
        "mimetype_wrong": {"mimetype": b"application/x-tidak-ada"},
    }
    for name, replace in variants.items():
        rezip(base, b.path("ods", f"{name}.ods", EITHER), replace=replace)


def _stream_sheet_xlsx(path: Path, chunks: Iterator[bytes], base: Path) -> Path:
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(item.filename, src.read(item))
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=True) as out:
            for chunk in chunks:
                out.write(chunk)
    return path


def bombs(b: CorpusBuilder, rng: random.Random) -> None:
    """Highly compressible sheets the reader's limits must refuse or get through quickly."""
    base = b.base_xlsx(1, title=False)
    head = sheet_xml("").split(b"<sheetData>")[0] + b"<sheetData>"
    tail = b"</sheetData></worksheet>"

    def narrow(rows: int, col: str, header: str, cell: bytes = b"><v>1</v>") -> Iterator[bytes]:
        yield head + header.encode()
        for start in range(2, rows + 1, 20_000):
            yield b"".join(
                b'<row r="%d"><c r="%s%d"%s</c></row>' % (r, col.encode(), r, cell)
                for r in range(start, min(start + 20_000, rows + 1))
            )
        yield tail

    three = '<row r="1">' + inline("A1", "NIK") + inline("B1", "Nama") + inline("C1", "Tgl Lahir")
    three += "</row>"
    _stream_sheet_xlsx(
        b.path("bombs", "million_rows.xlsx", EITHER), narrow(1_000_000, "B", three), base
    )
    _stream_sheet_xlsx(
        b.path("bombs", "blank_rows_full_header.xlsx", IMPORT),
        narrow(150_000, "Q", header_row_xml(), b' t="inlineStr"><is><t> </t></is>'),
        base,
    )

    def duplicates(rows: int) -> Iterator[bytes]:
        one = b.people(1)[0]
        yield head + header_row_xml().encode()
        for r in range(2, rows + 2):
            yield person_row_xml(one, r).encode()
        yield tail

    _stream_sheet_xlsx(b.path("bombs", "same_row_10k.xlsx", IMPORT), duplicates(10_000), base)
    # One shared string of 20 MB (compresses to ~20 kB): far past Excel's 32,767 characters.
    big = "7" * (20 << 20)
    sst = f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>{big}</t></si></sst>'
    rows = header_row_xml() + '<row r="2"><c r="B2" t="s"><v>0</v></c></row>'
    rezip(
        base,
        b.path("bombs", "shared_string_20mb.xlsx", REFUSE),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(rows)},
        add={"xl/sharedStrings.xml": sst.encode()},
    )
    # Many zip members of compressible junk beside a valid workbook.
    junk = b.path("bombs", "junk_members.xlsx", EITHER)
    rezip(base, junk, add={f"xl/junk/{i}.bin": bytes(2 << 20) for i in range(20)})
    # A 50 MB XML comment in the sheet (compresses ~1000:1).
    comment = b"<!--" + b"x" * (50 << 20) + b"-->"
    rezip(
        base,
        b.path("bombs", "comment_50mb.xlsx", EITHER),
        replace={
            "xl/worksheets/sheet1.xml": sheet_xml(header_row_xml()).replace(
                b"<sheetData>", comment + b"<sheetData>"
            )
        },
    )


def entity_bombs(b: CorpusBuilder, rng: random.Random) -> None:
    base = b.base_xlsx(2)
    cell = '<c r="A1" t="s"><v>0</v></c>'
    laughs_sst = (
        billion_laughs("sst")
        + f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    rezip(
        base,
        b.path("entities", "laughs_shared.xlsx", REFUSE),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(f'<row r="1">{cell}</row>')},
        add={"xl/sharedStrings.xml": laughs_sst.encode()},
    )
    laughs_sheet = (
        billion_laughs("worksheet")
        + strip_decl(
            sheet_xml(
                '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
            ).decode()
        )
    ).encode()
    rezip(
        base,
        b.path("entities", "laughs_sheet.xlsx", EITHER),
        replace={"xl/worksheets/sheet1.xml": laughs_sheet},
    )
    wb = zipfile.ZipFile(base).read("xl/workbook.xml").decode()
    laughs_wb = billion_laughs("workbook") + strip_decl(wb).replace('name="Sheet"', 'name="&lol9;"')
    rezip(
        base,
        b.path("entities", "laughs_workbook.xlsx", EITHER),
        replace={"xl/workbook.xml": laughs_wb.encode()},
    )
    ct = zipfile.ZipFile(base).read("[Content_Types].xml").decode()
    rezip(
        base,
        b.path("entities", "laughs_content_types.xlsx", EITHER),
        replace={"[Content_Types].xml": (billion_laughs("Types") + strip_decl(ct)).encode()},
    )
    xxe = '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    xxe_sst = (
        xxe
        + f'<sst xmlns="{MAIN_NS}" count="2" uniqueCount="2"><si><t>&xxe;</t></si><si><t>NIK</t></si></sst>'
    )
    xxe_cells = header_row_xml() + '<row r="2"><c r="D2" t="s"><v>0</v></c></row>'
    rezip(
        base,
        b.path("entities", "xxe_shared.xlsx", EITHER),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(xxe_cells)},
        add={"xl/sharedStrings.xml": xxe_sst.encode()},
    )
    xxe_sheet = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + strip_decl(
            sheet_xml(header_row_xml() + '<row r="2">' + inline("D2", "X") + "</row>").decode()
        ).replace(">X<", ">&xxe;<")
    )
    rezip(
        base,
        b.path("entities", "xxe_sheet.xlsx", EITHER),
        replace={"xl/worksheets/sheet1.xml": xxe_sheet.encode()},
    )
    blow = "x" * 10_000
    quadratic = (
        f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "{blow}">]>'
        f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>{"&a;" * 10_000}</t></si></sst>'
    )
    rezip(
        base,
        b.path("entities", "quadratic_shared.xlsx", EITHER),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(xxe_cells)},
        add={"xl/sharedStrings.xml": quadratic.encode()},
    )
    ods = write_ods(b.root / "_base" / "entities.ods", b.people(1))
    content = zipfile.ZipFile(ods).read("content.xml").decode()
    body = strip_decl(content)
    laughs_ods = billion_laughs("office:document-content") + body.replace(">Data<", ">&lol9;<", 1)
    rezip(
        ods,
        b.path("entities", "laughs_content.ods", EITHER),
        replace={"content.xml": laughs_ods.encode()},
    )
    xxe_ods = (
        '<?xml version="1.0"?><!DOCTYPE office:document-content [<!ENTITY xxe SYSTEM '
        '"file:///etc/passwd">]>' + body.replace("Bandung", "&xxe;", 1)
    )
    rezip(
        ods,
        b.path("entities", "xxe_content.ods", EITHER),
        replace={"content.xml": xxe_ods.encode()},
    )


def huge_cells(b: CorpusBuilder, rng: random.Random) -> None:
    words = ("Lorem ipsum dolor sit amet " * 4000)[:100_000]
    for column in ("NIK", "Nama Sesuai KTP", "Alamat", "No HP", "Tgl Lahir", "Pendidikan Terakhir"):
        key = re.sub(r"\W+", "_", column).lower()
        write_xlsx(
            b.path("huge_cells", f"{key}.xlsx", IMPORT),
            b.people(2) + b.people(1, **{column: words}),
        )
        write_csv(
            b.path("huge_cells", f"{key}.csv", REFUSE), b.people(2) + b.people(1, **{column: words})
        )
    digits = "8" * 100_000
    write_xlsx(b.path("huge_cells", "digits_phone.xlsx", IMPORT), b.people(1, **{"No HP": digits}))
    write_xlsx(b.path("huge_cells", "digits_nik.xlsx", IMPORT), b.people(1, NIK=digits))


def formulas(b: CorpusBuilder, rng: random.Random) -> None:
    """Each formula in each column, as a real formula (xlsx), formula-looking text (xlsx), csv."""
    for index, header in enumerate(HEADERS):
        key = f"c{index:02d}"

        def fresh(header: str = header) -> list[dict[str, Any]]:
            return [*b.people(1), *(b.people(1, **{header: x})[0] for x in FORMULAS)]

        write_xlsx_cells(
            b.path("formulas", f"{key}_formula.xlsx", IMPORT), [HEADERS, *rows_of(fresh())]
        )
        write_xlsx_cells(
            b.path("formulas", f"{key}_text.xlsx", IMPORT),
            [HEADERS, *rows_of(fresh())],
            as_text=True,
        )
        write_csv(b.path("formulas", f"{key}.csv", IMPORT), fresh())
    # Formulas with cached values, as Excel saves them: the value is what the clerk saw.
    base = b.base_xlsx(1, title=False)
    p = b.people(1)[0]
    row = person_row_xml(p, 2)
    row = row.replace(
        inline("D2", p["Nama Sesuai KTP"]),
        '<c r="D2" t="str"><f>HYPERLINK("http://x","Siti")</f><v>Siti</v></c>',
    )
    row = row.replace(inline("B2", p["NIK"]), '<c r="B2"><f>1+2</f><v>3</v></c>')
    rezip(
        base,
        b.path("formulas", "cached_values.xlsx", IMPORT),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(header_row_xml() + row)},
    )


def wrong_types(b: CorpusBuilder, rng: random.Random) -> None:
    """One odd value type in every column (a row per column), as xlsx, ods, xls and csv."""
    values: dict[str, Any] = {
        "date": date(1990, 8, 17),
        "datetime": datetime(2001, 2, 3, 4, 5, 6),
        "future": date(2099, 1, 1),
        "true": True,
        "int": 12345,
        "bignum": 3273015708900001,
        "negative": -1.5,
        "huge_float": 1e300,
        "nan": float("nan"),
        "blank": " ",
        "control": "\x01\x02\x7f\u200b\ufeff",
        "emoji": "\U0001f600\U0001f4a9",
    }

    def rows(value: Any) -> list[list[Any]]:
        people = [*b.people(1), *(b.people(1, **{h: value})[0] for h in HEADERS if h != "No")]
        return [HEADERS, *rows_of(people)]

    for name, value in values.items():
        if name not in ("nan", "control"):  # openpyxl refuses to write either
            write_xlsx_cells(b.path("wrong_types", f"{name}.xlsx", IMPORT), rows(value))
        if name in ("date", "datetime", "true", "int", "negative", "blank", "emoji"):
            write_ods_cells(b.path("wrong_types", f"{name}.ods", IMPORT), rows(value))
        if name in ("date", "int", "negative", "huge_float", "true"):
            write_xls_cells(b.path("wrong_types", f"{name}.xls", IMPORT), rows(value))
        if name in ("date", "datetime", "control", "emoji", "nan"):
            write_csv_cells(b.path("wrong_types", f"{name}.csv", IMPORT), rows(value))
    # Numbers spelled the way number cells go wrong: NaN, INF and 1e309 in raw numeric cells.
    base = b.base_xlsx(1, title=False)
    raw_rows = header_row_xml()
    for r, raw in enumerate(("NaN", "INF", "-INF", "1e309", "1.0E+15", "0x10", ""), start=2):
        p = b.people(1)[0]
        cells = person_row_xml(p, r)
        for col in ("B", "C", "F", "H", "P"):
            cells = re.sub(
                rf'<c r="{col}{r}"[^>]*>.*?</c>', f'<c r="{col}{r}"><v>{raw}</v></c>', cells
            )
        raw_rows += cells
    rezip(
        base,
        b.path("wrong_types", "raw_numbers.xlsx", EITHER),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(raw_rows)},
    )


def encodings(b: CorpusBuilder, rng: random.Random) -> None:
    names = {"Nama Sesuai KTP": "José Ñúñez"}
    for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        write_csv(b.path("encodings", f"{enc}.csv", REFUSE), b.people(2, **names), encoding=enc)
    write_csv(b.path("encodings", "latin1.csv", IMPORT), b.people(3, **names), encoding="latin-1")
    write_csv(b.path("encodings", "cp1252.txt", IMPORT), b.people(3, **names), encoding="cp1252")
    # UTF-8 rows with accents, then a Latin-1 row: no single reading is right.
    mixed = b.path("encodings", "mixed_early.csv", REFUSE)
    write_csv(mixed, b.people(2, **names), encoding="utf-8")
    extra = b.root / "_base" / "extra.csv"
    write_csv(extra, b.people(1, **names), encoding="latin-1")
    mixed.write_bytes(mixed.read_bytes() + extra.read_bytes().split(b"\r\n", 1)[1])
    # ASCII, then bytes that are not UTF-8 past the first 64 KiB: the whole file decides, and
    # it is valid cp1252 (issue 13: such a file was refused as "not text"). Its junk row is no
    # applicant; the people before it import.
    late = b.path("encodings", "mixed_late.csv", IMPORT)
    write_csv(late, b.people(1), encoding="utf-8")
    filler = ";".join([""] * 16)
    late.write_bytes(
        late.read_bytes() + ((filler + "\r\n") * 5000).encode() + b"\xe9\xff\xfe;x\r\n"
    )
    # Undefined cp1252 bytes (0x81, 0x8d) in an otherwise cp1252 file.
    undefined = b.path("encodings", "cp1252_undefined.csv", REFUSE)
    write_csv(undefined, b.people(2, **names), encoding="latin-1")
    undefined.write_bytes(undefined.read_bytes() + b"\x81\x8d;\x8f\r\n")
    # A UTF-8 BOM, then bytes that are not UTF-8.
    bom = b.path("encodings", "bom_then_latin1.csv", REFUSE)
    write_csv(bom, b.people(2, **names), encoding="latin-1")
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes())
    # Overlong and surrogate UTF-8 sequences.
    overlong = b.path("encodings", "overlong_utf8.csv", EITHER)
    write_csv(overlong, b.people(1))  # cp1252 reads every byte here: either outcome
    overlong.write_bytes(overlong.read_bytes() + b"\xc0\xaf;\xed\xa0\x80\r\n")


def broken_csv(b: CorpusBuilder, rng: random.Random) -> None:
    header = ";".join(HEADERS)
    write_csv(b.path("csv", "only_header.csv", IMPORT), [])
    b.path("csv", "only_header_no_newline.csv", IMPORT).write_text(header, encoding="utf-8")
    no_nik = [h for h in HEADERS if h != "NIK"]
    write_csv(b.path("csv", "header_without_nik.csv", REFUSE), b.people(3), headers=no_nik)
    write_csv(b.path("csv", "header_only_nik.csv", REFUSE), b.people(3), headers=["NIK", "Catatan"])
    b.path("csv", "bom_only.csv", REFUSE).write_bytes(b"\xef\xbb\xbf")
    b.path("csv", "newlines_only.csv", REFUSE).write_text("\r\n" * 1000, encoding="utf-8")
    b.path("csv", "delimiters_only.csv", REFUSE).write_text(";;;;\n" * 100, encoding="utf-8")
    # Unbalanced quotes: a quote opening a field that never closes swallows the rest of the file.
    good = write_csv(b.root / "_base" / "q.csv", b.people(5)).read_text(encoding="utf-8-sig")
    lines = good.splitlines(keepends=True)
    b.path("csv", "quote_opens_field.csv", EITHER).write_text(
        lines[0] + '"' + "".join(lines[1:]), encoding="utf-8"
    )
    b.path("csv", "quote_mid_field.csv", IMPORT).write_text(
        lines[0] + lines[1].replace("Bandung", 'Ban"dung') + "".join(lines[2:]), encoding="utf-8"
    )
    b.path("csv", "quote_at_end.csv", EITHER).write_text(good + '"', encoding="utf-8")
    b.path("csv", "quote_swallows_big.csv", REFUSE).write_text(
        lines[0] + '"' + "".join(lines[1:]) + ("x" * 40 + "\n") * 1500, encoding="utf-8"
    )
    # NUL bytes: inside the sniffed sample, and only after it.
    b.path("csv", "nul_early.csv", REFUSE).write_bytes(
        good.encode().replace(b"Bandung", b"Band\x00ung")
    )
    filler = ";".join([""] * 16) + "\n"
    b.path("csv", "nul_late.csv", EITHER).write_bytes(
        good.encode() + (filler * 5000).encode() + b"\x00;\x00;Band\x00ung\n"
    )
    b.path("csv", "header_repeated.csv", IMPORT).write_text(
        good + "".join(lines[:1]) * 5 + "".join(lines[1:]), encoding="utf-8"
    )
    b.path("csv", "ragged_rows.csv", IMPORT).write_text(
        lines[0]
        + "".join(line.rstrip("\r\n") + ";x" * rng.randrange(0, 40) + "\n" for line in lines[1:]),
        encoding="utf-8",
    )
    b.path("csv", "short_rows.csv", IMPORT).write_text(
        lines[0]
        + "".join(";".join(line.split(";")[: rng.randrange(1, 6)]) + "\n" for line in lines[1:]),
        encoding="utf-8",
    )
    b.path("csv", "thousand_columns.csv", EITHER).write_text(
        lines[0].rstrip("\r\n")
        + ";"
        + ";".join(f"Kolom {i}" for i in range(1000))
        + "\n"
        + "".join(lines[1:]),
        encoding="utf-8",
    )
    b.path("csv", "cr_only_newlines.csv", EITHER).write_text(
        good.replace("\r\n", "\r"), encoding="utf-8"
    )
    b.path("csv", "tabs_and_commas.csv", EITHER).write_text(
        good.replace(";", "\t", 5).replace(";", ","), encoding="utf-8"
    )
    b.path("csv", "endless_line.csv", REFUSE).write_text(
        "NIK;Nama;" + "x" * (2 << 20) + "\n", encoding="utf-8"
    )
    many = b.path("csv", "many_blank_lines.csv", IMPORT)
    many.write_text(good + (";" * 16 + "\n") * 50_000, encoding="utf-8")
    b.path("csv", "total_row.csv", IMPORT).write_text(good + "Jumlah;;;;5\n", encoding="utf-8")
    b.path("csv", "escape_sequences.csv", IMPORT).write_text(
        lines[0] + lines[1].replace("Bandung", "\x1b[31mBandung\x1b[0m") + "".join(lines[2:]),
        encoding="utf-8",
    )


def regressions(b: CorpusBuilder, rng: random.Random) -> None:
    """Cells that hung or fooled the validator before db2b4d1 (see the tests at the end)."""
    for suffix, writer in ((".csv", write_csv), (".xlsx", write_xlsx)):
        writer(
            b.path("regressions", f"long_name_stray{suffix}", IMPORT),
            b.people(1) + b.people(1, **{"Nama Sesuai KTP": PATHOLOGICAL_NAME}),
        )
        writer(
            b.path("regressions", f"spaces_nik{suffix}", IMPORT),
            b.people(1, NIK=SPACES_NIK) + b.people(1, **{"No. KK": SPACES_NIK}),
        )
        people = []
        for script in ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९"):
            b._person += 1
            people.append(non_ascii_digits(b._person, script))
        writer(b.path("regressions", f"non_ascii_digits{suffix}", IMPORT), people)


def dimensions(b: CorpusBuilder, rng: random.Random) -> None:
    rows = header_row_xml() + person_row_xml(b.people(1)[0], 2)
    for name, dim in (
        ("xfd_1048576", "A1:XFD1048576"),
        ("xfd_row1", "A1:XFD1"),
        ("zzz", "A1:ZZZ5"),
        ("max_rows", "A1:Q1048576"),
    ):
        rezip(
            b.base_xlsx(1),
            b.path("dimensions", f"{name}.xlsx", EITHER),
            replace={"xl/worksheets/sheet1.xml": sheet_xml(rows, head=f'<dimension ref="{dim}"/>')},
        )
    far = header_row_xml() + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    rezip(
        b.base_xlsx(1),
        b.path("dimensions", "cell_at_xfd1048576.xlsx", REFUSE),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(far)},
    )
    wide = header_row_xml() + '<row r="2"><c r="ZZZ2"><v>1</v></c></row>'
    rezip(
        b.base_xlsx(1),
        b.path("dimensions", "cell_at_zzz.xlsx", REFUSE),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(wide)},
    )
    cols = '<cols><col min="1" max="16384" width="9"/></cols>'
    rezip(
        b.base_xlsx(1),
        b.path("dimensions", "cols_16384.xlsx", EITHER),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(rows, head=cols)},
    )
    spans = rows.replace('<row r="2">', '<row r="2" spans="1:16384">')
    rezip(
        b.base_xlsx(1),
        b.path("dimensions", "spans_16384.xlsx", EITHER),
        replace={"xl/worksheets/sheet1.xml": sheet_xml(spans)},
    )


def odd_files(b: CorpusBuilder, rng: random.Random) -> None:
    for suffix in (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"):
        b.path("odd", f"kosong{suffix}", REFUSE).write_bytes(b"")
    b.path("odd", "x.xlsx", REFUSE).mkdir()
    b.path("odd", "x.csv", REFUSE).mkdir()
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)
    for suffix in (".xlsx", ".xlsm", ".xls"):
        b.path("odd", f"rahasia{suffix}", REFUSE).write_bytes(ole)
    b.path("odd", "surat.xlsx", REFUSE).write_text("Kepada Yth. Kepala Dinas", encoding="utf-8")
    b.path("odd", "gambar.csv", REFUSE).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    b.path("odd", "daftar.pdf", REFUSE).write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    b.path("odd", "tanpa_akhiran", REFUSE).write_bytes(b"NIK;Nama\n1;a\n")
    if hasattr(os, "symlink"):
        b.path("odd", "dangling.csv", REFUSE).symlink_to(b.root / "tidak-ada.csv")
        if Path("/dev/zero").exists():
            b.path("odd", "zero.csv", REFUSE).symlink_to("/dev/zero")
            b.path("odd", "zero.xlsx", REFUSE).symlink_to("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(b.path("odd", "fifo.csv", REFUSE))


# ---------------------------------------------------------------------------------------------
# Running and judging
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return build_corpus(tmp_path_factory.mktemp("malformed"))


@pytest.fixture(scope="module")
def corpus_office(_office_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("corpus_office") / "home"
    shutil.copytree(_office_template, home)
    return home


def snapshot(home: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """A digest of applicants, audit and counters, and the applicants by id."""
    with closing(sqlite3.connect(home / "prakerja.db")) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM applicants ORDER BY id")]
        audit = [tuple(r) for r in conn.execute("SELECT seq, hash FROM audit ORDER BY seq")]
        counters = [
            tuple(r) for r in conn.execute("SELECT name, value FROM counters ORDER BY name")
        ]
    digest = hashlib.sha256(
        json.dumps([rows, audit, counters], sort_keys=True, default=str).encode()
    ).hexdigest()
    return digest, {r["id"]: r for r in rows}


def stored_row_problems(row: dict[str, Any]) -> list[str]:
    """What is wrong with a stored record, judged by the storage invariants and by validation."""
    problems = []
    if not (isinstance(row["nik"], str) and NIK_16.fullmatch(row["nik"])):
        problems.append(f"nik {row['nik']!r}")
    if not (isinstance(row["kk"], str) and NIK_16.fullmatch(row["kk"])):
        problems.append(f"kk {row['kk']!r}")
    name = row["name"]
    if not (isinstance(name, str) and name == name.upper() and f._NAME_OK.fullmatch(name)):
        problems.append(f"name {str(name)[:60]!r}")
    if row["gender"] not in ("L", "P"):
        problems.append(f"gender {row['gender']!r}")
    if not (isinstance(row["phone"], str) and PHONE.fullmatch(row["phone"])):
        problems.append(f"phone {row['phone']!r}")
    try:
        born = date.fromisoformat(row["birth_date"])
        if not date(1900, 1, 1) <= born <= date.today():
            problems.append(f"birth_date {born}")
    except (TypeError, ValueError):
        problems.append(f"birth_date {row['birth_date']!r}")
    if row["education"] not in f.EDUCATION:
        problems.append(f"education {row['education']!r}")
    if row["employment"] not in f.EMPLOYMENT:
        problems.append(f"employment {row['employment']!r}")
    if row["status"] not in ("valid", "flagged"):
        problems.append(f"status {row['status']!r}")
    ctx = ValidationContext(
        rules=load_rule_set(row["rules"]), today=date.fromisoformat(row["created_at"][:10])
    )
    again = validate_applicant({name: row.get(name) for name in FIELDS}, ctx)
    errors = [str(x.code) for x in again.findings if x.severity is Severity.ERROR]
    if errors:
        problems.append(f"does not validate again: {errors}")
    return problems


class _Overtime(BaseException):
    """Raised by the alarm inside a hung import (BaseException: nothing in the CLI catches it)."""


def timed_invoke(args: list[str]) -> tuple[Run | None, float, str | None]:
    """Run the CLI in-process with a hard stop; (run, seconds, crash description)."""
    alarm = hasattr(signal, "SIGALRM")
    if alarm:

        def stop(signum: int, frame: Any) -> None:
            raise _Overtime

        previous = signal.signal(signal.SIGALRM, stop)
        signal.alarm(HARD_STOP)
    started = time.monotonic()
    try:
        return invoke(args), time.monotonic() - started, None
    except _Overtime:
        return None, time.monotonic() - started, f"still running after {HARD_STOP} s"
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a crash is a finding, reported with the file
        return None, time.monotonic() - started, f"{type(exc).__name__}: {exc}"[:300]
    finally:
        if alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


def _no_constants(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def judge(
    case: Case, run: Run, before: tuple[str, dict[str, Any]], home: Path
) -> tuple[str, list[str]]:
    """("refused" | "imported", problems) for one finished import."""
    problems: list[str] = []
    output = run.stdout + run.stderr
    if "Traceback" in output:
        problems.append("traceback in the output")
    if "root:x:0:0" in output:
        problems.append("/etc/passwd content in the output")
    after = snapshot(home)
    if run.exit_code in (1, 2):
        galat = [line for line in run.stderr.splitlines() if line.startswith("galat:")]
        if len(galat) != 1:
            problems.append(f"{len(galat)} 'galat:' lines on stderr: {run.stderr[:300]!r}")
        try:  # under --json the refusal is one document on stdout
            refusal = json.loads(run.stdout)
        except ValueError:
            refusal = None
        if not isinstance(refusal, dict) or refusal.get("exit_code") != run.exit_code:
            problems.append(f"stdout is not the error document: {run.stdout[:200]!r}")
        if after[0] != before[0]:
            problems.append("store changed although the file was refused")
        if case.expect == IMPORT:
            problems.append(f"expected to be read, was refused: {run.stderr[:200]!r}")
        return "refused", problems
    if run.exit_code not in (0, 3):
        problems.append(f"exit code {run.exit_code}: {run.stderr[:300]!r}")
        return "other", problems
    if case.expect == REFUSE:
        problems.append(f"expected a refusal, was read (exit {run.exit_code})")
    try:
        doc = json.loads(run.stdout, parse_constant=_no_constants)
    except ValueError as exc:
        problems.append(f"stdout is not one JSON document: {exc}; {run.stdout[:200]!r}")
        return "imported", problems
    error_rows = {x["row"] for x in doc["findings"] if x["severity"] == "error"}
    if len(error_rows) != doc["rejected"]:
        problems.append(f"{doc['rejected']} rejected rows but {len(error_rows)} rows with errors")
    if (run.exit_code == 3) != (doc["rejected"] > 0):
        problems.append(f"exit {run.exit_code} with {doc['rejected']} rejected")
    for item in doc["findings"]:
        if item["code"] not in Code.__members__ or item["severity"] not in {
            s.value for s in Severity
        }:
            problems.append(f"unknown finding {item['code']}/{item['severity']}")
        if not item["message"] or "{" in item["message"]:
            problems.append(f"bad message {item['message']!r}")
    new = {k: v for k, v in after[1].items() if k not in before[1]}
    changed = [k for k in before[1] if after[1].get(k) != before[1][k]]
    if changed:
        problems.append(f"{len(changed)} stored records changed without --update")
    if len(new) != doc["stored"] - doc["updated"]:
        problems.append(f"JSON says {doc['stored']} stored, the store has {len(new)} new")
    for row in new.values():
        if "root:x:0:0" in json.dumps(row, default=str):
            problems.append("/etc/passwd content stored")
        for problem in stored_row_problems(row):
            problems.append(f"stored {row['registration_number']}: {problem}")
    return "imported", problems


def test_corpus_of_malformed_rosters(
    corpus: list[Case], corpus_office: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRAKERJA_HOME", str(corpus_office))
    outcomes: Counter[str] = Counter()
    by_category: dict[str, Counter[str]] = {}
    failures: list[str] = []
    slowest: list[tuple[float, str]] = []
    stored = 0
    for case in corpus:
        before = snapshot(corpus_office)
        run, seconds, crash = timed_invoke(["roster", "import", str(case.path), "--json"])
        slowest.append((seconds, case.label))
        if run is None:
            outcome, problems = "crashed", [crash or "?"]
        else:
            outcome, problems = judge(case, run, before, corpus_office)
        if seconds > PER_FILE_LIMIT:
            problems.append(f"took {seconds:.1f} s")
        if outcome == "imported":
            stored += len(snapshot(corpus_office)[1]) - len(before[1])
        outcomes[outcome] += 1
        by_category.setdefault(case.category, Counter())[outcome] += 1
        failures.extend(f"{case.label}: {p}" for p in problems)
    slowest.sort(reverse=True)
    summary = (
        f"malformed corpus: {len(corpus)} files, outcomes {dict(outcomes)}, "
        f"{stored} records stored by readable files\n"
        + "\n".join(f"  {cat:12} {dict(c)}" for cat, c in sorted(by_category.items()))
        + "\n  slowest: "
        + ", ".join(f"{label} {s:.2f} s" for s, label in slowest[:4])
    )
    print("\n" + summary)
    assert len(corpus) >= 200, summary
    assert not failures, summary + "\n" + "\n".join(failures[:60])
    assert outcomes["refused"] and outcomes["imported"], summary


# ---------------------------------------------------------------------------------------------
# Bugs the corpus found, each fixed since and pinned here
# ---------------------------------------------------------------------------------------------


def assert_one_line_refusal(run: Run, home: Path, before: str) -> None:
    assert run.exit_code in (1, 2), (run.exit_code, run.stderr[-800:])
    assert "Traceback" not in run.stderr + run.stdout
    assert len([x for x in run.stderr.splitlines() if x.startswith("galat:")]) == 1, run.stderr
    assert snapshot(home)[0] == before


def test_corrupt_deflate_stream_is_one_line(office: Path, tmp_path: Path) -> None:
    base = write_xlsx(tmp_path / "base.xlsx", [person(i) for i in range(1, 200)])
    data = bytearray(base.read_bytes())
    info = zipfile.ZipFile(base).getinfo("xl/worksheets/sheet1.xml")
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len + 10
    data[start : start + 8] = bytes(x ^ 0xFF for x in data[start : start + 8])
    broken = tmp_path / "bitflip.xlsx"
    broken.write_bytes(bytes(data))
    before = snapshot(office)[0]
    run, _, crash = timed_invoke(["roster", "import", str(broken), "--json"])
    assert crash is None, crash
    assert run is not None
    assert_one_line_refusal(run, office, before)


def test_truncated_xls_is_one_line(office: Path, tmp_path: Path) -> None:
    data = write_xls(tmp_path / "whole.xls", [person(i) for i in range(1, 31)]).read_bytes()
    for cut in (len(data) - 1500, len(data) - 1000, len(data) - 500):
        broken = tmp_path / f"cut{cut}.xls"
        broken.write_bytes(data[:cut])
        before = snapshot(office)[0]
        run, _, crash = timed_invoke(["roster", "import", str(broken), "--json"])
        assert crash is None, f"cut at {cut} of {len(data)} bytes: {crash}"
        assert run is not None
        assert_one_line_refusal(run, office, before)


def _limited_import(
    home: Path, path: Path, *, memory: int = MEMORY_CAP, timeout: float = 30
) -> tuple[subprocess.CompletedProcess[str] | None, float]:
    """`prakerja roster import` in a child process with an address-space cap and a timeout."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "prakerja_cli", "roster", "import", str(path), "--json"],
            env={**os.environ, "PRAKERJA_HOME": str(home)}, capture_output=True, text=True,
            timeout=timeout, preexec_fn=cap,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started
    return done, time.monotonic() - started


def _bomb_sheet(tmp_path: Path, name: str, chunks: Iterator[bytes]) -> Path:
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    return _stream_sheet_xlsx(tmp_path / name, chunks, base)


def _rows(first: bytes, make: Callable[[int], bytes], rows: range) -> Iterator[bytes]:
    yield sheet_xml("").split(b"<sheetData>")[0] + b"<sheetData>" + first
    for start in range(rows.start, rows.stop, 20_000):
        yield b"".join(make(r) for r in range(start, min(start + 20_000, rows.stop)))
    yield b"</sheetData></worksheet>"


BOMBS: dict[str, Callable[[Path], Path]] = {
    # rows x columns each under the limits (1.1M x 512) but 100M cells: calamine's dense grid.
    "dense_200k_by_512.xlsx": lambda tmp: _bomb_sheet(
        tmp, "dense.xlsx",
        _rows(header_row_xml().encode(), lambda r: b'<row r="%d"><c r="SR%d"><v>1</v></c></row>' % (r, r), range(2, 200_001)),
    ),
    # An 8-digit row number slips past the 7-digit pattern of _check_xlsx.
    "row_99999999.xlsx": lambda tmp: _bomb_sheet(
        tmp, "row8.xlsx",
        _rows(header_row_xml().encode(), lambda r: b'<row r="99999999"><c r="B99999999"><v>1</v></c></row>', range(2, 3)),
    ),
    # Cells without an r attribute are never counted: 5000 rows x 20000 implicit columns.
    "implicit_columns.xlsx": lambda tmp: _bomb_sheet(
        tmp, "implicit.xlsx",
        _rows(header_row_xml().encode(), lambda r: b'<row r="5000">' + b"<c><v>1</v></c>" * 20_000 + b"</row>", range(2, 3)),
    ),
    # ODS repeats: 845 bytes that expand to 99M cells (no limit is checked before calamine).
    "repeated_330k_by_300.ods": lambda tmp: _ods_repeat_bomb(tmp / "repeat.ods", 330_000, 300),
}  # fmt: skip


def _ods_repeat_bomb(path: Path, rows: int, cols: int) -> Path:
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:'
        'tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:'
        'full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    header = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{h}</text:p></table:table-cell>'
        for h in HEADERS
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:'
        'names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns'
        ':table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version='
        f'"1.2"><office:body><office:spreadsheet><table:table table:name="Data"><table:table-row>'
        f'{header}</table:table-row><table:table-row table:number-rows-repeated="{rows}">'
        f'<table:table-cell table:number-columns-repeated="{cols}" office:value-type="float" '
        'office:value="1"><text:p>1</text:p></table:table-cell></table:table-row></table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_cell_bombs_are_refused_quickly_in_little_memory(
    bomb: str, office: Path, tmp_path: Path
) -> None:
    path = BOMBS[bomb](tmp_path)
    assert path.stat().st_size < 10 << 20
    before = snapshot(office)[0]
    done, seconds = _limited_import(office, path)
    assert done is not None, f"still running after {seconds:.0f} s"
    assert seconds < PER_FILE_LIMIT, f"took {seconds:.1f} s"
    assert_one_line_refusal(Run(done.returncode, done.stdout, done.stderr), office, before)


# Regressions: validator bugs this corpus and the fuzzing found, fixed in db2b4d1. Their files
# are in the corpus too (category "regressions"); these name the failure precisely.

PATHOLOGICAL_NAME = "Siti Aminah Binti Abdurrahmansyahputra*"  # hung the old name rule for hours
SPACES_NIK = "1.1e" + " " * 30_000 + "x"  # ~9 s per cell in the old scientific-notation check


def non_ascii_digits(i: int, script: str) -> dict[str, Any]:
    table = str.maketrans("0123456789", script)
    p = person(i)
    p["NIK"] = p["NIK"][:2] + p["NIK"][2:].translate(table)
    p["No. KK"] = p["No. KK"][:2] + p["No. KK"][2:].translate(table)
    return p


def _import_in_time(path: Path) -> Run:
    run, seconds, crash = timed_invoke(["roster", "import", str(path), "--json"])
    assert crash is None, crash
    assert run is not None
    assert seconds < SMALL_FILE_LIMIT, f"a two-row roster took {seconds:.1f} s"
    return run


def test_a_name_cell_cannot_hang_the_import(office: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "nama.csv", [person(1), person(2, **{"Nama Sesuai KTP": PATHOLOGICAL_NAME})]
    )
    run = _import_in_time(path)
    assert run.exit_code == 3, run.stderr
    assert run.json()["rejected_by_code"] == {"NAME_INVALID": 1}


def test_a_nik_cell_cannot_stall_the_import(office: Path, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "nik.csv", [person(1, NIK=SPACES_NIK), person(2, **{"No. KK": SPACES_NIK})]
    )
    run = _import_in_time(path)
    assert run.exit_code == 3, run.stderr
    assert run.json()["rejected_by_code"] == {"NIK_FORMAT": 1, "KK_FORMAT": 1}


def test_no_stored_nik_has_non_ascii_digits(office: Path, tmp_path: Path) -> None:
    people = [non_ascii_digits(1, "０１２３４５６７８９"), non_ascii_digits(2, "٠١٢٣٤٥٦٧٨٩")]
    run = _import_in_time(write_csv(tmp_path / "angka.csv", people))
    assert run.exit_code == 3, run.stderr
    assert run.json()["stored"] == 0
    assert snapshot(office)[1] == {}


def test_escape_sequences_in_a_roster_never_reach_the_terminal(
    office: Path, tmp_path: Path
) -> None:
    hostile = {
        "Tempat Lahir": "\x1b]0;DIRETAS\x07\x1b[31mBandung\x1b[0m",
        "Alamat": "Jl. Merdeka \x1b[2J 1",
    }
    run = invoke(
        ["roster", "import", str(write_csv(tmp_path / "esc.csv", [person(1, **hostile)])), "--json"]
    )
    assert run.exit_code in (0, 3), run.stderr
    for number in [r["registration_number"] for r in snapshot(office)[1].values()]:
        shown = invoke(["applicants", "show", number])
        assert shown.exit_code == 0, shown.stderr
        assert "\x1b" not in shown.stdout + shown.stderr, repr(shown.stdout)
