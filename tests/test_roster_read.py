"""Reading a spreadsheet (roster/read.py): one child lists the sheets and reads the one the import
asks for first, while the parent runs the static bounds check; the cells arrive as calamine gives
them, and a refusal is the same whichever of the two finishes first."""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from rosters import person, write_csv, write_ods, write_xls, write_xlsx

from prakerja_cli.roster import read, sandbox
from tests.conftest import invoke
from tests.test_proof_malformed import rezip, sheet_xml
from tests.test_roster_sandbox import BOMB, relocated_workbook

LIMITS = (512, 1_100_000, 4_000_000, 32_767)


def calamine_rows(path: Path, name: str) -> list[list[Any]]:
    """The sheet as calamine gives it in this process: what the child must hand over."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    try:
        rows: list[list[Any]] = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return rows
    finally:
        book.close()


def every_type(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Data"
    sheet.append(["teks", 1.5, 42, True, False, None, "", "ümlaut ✓ 𝔘"])
    sheet.append([date(2001, 2, 3), datetime(2001, 2, 3, 4, 5, 6), time(7, 8, 9)])
    sheet.append([timedelta(days=2, hours=3), 10**15, -0.0, "=1+1", 3327301010190001])
    sheet["B1"].number_format = "0.00"
    sheet["A3"].number_format = "[h]:mm:ss"
    book.save(path)
    return path


@pytest.mark.parametrize(
    "make",
    [
        every_type,
        lambda p: write_xlsx(p.with_suffix(".xlsx"), [person(1), person(2)]),
        lambda p: write_ods(p.with_suffix(".ods"), [person(3)]),
        lambda p: write_xls(p.with_suffix(".xls"), [person(4)]),
    ],
    ids=["types", "xlsx", "ods", "xls"],
)
def test_cells_arrive_as_calamine_reads_them(tmp_path: Path, make: Any) -> None:
    path = make(tmp_path / "r.xlsx")
    book = read.open_roster(path)
    sheet = book.sheet(book.sheets[0])
    expected = calamine_rows(path, book.sheets[0])
    assert sheet.rows == expected
    types = [[type(cell) for cell in row] for row in sheet.rows]
    assert types == [[type(cell) for cell in row] for row in expected]


def test_the_types_sheet_holds_every_kind_of_cell(tmp_path: Path) -> None:
    rows = read.open_roster(every_type(tmp_path / "t.xlsx")).sheet("Data").rows
    kinds = {type(cell) for row in rows for cell in row}
    assert kinds >= {str, float, bool, date, datetime, time, timedelta}  # xlsx: no int


def test_the_sheet_asked_for_or_else_the_first_visible_is_read_with_the_list(
    tmp_path: Path,
) -> None:
    from openpyxl import load_workbook

    def read_ahead(path: Path, sheet: str | None = None) -> str | None:
        ahead = read.open_roster(path, sheet)._ahead
        return None if ahead is None else ahead[0]

    path = write_xlsx(tmp_path / "s.xlsx", [person(1)], sheets_before=2)
    assert read_ahead(path) == "Sampul0"
    assert read_ahead(path, "data") == "Data"
    assert read_ahead(path, "none such") is None
    book = load_workbook(path)
    book["Sampul0"].sheet_state = "hidden"
    book.save(path)
    assert read_ahead(path) == "Sampul1"


def test_a_sheet_read_ahead_but_not_asked_for_first_is_let_go(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", [person(1)], sheets_before=1)
    book = read.open_roster(path)
    data = book.sheet("Data")  # another child reads it
    assert book._ahead is None  # the cover is not held while the roster is imported
    assert data.rows == calamine_rows(path, "Data")
    assert book.sheet("Sampul0").rows == [["Daftar ini dikirim oleh Desa Gegerkalong"]]


def test_a_sheet_refused_in_the_child_is_refused_when_asked_for(tmp_path: Path) -> None:
    # An inline string is no shared string: only the child, reading the cells, sees its length.
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    cell = f'<c r="B2" t="inlineStr"><is><t>{"b" * 40_000}</t></is></c>'
    long = sheet_xml(f'<row r="1"><c r="A1"><v>1</v></c></row><row r="2">{cell}</row>')
    path = rezip(base, tmp_path / "long.xlsx", replace={"xl/worksheets/sheet1.xml": long})
    book = read.open_roster(path)  # the list is fine
    with pytest.raises(read.RosterError) as refused:
        book.sheet(book.sheets[0])
    assert refused.value.key == "error.roster_cell_too_long"
    assert refused.value.params["row"] == 2


def test_a_file_the_bounds_check_refuses_ends_the_child_unheard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child starts before the static check; the check's precise refusal is the one told,
    and the child is ended rather than left reading the file."""
    started: list[sandbox.Child] = []

    class Watched(sandbox.Child):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            started.append(self)

    monkeypatch.setattr(sandbox, "Child", Watched)
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)

    bomb = rezip(base, tmp_path / "bomb.xlsx", replace={"xl/worksheets/sheet1.xml": BOMB})
    with pytest.raises(read.RosterError) as refused:
        read.open_roster(bomb)
    assert refused.value.key == "error.roster_too_big"
    assert len(started) == 1
    assert started[0]._process.returncode is not None  # ended and reaped


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
def test_a_child_that_dies_on_the_sheet_has_given_the_list(tmp_path: Path) -> None:
    # Past the static check (not run here), calamine aborts on the relocated bomb's grid: the
    # sheet list sent before it still arrives, and the sheet's answer is the memory failure.
    listing, cells = sandbox.Child("book", relocated_workbook(tmp_path), "", LIMITS).answers(2)
    assert [name for name, _, _ in listing] == ["Sheet"]
    assert isinstance(cells, sandbox.ChildFailed)
    assert cells.memory


def test_a_csv_bigger_than_any_roster_is_refused_before_it_is_read(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long cells make a csv of few cells as big as one likes; it would be held in memory whole
    (no sandbox reads a csv). Past MAX_CSV_BYTES it is refused naming its size and the limit."""
    path = write_csv(tmp_path / "besar.csv", [person(i) for i in range(1, 4)])
    monkeypatch.setattr(read, "MAX_CSV_BYTES", path.stat().st_size - 1)
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("galat: Berkas besar.csv berukuran 0 MB"), run.stderr
    assert f"({path.stat().st_size - 1 >> 20} MB;" in run.stderr
    monkeypatch.setattr(read, "MAX_CSV_BYTES", path.stat().st_size)
    assert invoke(["roster", "import", str(path)]).exit_code == 0


_EDGE = 3 + (1 << 20)  # the BOM check's read, then one chunk: a byte ending there is cut off


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"No\xe9 Rahayu;1\r\n", "cp1252"),  # the accent ends the first read
        (b"ab\xe9c\r\n", "cp1252"),
        (b"x" * (_EDGE - 1) + b"\xe9" + b"y\r\n", "cp1252"),  # ... or a chunk
        ("Noé Rahayu".encode(), "utf-8"),
        (b"x" * (_EDGE - 1) + "é".encode() + b"\r\n", "utf-8"),  # cut between two reads
        ("é".encode() + b" \xe9", None),  # UTF-8, then a cp1252 byte: no reading is right
    ],
)
def test_the_encoding_is_judged_on_characters_not_on_reads(
    data: bytes, expected: str | None
) -> None:
    """A cp1252 accent whose byte ended a read was taken for half a UTF-8 character already
    counted as text: a valid cp1252 roster was refused as unreadable."""
    import io

    assert read.detect_encoding(io.BytesIO(data)) == expected
