"""Synthetic sample rosters (the files in samples/ and the demo's): no real person's NIK.

`python -m prakerja_cli.samples DIR` writes them again.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

from prakerja_cli.demo import synthetic_nik

HEADERS = [
    "No", "NIK", "No. KK", "Nama Sesuai KTP", "Tempat Lahir", "Tgl Lahir", "L/P", "No HP/WA",
    "Alamat", "RT", "RW", "Desa/Kelurahan", "Kecamatan", "Pendidikan Terakhir",
    "Status Pekerjaan", "Masih Sekolah/Kuliah", "Pekerjaan", "Keterangan Desa",
]  # fmt: skip

_PEOPLE = [
    ("Siti Aminah", "P", date(1990, 8, 17)), ("Budi Santoso", "L", date(1985, 3, 2)),
    ("Dewi Lestari", "P", date(1993, 11, 5)), ("Agus Salim", "L", date(1979, 1, 30)),
    ("Rina Wulandari", "P", date(1998, 6, 21)), ("Joko Susilo", "L", date(1988, 12, 1)),
    ("Nur'aini", "P", date(2001, 2, 14)), ("Ahmad Fauzi", "L", date(1995, 7, 7)),
    ("Maria Ulfa", "P", date(1983, 9, 9)), ("Yusuf Habibi", "L", date(1991, 4, 18)),
]  # fmt: skip


def _row(
    i: int, name: str, gender: str, born: date, serial: int = 9100, **changes: Any
) -> list[Any]:
    values: dict[str, Any] = {
        "No": i, "NIK": synthetic_nik("327301", born, gender, serial + i),
        "No. KK": f"327301010{serial:04d}{i:03d}", "Nama Sesuai KTP": name, "Tempat Lahir": "Bandung",
        "Tgl Lahir": born, "L/P": gender, "No HP/WA": f"0812-2{i:03d}-{4000 + i}",
        "Alamat": f"Jl. Gegerkalong Hilir No. {i}", "RT": "02", "RW": "05",
        "Desa/Kelurahan": "Gegerkalong", "Kecamatan": "Sukasari", "Pendidikan Terakhir": "SMA/SMK",
        "Status Pekerjaan": "Korban PHK", "Masih Sekolah/Kuliah": "Tidak", "Pekerjaan": "Buruh pabrik",
        "Keterangan Desa": "",
    }  # fmt: skip
    values.update(changes)
    return [values[h] for h in HEADERS]


def clean_rows() -> list[list[Any]]:
    return [_row(i, *person) for i, person in enumerate(_PEOPLE, start=1)]


def problem_rows() -> list[list[Any]]:
    """Ten applicants with the damage offices see; samples/README.md lists the outcome of each."""

    def row(i: int, person: tuple[str, str, date], **changes: Any) -> list[Any]:
        return _row(i, *person, serial=9200, **changes)

    first = row(1, _PEOPLE[0])
    budi = _PEOPLE[1]
    rows = [
        first,
        # Excel rounded the NIK: 16 digits ending in 0 from a numeric cell.
        row(2, budi, NIK=int(synthetic_nik("327301", budi[2], budi[1], 9202)[:15] + "0")),
        # The same damage as text, the way a CSV export shows it.
        row(3, _PEOPLE[2], NIK="3,27301E+15"),
        # A phone typed as a number lost its 0; the date is text. Both are fine.
        row(4, _PEOPLE[3], **{"No HP/WA": 81220044004, "Tgl Lahir": "30/01/1979"}),
        # The form's birth date differs from the NIK: stored, flagged for the clerk to ask.
        row(5, _PEOPLE[4], **{"Tgl Lahir": "21 Juni 1997"}),
        # Still at university: not eligible.
        row(6, _PEOPLE[5], **{"Masih Sekolah/Kuliah": "Ya", "Pekerjaan": "Mahasiswa"}),
        # A civil servant: an excluded occupation.
        row(7, _PEOPLE[6], Pekerjaan="PNS Guru"),
        # Sixteen years old.
        row(8, ("Ahmad Fauzi", "L", date(2010, 7, 7))),
        # The first row again, copied by mistake.
        [9, *first[1:]],
        # A landline instead of a mobile number; a non-breaking space in the name.
        row(10, ("Yusuf\u00a0 Habibi", "L", date(1991, 4, 18)), **{"No HP/WA": "022-2013163"}),
    ]
    rows.insert(6, [None] * len(HEADERS))  # a blank row in the middle
    rows.append(["Jumlah", None, None, 10])
    return rows


def write_roster(path: Path, rows: list[list[Any]], title: str) -> Path:
    """A roster the way a village sends it: title lines, a merged heading, then the table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Daftar"
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["Kelurahan Gegerkalong, Kecamatan Sukasari, Kota Bandung"])
    sheet.append([])
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=5, min_col=6, max_col=6):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = "DD-MM-YYYY"
    book.save(path)
    return path


def write_samples(folder: Path) -> list[Path]:
    from prakerja_cli.roster.template import write_template

    folder.mkdir(parents=True, exist_ok=True)
    template = folder / "template.xlsx"
    write_template(template, force=True)  # the samples are written again on purpose
    return [
        write_roster(
            folder / "roster-clean.xlsx", clean_rows(), "DAFTAR CALON PESERTA KARTU PRAKERJA"
        ),
        write_roster(
            folder / "roster-problems.xlsx", problem_rows(), "DAFTAR USULAN PRAKERJA (PERLU DICEK)"
        ),
        template,
    ]


if __name__ == "__main__":
    for written in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "samples")):
        print(written)
