"""Write real roster files (xlsx, csv, ods, xls) for the import tests."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from prakerja_cli.demo import synthetic_nik

HEADERS = [
    "No", "NIK", "No. KK", "Nama Sesuai KTP", "Tempat Lahir", "Tgl Lahir", "L/P", "No HP",
    "Alamat", "RT", "RW", "Desa/Kelurahan", "Kecamatan", "Pendidikan Terakhir",
    "Status Pekerjaan", "Masih Sekolah/Kuliah", "Pekerjaan",
]  # fmt: skip

NAMES = ["Siti Aminah", "Budi Santoso", "Dewi Lestari", "Agus Salim", "Rina Wati", "Joko Susilo"]


def person(i: int, **changes: Any) -> dict[str, Any]:
    """A valid synthetic applicant, row i (serials 7000+ keep them apart from other tests)."""
    gender = "P" if i % 2 == 0 else "L"
    born = date(1980 + i % 20, 1 + i % 12, 1 + i % 28)
    values: dict[str, Any] = {
        "No": i,
        "NIK": synthetic_nik("327301", born, gender, 7000 + i),
        "No. KK": f"327301010110{i:04d}",
        "Nama Sesuai KTP": NAMES[i % len(NAMES)],
        "Tempat Lahir": "Bandung",
        "Tgl Lahir": born,
        "L/P": gender,
        "No HP": f"0812{i:08d}",
        "Alamat": f"Jl. Setiabudi {i}",
        "RT": "1",
        "RW": "2",
        "Desa/Kelurahan": "Gegerkalong",
        "Kecamatan": "Sukasari",
        "Pendidikan Terakhir": "SMA",
        "Status Pekerjaan": "Korban PHK",
        "Masih Sekolah/Kuliah": "Tidak",
        "Pekerjaan": "Buruh",
    }
    values.update(changes)
    return values


def rows_of(people: list[dict[str, Any]], headers: list[str] = HEADERS) -> list[list[Any]]:
    return [[p.get(h) for h in headers] for p in people]


def write_xlsx(
    path: Path,
    people: list[dict[str, Any]],
    *,
    headers: list[str] = HEADERS,
    title: bool = True,
    extra_rows: list[list[Any]] | None = None,
    sheets_before: int = 0,
    blank_rows: int = 0,
) -> Path:
    """`blank_rows`: rows left empty above everything else."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    for n in range(sheets_before):
        cover = first if n == 0 else book.create_sheet()
        cover.title = f"Sampul{n}"
        cover.append(["Daftar ini dikirim oleh Desa Gegerkalong"])
    sheet = first if sheets_before == 0 else book.create_sheet("Data")
    for _ in range(blank_rows):
        sheet.append([])
    if title:
        sheet.append(["DAFTAR CALON PESERTA KARTU PRAKERJA"])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
        sheet.append(["Desa Gegerkalong, Kecamatan Sukasari"])
        sheet.append([])
    sheet.append(headers)
    for row in [*rows_of(people, headers), *(extra_rows or [])]:
        sheet.append(row)
    book.save(path)
    return path


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def write_csv(
    path: Path,
    people: list[dict[str, Any]],
    *,
    headers: list[str] = HEADERS,
    delimiter: str = ";",
    encoding: str = "utf-8-sig",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(headers)
        for row in rows_of(people, headers):
            writer.writerow([_text(v) for v in row])
    return path


def write_ods(path: Path, people: list[dict[str, Any]], headers: list[str] = HEADERS) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Data")
    for row in [headers, *rows_of(people, headers)]:
        tr = TableRow()
        for value in row:
            if isinstance(value, int) and not isinstance(value, bool):
                cell = TableCell(valuetype="float", value=value)
            elif isinstance(value, date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=_text(value)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def write_xls(
    path: Path, people: list[dict[str, Any]], headers: list[str] = HEADERS, blank_rows: int = 0
) -> Path:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Data")
    date_style = xlwt.easyxf(num_format_str="DD-MM-YYYY")
    for r, row in enumerate([headers, *rows_of(people, headers)], start=blank_rows):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write(r, c, value, date_style)
            elif value is not None:
                sheet.write(r, c, value)
    book.save(str(path))
    return path
