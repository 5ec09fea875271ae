"""The size check that runs before calamine: it must agree with how a reader places cells
(references, implicit columns, prefixes, .ods repeats) and must not refuse honest files."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from rosters import person, write_ods, write_xlsx

from prakerja_cli.roster import bounds
from prakerja_cli.roster.bounds import MAX_CELLS, Damaged, TooBig, check_spreadsheet
from tests.conftest import invoke
from tests.test_proof_malformed import (
    _limited_import,
    header_row_xml,
    person_row_xml,
    rezip,
    sheet_xml,
)


def xlsx_with_sheet(tmp_path: Path, name: str, sheet: bytes) -> Path:
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    return rezip(base, tmp_path / name, replace={"xl/worksheets/sheet1.xml": sheet})


def implicit_row(row: int, columns: int) -> str:
    return f'<row r="{row}">' + "<c><v>1</v></c>" * columns + "</row>"


@pytest.mark.parametrize(
    ("rows", "refused"),
    [
        # Cells without r= are the next column: 512 of them fit, 513 do not.
        (implicit_row(1, 512), False),
        (implicit_row(1, 513), True),
        # A reference sets the column; the cells after it count on from there.
        ('<row r="1"><c r="SQ1"><v>1</v></c><c><v>1</v></c></row>', False),
        ('<row r="1"><c r="SR1"><v>1</v></c><c><v>1</v></c></row>', True),
        # Rows without r= follow the last one.
        ('<row r="1100000"><c r="A1100000"><v>1</v></c></row><row><c><v>1</v></c></row>', True),
        # Ten digits, four letters, or a grid past the cell limit.
        ('<row r="1"><c r="A1234567890"><v>1</v></c></row>', True),
        ('<row r="1"><c r="ABCD1"><v>1</v></c></row>', True),
        (f'<row r="{MAX_CELLS // 400}"><c r="OJ{MAX_CELLS // 400}"><v>1</v></c></row>', False),
        (f'<row r="{MAX_CELLS // 400}"><c r="OK{MAX_CELLS // 400}"><v>1</v></c></row>', True),
        # calamine also reads lower case, single quotes and spaces around '=' (found in review).
        ('<row r="1"><c r="xfd1048576"><v>1</v></c></row>', True),
        ("<row r='1'><c r='XFD1048576'><v>1</v></c></row>", True),
        ('<row r="1"><c r = "XFD1048576"><v>1</v></c></row>', True),
        ('<row r="1"><c t="n" r="XFD1"><v>1</v></c></row>', True),
        ("<row r='1'><c r='o3'><v>1</v></c></row>", False),
    ],
)
def test_xlsx_cells_are_placed_as_a_reader_places_them(
    tmp_path: Path, rows: str, refused: bool
) -> None:
    path = xlsx_with_sheet(tmp_path, "s.xlsx", sheet_xml(rows))
    if refused:
        with pytest.raises(TooBig):
            check_spreadsheet(path)
    else:
        check_spreadsheet(path)


def test_prefixed_tags_and_odd_spacing_are_walked_too(tmp_path: Path) -> None:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    prefixed = (
        f'<x:worksheet xmlns:x="{ns}"><x:sheetData><x:row r="1"><x:c r="XFD1"><x:v>1</x:v>'
        "</x:c></x:row></x:sheetData></x:worksheet>"
    ).encode()
    with pytest.raises(TooBig):
        check_spreadsheet(xlsx_with_sheet(tmp_path, "p.xlsx", prefixed))
    spaced = sheet_xml('<row r="1"><c\n r="XFD1"><v>1</v></c></row>')
    with pytest.raises(TooBig):
        check_spreadsheet(xlsx_with_sheet(tmp_path, "w.xlsx", spaced))


def test_a_sheet_kept_outside_xl_worksheets_is_checked_too(tmp_path: Path) -> None:
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    with zipfile.ZipFile(base) as z:
        rels = z.read("xl/_rels/workbook.xml.rels")
    # calamine follows the relationship, and matches the part's name ignoring case.
    moved = rels.replace(b"/xl/worksheets/sheet1.xml", b"/xl/data/lembar.xml")
    assert moved != rels
    bomb = sheet_xml('<row r="1"><c r="XFD1048576"><v>1</v></c></row>')
    path = rezip(
        base, tmp_path / "moved.xlsx",
        replace={"xl/_rels/workbook.xml.rels": moved, "xl/worksheets/sheet1.xml": None},
        add={"xl/data/Lembar.xml": bomb},
    )  # fmt: skip
    with pytest.raises(TooBig):
        check_spreadsheet(path)


def test_the_fast_path_and_the_walk_agree_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks put <cols> and implicit cells in some chunks and plain cells in others."""
    monkeypatch.setattr(bounds, "_CHUNK", 256)
    rows = "".join(person_row_xml(person(i), i + 1) for i in range(1, 40))
    head = '<cols><col min="1" max="15" width="20"/></cols>'
    tail = '<row r="41"><c r="N41"><v>1</v></c><c><v>1</v></c><c><v>1</v></c></row>'
    ok = sheet_xml(header_row_xml() + rows + tail, head=head)
    check_spreadsheet(xlsx_with_sheet(tmp_path, "ok.xlsx", ok))
    monkeypatch.setattr(bounds, "MAX_COLUMNS", 16)
    with pytest.raises(TooBig):  # N41 and two implicit cells reach column 16; one more is 17
        check_spreadsheet(
            xlsx_with_sheet(
                tmp_path, "no.xlsx", ok.replace(b"<c><v>1</v></c></row>", b"<c/><c/></row>")
            )
        )


