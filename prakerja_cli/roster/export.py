"""Export stored registrations to .xlsx or .csv: the office's electronic recap (rekap elektronik).

Permenaker 17/2020 asks the office to hand the ministry an electronic recap of the offline
registrations. The export is that recap, in the roster's canonical columns (choices as their
codes) so that the file also imports again; the office's own columns follow. The xlsx is the
recap of record (typed cells); the csv is for other systems (plain values, see _csv_value).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prakerja_cli.core.nik import mask, mask_birth_date
from prakerja_cli.roster.columns import COLUMNS, LEAD_HEADERS, TAIL_HEADERS
from prakerja_cli.roster.output import neutralised

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

SUFFIXES = (".xlsx", ".csv")
SHEET = "Data"
HEADERS: tuple[str, ...] = (*LEAD_HEADERS, *(c.header for c in COLUMNS), *TAIL_HEADERS)

_TEXT_FIELDS = frozenset(c.field for c in COLUMNS if c.text)
_SECRET_FIELDS = ("nik", "kk")
_YES_NO = ("in_school", "social_assistance")
_WIDTHS = {"No": 6, "Nomor Pendaftaran": 18, "Kabupaten/Kota": 20, "Provinsi": 16, "Status": 18,
           "Temuan": 30, "Tanggal Daftar": 14, "Meja": 6, "Petugas": 14}  # fmt: skip

# Dates: a real date cell in xlsx, shown as DD-MM-YYYY. Excel then sorts, filters and re-reads it
# as a date in every locale, and the import gets a date object, not text to guess at. In csv there
# are no cell types, so the text must be read the same way by every reader: ISO YYYY-MM-DD is the
# one form Excel turns into the right date whatever the Windows locale, whereas "05-08-1990" is
# 5 August in an Indonesian locale and 8 May in an English (US) one.
XLSX_DATE_FORMAT = "DD-MM-YYYY"


def _national_phone(phone: str) -> str:
    """+6281234567890 -> 081234567890: the form clerks read, and one that needs no defusing."""
    return "0" + phone[3:] if phone.startswith("+62") else phone


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _status_label(row: dict[str, Any]) -> str:
    """In Indonesian whatever --lang says: the recap's headers are Indonesian too."""
    from prakerja_cli.i18n import maybe, t

    status = row.get("status")
    label = maybe(f"status.{status}", "id") or str(status)
    if row.get("purged_at"):  # its NIK, KK, name... cells are empty
        label += "; " + t("export.purged", "id", date=str(row["purged_at"])[:10])
    return label


def _finding_codes(stored: str | None) -> str:
    return ", ".join(str(item["code"]) for item in json.loads(stored or "[]"))


def record(number: int, row: dict[str, Any], *, reveal: bool) -> list[Any]:
    """One stored registration as the export's cells, in HEADERS order (text, int, date, None)."""
    cells: list[Any] = [number, row["registration_number"]]
    for column in COLUMNS:
        value = row.get(column.field)
        if column.field in _SECRET_FIELDS and value and not reveal:
            value = mask(str(value))
        elif column.field == "phone" and value:
            value = _national_phone(str(value))
        elif column.field == "birth_date":  # beside a masked NIK: the year only
            value = _day(value) if reveal else mask_birth_date(value)
        elif column.field in _YES_NO:
            value = "ya" if value in (1, True, "1") else "tidak"
        cells.append(value if value != "" else None)
    cells += [
        row.get("regency"),
        row.get("province"),
        _status_label(row),
        _finding_codes(row.get("findings")) or None,
        _day(row.get("created_at")),
        row.get("desk"),
        row.get("operator"),
    ]
    return neutralised(cells)


