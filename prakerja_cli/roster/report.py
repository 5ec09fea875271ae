"""The error report: rejected and warned rows with their original cells, the offending cells
coloured and commented, ready to be fixed in Excel and imported again as it is.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from prakerja_cli.core.findings import Code, Severity
from prakerja_cli.errors import UsageError
from prakerja_cli.roster.columns import BY_FIELD, REPORT_COLUMNS
from prakerja_cli.roster.importer import ImportResult, severity_of
from prakerja_cli.roster.output import check_output, replacing

_FILL = {Severity.ERROR: "FFC7CE", Severity.WARNING: "FFEB9C"}


def _cell_value(value: Any, text: bool, *, rounded: bool = False) -> Any:
    """Keep what the clerk sent, but never let a long number turn into a float again.

    A number Excel already rounded (`rounded`) stays a number: written as text it would look like
    a whole NIK, and the report imported again unchanged would store digits that are not the
    applicant's. As a number it is refused again until someone types the NIK from the e-KTP."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if text and isinstance(value, int | float) and not rounded:
        return str(value)
    if isinstance(value, str | int | float | date | datetime) or value is None:
        return value
    return str(value)


def write_error_report(result: ImportResult, path: Path, lang: str | None = None) -> int:
    """Write rejected and warned rows to an xlsx report; returns how many rows it holds."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    from prakerja_cli.i18n import t

    check_report_path(path)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Perbaikan"
    headers = list(result.header.headers)
    width = len(headers)
    sheet.append([*headers, *REPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    column_of = result.header.column_of
    text_columns = {col for col, name in result.header.columns.items() if BY_FIELD[name].text}
    written = 0
    for row in result.rows:
        if row.outcome not in ("rejected", "warned"):
            continue
        cells = list(row.cells[:width]) + [None] * (width - len(row.cells[:width]))
        rounded = {column_of(f.field) for f in row.findings if f.code is Code.NIK_PRECISION_LOST}
        values = [
            _cell_value(v, col in text_columns, rounded=col in rounded)
            for col, v in enumerate(cells)
        ]
        codes = ", ".join(str(f.code) for f in row.findings if f.severity is not Severity.INFO)
        notes = " | ".join(f.message(lang) for f in row.findings if f.severity is not Severity.INFO)
        sheet.append([*values, row.row, codes, notes])
        written += 1
        line = sheet.max_row
        for col in text_columns:
            sheet.cell(line, col + 1).number_format = "@"
        for finding in row.findings:
            at = column_of(finding.field)
            if at is None or finding.severity not in _FILL:
                continue
            cell = sheet.cell(line, at + 1)
            if cell.fill.fgColor.rgb != "00" + _FILL[Severity.ERROR]:
                color = _FILL[finding.severity]
                cell.fill = PatternFill("solid", fgColor=color)
            text = finding.message(lang)
            cell.comment = Comment(
                text if cell.comment is None else f"{cell.comment.text}\n{text}", "prakerja"
            )
        status_col = sheet.cell(line, width + 2)
        status_col.fill = PatternFill("solid", fgColor=_FILL[severity_of(row) or Severity.WARNING])
    sheet.cell(1, width + 3).comment = Comment(t("report.how_to_fix", lang), "prakerja")
    for index in range(1, width + 4):
        sheet.column_dimensions[get_column_letter(index)].width = 18
    with replacing(path) as tmp:
        book.save(tmp)
    return written


def check_report_path(path: Path, roster: Path | None = None) -> None:
    """Refuse a report path that cannot be written, or that is the roster being imported (the
    report would replace it: on Windows `--errors DAFTAR.xlsx` is the file daftar.xlsx), before an
    import stores anything."""
    if roster is not None and _same_file(path, roster):
        raise UsageError("error.report_is_roster", hint="hint.report_is_roster", file=str(path))
    check_output(path, (".xlsx",), hint="hint.report_suffix", example="perbaikan.xlsx")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two names are one file: the OS decides (case, 8.3 short names, '..', links)."""
    try:
        return a.samefile(b)
    except OSError:  # one of them does not exist (yet): not the same file
        return False