def libreoffice_trailer(path: Path) -> Path:
    """LibreOffice ends each sheet with a million empty repeated rows of 1024 empty cells."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    trailer = (
        b'<table:table-row table:number-rows-repeated="1048500"><table:table-cell '
        b'table:number-columns-repeated="1024"/></table:table-row>'
    )
    members["content.xml"] = members["content.xml"].replace(
        b"</table:table>", trailer + b"</table:table>"
    )
    out = path.with_name("lo-" + path.name)
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", members.pop("mimetype"))
        for name, data in members.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out


def test_an_ods_saved_by_libreoffice_imports(office: Path, tmp_path: Path) -> None:
    path = libreoffice_trailer(write_ods(tmp_path / "desa.ods", [person(1), person(2)]))
    check_spreadsheet(path)
    run = invoke(["roster", "import", str(path), "--json"])
    assert run.exit_code == 0, run.stderr
    assert (run.json()["rows"], run.json()["stored"]) == (2, 2)


def test_ods_repeats_with_values_count(tmp_path: Path) -> None:
    path = libreoffice_trailer(write_ods(tmp_path / "desa.ods", [person(1)]))
    with zipfile.ZipFile(path) as z:
        content = z.read("content.xml")
    filled = content.replace(
        b'table:number-columns-repeated="1024"/>',
        b'table:number-columns-repeated="4" office:value-type="float" office:value="1"/>',
    )
    bomb = rezip(path, tmp_path / "bomb.ods", replace={"content.xml": filled})
    with pytest.raises(TooBig):
        check_spreadsheet(bomb)


# Found in review, each confirmed against calamine 0.9.1 (a grid it would allocate that the
# check let through), each refused now.

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


@pytest.mark.parametrize(
    "rows",
    [
        # A cell's reference does not move the row counter: the implicit cell after SP1 is on
        # row 1048576, column 511.
        '<row r="1048576"><c r="A1"><v>1</v></c><c r="SP1"><v>1</v></c><c><v>2</v></c></row>',
        # A prefixed cell under an unprefixed root.
        '<row r="1"><x:c xmlns:x="urn:x" r="XFD1048576"><x:v>1</x:v></x:c></row>',
    ],
)
def test_cells_calamine_places_beyond_the_limits(tmp_path: Path, rows: str) -> None:
    with pytest.raises(TooBig):
        check_spreadsheet(xlsx_with_sheet(tmp_path, "s.xlsx", sheet_xml(rows)))


def test_a_comment_in_a_sheet_is_refused(tmp_path: Path) -> None:
    rows = '<row r="100000"><!--<row r="1">--><c><v>1</v></c><c r="CU1"><v>1</v></c></row>'
    with pytest.raises(Damaged):
        check_spreadsheet(xlsx_with_sheet(tmp_path, "c.xlsx", sheet_xml(rows)))


def ods_with_content(tmp_path: Path, name: str, body: bytes) -> Path:
    base = write_ods(tmp_path / "base.ods", [person(1)])
    with zipfile.ZipFile(base) as z:
        content = z.read("content.xml")
    start = content.index(b"<table:table ")
    end = content.index(b"</table:table>") + len(b"</table:table>")
    return rezip(
        base, tmp_path / name, replace={"content.xml": content[:start] + body + content[end:]}
    )


def ods_table(rows: int, columns: int, quote: bytes = b'"', plus: bytes = b"") -> bytes:
    return (
        b'<table:table table:name="T"><table:table-row table:number-rows-repeated='
        + quote + plus + str(rows).encode() + quote
        + b'><table:table-cell table:number-columns-repeated=' + quote + plus
        + str(columns).encode() + quote
        + b' office:value-type="float" office:value="1"/></table:table-row></table:table>'
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (ods_table(8000, 400), False),
        (ods_table(100_000, 100, plus=b"+"), True),  # calamine's number parse takes "+"
        (ods_table(100_000, 100, quote=b"'"), True),
        (ods_table(8000, 400) * 2, True),  # calamine reads every table: the limits are for all
    ],
)
def test_ods_repeats_as_calamine_reads_them(tmp_path: Path, body: bytes, refused: bool) -> None:
    path = ods_with_content(tmp_path, "t.ods", body)
    if refused:
        with pytest.raises(TooBig):
            check_spreadsheet(path)
    else:
        check_spreadsheet(path)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
@pytest.mark.parametrize("suffix", [".XLS", ".ODS", ".Xlsx"])
def test_a_suffix_calamine_does_not_know_is_checked_by_content(
    office: Path, tmp_path: Path, suffix: str
) -> None:
    """calamine sniffs a suffix it does not match (it is case-sensitive) and opens the zip as
    xlsx: a 1.5 KB file asking for 549 GB used to abort the import."""
    path = xlsx_with_sheet(
        tmp_path, f"besar{suffix}", sheet_xml('<row r="1"><c r="XFD1048576"><v>1</v></c></row>')
    )
    done, seconds = _limited_import(office, path)
    assert done is not None and seconds < 30
    assert done.returncode == 2, done.stderr[-500:]
    assert "Traceback" not in done.stderr and done.stderr.startswith("galat:")
