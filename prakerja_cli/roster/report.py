"""The error report: rejected and warned rows with their original cells, the offending cells
coloured and commented, ready to be fixed in Excel and imported again as it is (the import applies
a fixed warned row to the registration it is stored as, see STORED_AS).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from prakerja_cli.core.findings import Code, Severity
from prakerja_cli.errors import UsageError, same_file
from prakerja_cli.roster.columns import BY_FIELD, REPORT_COLUMNS, STORED_AS, header_key
from prakerja_cli.roster.importer import ImportResult, severity_of
from prakerja_cli.roster.output import check_output, neutralised, replacing

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


def write_error_report(
    result: ImportResult, path: Path, lang: str | None = None, *, force: bool = False
) -> int:
    """Write rejected and warned rows to an xlsx report; returns how many rows it holds.

    A warned (yellow) row is already stored: the report names its registration (STORED_AS), so
    that the report imported again applies the fixed row to it. An existing file is replaced
    only with `force`."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    from prakerja_cli.i18n import t

    check_report_path(path, force=force)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Perbaikan"
    # A report imported again has report columns of its own: they are written anew, not copied.
    ours = {header_key(name) for name in REPORT_COLUMNS}
    kept = [col for col, name in enumerate(result.header.headers) if header_key(name) not in ours]
    at = {col: index for index, col in enumerate(kept)}  # the roster's column -> the report's
    width = len(kept)
    sheet.append(neutralised([*(result.header.headers[col] for col in kept), *REPORT_COLUMNS]))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"

    def column_of(field: str) -> int | None:
        """The report's column holding a field's value (a combined column for its parts)."""
        col = result.header.column_of(field)
        return None if col is None else at.get(col)

    text_columns = {at[col] for col, name in result.header.columns.items() if BY_FIELD[name].text}
    first = width + 1  # the report's own columns, 1-based
    code_col = first + REPORT_COLUMNS.index("Kode Temuan")
    written = 0
    for row in result.rows:
        if row.outcome not in ("rejected", "warned"):
            continue
        cells = [row.cells[col] if col < len(row.cells) else None for col in kept]
        rounded = {column_of(f.field) for f in row.findings if f.code is Code.NIK_PRECISION_LOST}
        values = [
            _cell_value(v, col in text_columns, rounded=col in rounded)
            for col, v in enumerate(cells)
        ]
        codes = ", ".join(str(f.code) for f in row.findings if f.severity is not Severity.INFO)
        notes = " | ".join(f.message(lang) for f in row.findings if f.severity is not Severity.INFO)
        sheet.append(neutralised([*values, row.row, row.registration_number, codes, notes]))
        written += 1
        line = sheet.max_row
        for col in text_columns:
            sheet.cell(line, col + 1).number_format = "@"
        for finding in row.findings:
            where = column_of(finding.field)
            if where is None or finding.severity not in _FILL:
                continue
            cell = sheet.cell(line, where + 1)
            if cell.fill.fgColor.rgb != "00" + _FILL[Severity.ERROR]:
                color = _FILL[finding.severity]
                cell.fill = PatternFill("solid", fgColor=color)
            text = finding.message(lang)
            cell.comment = Comment(
                text if cell.comment is None else f"{cell.comment.text}\n{text}", "prakerja"
            )
        status_col = sheet.cell(line, code_col)
        status_col.fill = PatternFill("solid", fgColor=_FILL[severity_of(row) or Severity.WARNING])
    how = t("report.how_to_fix", lang, file=path.name)
    sheet.cell(1, first + REPORT_COLUMNS.index("Keterangan")).comment = Comment(how, "prakerja")
    stored_as = t("report.stored_as", lang)
    sheet.cell(1, first + REPORT_COLUMNS.index(STORED_AS)).comment = Comment(stored_as, "prakerja")
    for index in range(1, first + len(REPORT_COLUMNS)):
        sheet.column_dimensions[get_column_letter(index)].width = 18
    with replacing(path) as tmp:
        book.save(tmp)
    return written


def check_report_path(path: Path, roster: Path | None = None, *, force: bool = False) -> None:
    """Refuse a report path that cannot be written, that exists (without `force`), or that is the
    roster being imported (the report would replace it: on Windows `--errors DAFTAR.xlsx` is the
    file daftar.xlsx), before an import stores anything."""
    if roster is not None and same_file(path, roster):
        raise UsageError("error.report_is_roster", hint="hint.report_is_roster", file=str(path))
    check_output(path, (".xlsx",), hint="hint.report_suffix", example="perbaikan.xlsx", force=force)