def export_applicants(
    rows: Iterable[dict[str, Any]], path: Path, *, reveal: bool, force: bool = False
) -> int:
    """Write stored registrations to `path` (.xlsx or .csv, by suffix); return how many.

    NIK and KK are masked unless `reveal`. An existing file is replaced only with `force`, and
    the file appears only once fully written.
    """
    from prakerja_cli.roster.output import check_output, replacing

    suffix = check_output(
        path, SUFFIXES, hint="hint.export_suffix", example="rekap.xlsx", force=force
    )
    with replacing(path) as tmp:
        if suffix == ".csv":
            return _write_csv(rows, tmp, reveal=reveal)
        return _write_xlsx(rows, tmp, reveal=reveal)


def _positions(fields: frozenset[str]) -> frozenset[int]:
    """Where the columns of `fields` sit in a record."""
    first = len(LEAD_HEADERS)
    return frozenset(first + i for i, c in enumerate(COLUMNS) if c.field in fields)


#: Excel's rows per sheet (the header is one): a longer export goes on in "Data 2", "Data 3"...
XLSX_MAX_ROWS = 1_048_576


def _write_xlsx(rows: Iterable[dict[str, Any]], path: Path, *, reveal: bool) -> int:
    """Rows written one by one as they come (openpyxl's write-only mode keeps none of them, and
    writes text cells inline, so memory stays flat whatever the count)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from prakerja_cli.roster.template import GUIDE

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    widths = {c.header: GUIDE[c.field].width for c in COLUMNS} | _WIDTHS

    def new_sheet(number: int) -> WriteOnlyWorksheet:
        ws: WriteOnlyWorksheet = book.create_sheet(SHEET if number == 1 else f"{SHEET} {number}")
        # Write-only sheets have a normal sheet's column widths and filter; the stubs lack them.
        layout: Any = ws
        for index, header in enumerate(HEADERS, start=1):
            layout.column_dimensions[get_column_letter(index)].width = widths[header]
        layout.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}1"
        ws.freeze_panes = "A2"
        header_cells = []
        for header in HEADERS:
            cell = WriteOnlyCell(ws, header)
            cell.font = bold
            header_cells.append(cell)
        ws.append(header_cells)
        return ws

    text_columns = _positions(_TEXT_FIELDS)

    def text_cell(value: Any) -> Cell:
        # Text format and a str value: Excel shows all 16 digits and never turns them into a number.
        cell = WriteOnlyCell(ws, None if value is None else str(value))
        cell.number_format = "@"
        return cell

    def date_cell(value: date) -> Cell:
        cell = WriteOnlyCell(ws)
        cell.value = value
        cell.number_format = XLSX_DATE_FORMAT
        return cell

    sheets = 1
    ws = new_sheet(sheets)
    on_sheet = 1  # the header
    count = 0
    for count, row in enumerate(rows, start=1):
        if on_sheet == XLSX_MAX_ROWS:
            sheets += 1
            ws = new_sheet(sheets)
            on_sheet = 1
        cells = record(count, row, reveal=reveal)
        for index in text_columns:
            cells[index] = text_cell(cells[index])
        ws.append([date_cell(v) if isinstance(v, date) else v for v in cells])
        on_sheet += 1
    book.save(path)
    return count


def _csv_value(value: Any) -> Any:
    """A cell as csv text. NIK, KK, phone, RT and RW are written as their digits, nothing added:
    any program reading the file gets the value itself. Excel opening the file by a double click
    makes numbers of them (a NIK loses its 16th digit, RT 003 becomes 3), so the csv is meant to
    be imported with its columns as Text, and the xlsx is the recap of record (docs/commands.md)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_csv(rows: Iterable[dict[str, Any]], path: Path, *, reveal: bool) -> int:
    count = 0
    # utf-8-sig: the BOM makes Excel read UTF-8 (names with é, ñ) instead of the ANSI code page;
    # ';' is the list separator of an Indonesian Windows locale, so Excel splits the columns.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADERS)
        for count, row in enumerate(rows, start=1):
            cells = record(count, row, reveal=reveal)
            writer.writerow([_csv_value(v) for v in cells])
    return count
