"""Workbooks of the supervisor's papers: the recap with native Excel charts (openpyxl's, so they
stay editable in Excel and LibreOffice), and the handover's recap in the ministry's columns.

Every text cell goes through roster/output.py `neutralise`. A handover workbook is written byte
for byte the same from the same records: fixed document dates and fixed zip entry dates.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prakerja_cli.roster.output import neutralise, neutralised

if TYPE_CHECKING:
    from prakerja_cli.paper.recap import Recap

#: Breakdowns charted on the summary sheet (the others have their sheet and table only).
CHARTED = ("status", "central", "district", "age", "gender", "education")
#: The height of a default row in cm (15 pt), to stack charts without overlap.
ROW_CM = 0.53
#: Default rows on a printed A4 page at 100 % (about 25 cm between the default margins).
ROWS_PER_PAGE = 47
#: The date every entry of a deterministic zip carries (zip dates start in 1980).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def check_xlsx(path: Path, *, force: bool) -> None:
    from prakerja_cli.roster.output import check_output

    check_output(path, (".xlsx",), hint="hint.report_xlsx", example="rekap.xlsx", force=force)


def _sheet_title(text: str) -> str:
    """A sheet title Excel accepts: at most 31 characters, none of []:*?/\\ (`Kecamatan / desa`
    becomes `Kecamatan - desa`)."""
    text = text.replace("/", "-")
    for ch in "[]:*?\\":
        text = text.replace(ch, " ")
    return " ".join(text.split())[:31]


def write_recap_workbook(recap: Recap, path: Path) -> None:
    """Summary sheet (office, period, totals, bar charts) and one sheet per breakdown."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.chart.label import DataLabelList
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.pagebreak import Break
    from openpyxl.worksheet.worksheet import Worksheet

    from prakerja_cli.i18n import t
    from prakerja_cli.paper.recap import finding_explanation, label
    from prakerja_cli.roster.output import replacing

    book = Workbook()
    summary: Worksheet = book.worksheets[0]
    summary.title = _sheet_title(t("report.sheet_summary"))
    summary.append(neutralised([t("report.title", office=recap.office_name)]))
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(neutralised([t("report.period", period=recap.period.label())]))
    summary.append(neutralised([t("report.generated", at=_moment(recap.generated_at))]))
    summary.append([])
    for key, value in (("report.total", recap.total), ("report.registered", recap.registered),
                       ("report.withdrawn", recap.withdrawn), ("report.unsent", recap.unsent)):  # fmt: skip
        summary.append([neutralise(t(key)), value])
    summary.column_dimensions["A"].width = 38
    summary.column_dimensions["B"].width = 12
    anchor_row, page_top = 10, 1
    for index, (name, rows) in enumerate(recap.breakdowns.items()):
        sheet = book.create_sheet(_sheet_title(f"{index + 1}. {t(f'report.breakdown.{name}')}"))
        sheet.append(
            neutralised([t("report.col_code"), t("report.col_label"), t("report.col_count")])
        )
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for code, count in rows:
            shown = label(name, code)
            if name == "finding" and code != "*":
                shown = finding_explanation(code, recap.finding_fields.get(code)) or code
            sheet.append([neutralise(code), neutralise(shown), count])
        sheet.column_dimensions["A"].width = 24
        sheet.column_dimensions["B"].width = 60 if name == "finding" else 32
        sheet.column_dimensions["C"].width = 10
        # A label longer than its column (an explanation, a long desa) wraps, not cut at print.
        for (cell,) in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        _fit_width(sheet)
        if name not in CHARTED or not rows:
            continue
        chart = BarChart()
        chart.type = "bar"
        chart.style = 10
        chart.title = t(f"report.breakdown.{name}")
        chart.legend = None
        chart.x_axis.scaling.orientation = "maxMin"  # first row on top, as the table reads
        chart.y_axis.crosses = "max"  # ...which puts the count axis at the bottom again
        chart.y_axis.title = t("report.col_count")
        # Whole counts on the axis (0, 1, 2, not 0.5, 1.5), from 0; each bar shows its count.
        chart.y_axis.scaling.min = 0
        chart.y_axis.majorUnit = _step(max((n for _, n in rows), default=0))
        chart.y_axis.number_format = "0"
        # The count at each bar, and only it (LibreOffice adds the name and series otherwise).
        chart.dataLabels = DataLabelList(showVal=True, showCatName=False, showSerName=False,
                                         showLegendKey=False, showPercent=False)  # fmt: skip
        chart.x_axis.tickLblSkip = 1  # every label, not every other one of a crowded chart
        for axis in (chart.x_axis, chart.y_axis):  # openpyxl 3.1 leaves them hidden in Excel
            axis.delete = False
        data = Reference(sheet, min_col=3, min_row=1, max_row=len(rows) + 1)
        categories = Reference(sheet, min_col=2, min_row=2, max_row=len(rows) + 1)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(categories)
        chart.height = max(5.0, 0.8 * len(rows) + 3)
        chart.width = 16
        rows_high = math.ceil(chart.height / ROW_CM)
        if anchor_row + rows_high > page_top + ROWS_PER_PAGE:  # printed whole, not cut in two
            summary.row_breaks.append(Break(id=anchor_row - 2))  # a blank row above it
            page_top = anchor_row - 1
        summary.add_chart(chart, f"A{anchor_row}")
        anchor_row += rows_high + 2  # one under the other, a page wide
    _fit_width(summary)
    with replacing(path) as tmp:
        _save_fixed(book, tmp, recap.period.last)


def _step(top: int) -> int:
    """A whole step for a count axis up to `top`: at most about six gridlines (1, 2, 5, 10...)."""
    for power in range(12):
        for mantissa in (1, 2, 5):
            step: int = mantissa * 10**power
            if top <= 6 * step:
                return step
    return 10**12


def _fit_width(sheet: Any) -> None:
    """Printed one page wide, as many pages tall as it needs: a long title or explanation is not
    cut at the edge of the paper (LibreOffice and Excel print a sheet as it is set here)."""
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4


def _moment(value: str) -> str:
    from prakerja_cli.i18n.format import long_moment

    return long_moment(value)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _save_fixed(book: Any, path: Path, on: date) -> None:
    """Save with the document dates set to `on` and every zip entry dated ZIP_EPOCH, entries in
    the order openpyxl wrote them: the same workbook gives the same bytes."""
    stamp = datetime(on.year, on.month, on.day)
    book.properties.created = stamp
    book.properties.modified = stamp
    book.properties.creator = "prakerja-cli"
    book.save(path)
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            if name == "docProps/core.xml":  # openpyxl stamps `modified` with the time of saving
                data = _MODIFIED.sub(rf"\g<1>{stamp.isoformat()}Z\g<2>".encode(), data)
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, data)


#: The ministry's offline form, in its order (Permenaker 17/2020 recap); NIK, KK and HP are text.
MINISTRY_HEADERS = (
    "No", "NIK", "Nomor KK", "Nama Lengkap", "Tempat Lahir", "Tanggal Lahir", "Jenis Kelamin",
    "Alamat", "RT", "RW", "Desa/Kelurahan", "Kecamatan", "Kabupaten/Kota", "Provinsi", "Nomor HP",
    "E-mail", "Pendidikan Terakhir", "Status Pekerjaan", "Tanggal Pendaftaran", "Status",
    "Nomor Pendaftaran",
)  # fmt: skip
_TEXT_COLUMNS = frozenset({"NIK", "Nomor KK", "Nomor HP", "RT", "RW", "Nomor Pendaftaran"})
_WIDTHS = {"NIK": 19, "Nomor KK": 19, "Nama Lengkap": 28, "Alamat": 30, "Nomor HP": 15,
           "E-mail": 24, "Nomor Pendaftaran": 18, "Tanggal Lahir": 13, "Tanggal Pendaftaran": 13}  # fmt: skip


def ministry_row(number: int, row: dict[str, Any]) -> list[Any]:
    """One registration in MINISTRY_HEADERS order: whole NIK/KK (this is the handover)."""
    from prakerja_cli.core import fields
    from prakerja_cli.i18n import t

    phone = str(row.get("phone") or "")
    phone = "0" + phone[3:] if phone.startswith("+62") else phone
    born = row.get("birth_date")
    return [
        number, row["nik"], row["kk"], row["name"], row.get("birth_place") or "",
        date.fromisoformat(born) if born else None, t(f"gender.{row['gender']}", "id"),
        row.get("address") or "", row.get("rt") or "", row.get("rw") or "", row.get("village") or "",
        row.get("district") or "", row.get("regency") or "", row.get("province") or "", phone,
        row.get("email") or "", fields.EDUCATION.get(row["education"], (row["education"],))[0],
        fields.EMPLOYMENT.get(row["employment"], (row["employment"],))[0],
        date.fromisoformat(str(row["created_at"])[:10]), t(f"status.{row['status']}", "id"),
        row["registration_number"],
    ]  # fmt: skip


def write_ministry_workbook(rows: Iterable[dict[str, Any]], path: Path, on: date) -> int:
    """The handover recap: one row per registration, NIK/KK/HP as text cells, dates as dates.
    Returns the number of rows. Deterministic (see _save_fixed)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Rekap")
    for column, header in enumerate(MINISTRY_HEADERS, start=1):
        letter = sheet.column_dimensions  # write-only sheets take widths before rows
        from openpyxl.utils import get_column_letter

        letter[get_column_letter(column)].width = _WIDTHS.get(header, 12)
    sheet.freeze_panes = "B2"
    bold = Font(bold=True)
    heads = []
    for header in MINISTRY_HEADERS:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        heads.append(cell)
    sheet.append(heads)
    count = 0
    for count, row in enumerate(rows, start=1):
        cells = []
        for header, value in zip(MINISTRY_HEADERS, ministry_row(count, row), strict=True):
            cell = WriteOnlyCell(
                sheet, value=neutralise(value) if isinstance(value, str) else value
            )
            if header in _TEXT_COLUMNS:
                cell.number_format = "@"
            elif isinstance(value, date):
                cell.number_format = "DD-MM-YYYY"
            cells.append(cell)
        sheet.append(cells)
    _save_fixed(book, path, on)
    return count
