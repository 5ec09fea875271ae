"""Roster layouts offices really send (issue 13): two-row headers under a merged group header,
spellings and abbreviations of known headers, and a combined 'TTL' column. Each file is written
for real, imported through the CLI, and the stored rows read back."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from rosters import person

from prakerja_cli.roster.columns import field_for_header
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import invoke


def stored(office: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM applicants ORDER BY nik")]


def two_row_roster(path: Path, people: list[dict[str, Any]]) -> Path:
    """'Kelahiran' merged over 'Tempat | Tanggal', 'Alamat' over 'Jalan | RT | RW | Desa/Kelurahan';
    the single headers merged down over both rows, as offices lay them out."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["DAFTAR CALON PESERTA"])
    top = ["No", "NIK", "No. KK", "Nama", "Kelahiran", None, "L/P", "No HP", "Alamat", None, None,
           None, "Kecamatan", "Pendidikan", "Status Pekerjaan", "Masih Sekolah"]  # fmt: skip
    below = [None, None, None, None, "Tempat", "Tanggal", None, None, "Jalan", "RT", "RW",
             "Desa/Kelurahan", None, None, None, None]  # fmt: skip
    sheet.append(top)
    sheet.append(below)
    sheet.merge_cells("E2:F2")
    sheet.merge_cells("I2:L2")
    for col in (1, 2, 3, 4, 7, 8, 13, 14, 15, 16):
        sheet.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
    for p in people:
        sheet.append([p["No"], p["NIK"], p["No. KK"], p["Nama Sesuai KTP"], p["Tempat Lahir"],
                      p["Tgl Lahir"], p["L/P"], p["No HP"], p["Alamat"], p["RT"], p["RW"],
                      p["Desa/Kelurahan"], p["Kecamatan"], p["Pendidikan Terakhir"],
                      p["Status Pekerjaan"], p["Masih Sekolah/Kuliah"]])  # fmt: skip
    book.save(path)
    return path


def test_a_two_row_header_under_merged_groups_imports_every_field(
    office: Path, tmp_path: Path
) -> None:
    people = [person(i) for i in range(1, 4)]
    run = invoke(["roster", "import", str(two_row_roster(tmp_path / "dua.xlsx", people)), "--json"])
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.json()["stored"] == 3
    rows = stored(office)
    first = min(people, key=lambda p: p["NIK"])
    assert rows[0]["birth_place"] == "BANDUNG"
    assert rows[0]["birth_date"] == first["Tgl Lahir"].isoformat()
    assert rows[0]["address"] == first["Alamat"].upper()
    assert (rows[0]["rt"], rows[0]["rw"], rows[0]["village"]) == ("001", "002", "GEGERKALONG")


def test_map_reaches_the_second_header_row(office: Path, tmp_path: Path) -> None:
    people = [person(i) for i in range(1, 3)]
    path = two_row_roster(tmp_path / "dua.xlsx", people)
    book = load_workbook(path)
    book.active["F3"] = "Hari Lahir"  # not a name the import knows
    book.save(path)
    run = invoke(["roster", "import", str(path), "--dry-run"])
    assert run.exit_code == 2
    assert "Tanggal lahir" in run.stderr
    run = invoke(["roster", "import", str(path), "--map", "Hari Lahir=birth_date", "--json"])
    assert run.exit_code == 0, run.stderr
    assert run.json()["stored"] == 2


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("NO. INDUK KEPENDUDUKAN", "nik"),
        ("No.KTP", "nik"),
        ("Nomor Induk Kependudukan (NIK)", "nik"),
        ("NIK (16 digit)", "nik"),
        ("Jenis Kel.", "gender"),
        ("Jns Kelamin", "gender"),
        ("Kel/Desa", "village"),
        ("Tgl Lhr", "birth_date"),
        ("Tmpt. Lahir", "birth_place"),
        ("Pend. Terakhir", "education"),
        ("Nm Lengkap", "name"),
        ("No. Telp/HP", "phone"),
        ("TTL", "birth_place_date"),
        ("Tempat, Tgl Lahir", "birth_place_date"),
        ("Tempat/Tanggal Lahir", "birth_place_date"),
        # Not fields: passed over, never guessed.
        ("Tgl Daftar", None),
        ("Keterangan", None),
        ("BANDUNG", None),
        ("3273015708900001", None),
    ],
)
def test_header_spellings_and_abbreviations(header: str, field: str | None) -> None:
    assert field_for_header(header) == field


def test_abbreviated_headers_import(office: Path, tmp_path: Path) -> None:
    headers = ["No", "NO. INDUK KEPENDUDUKAN", "No.KK", "Nm Lengkap", "Tmpt Lahir", "Tgl Lhr",
               "Jenis Kel.", "No. Telp/HP", "Almt", "RT", "RW", "Kel/Desa", "Kec.",
               "Pend. Terakhir", "St Pekerjaan", "Masih Sekolah"]  # fmt: skip
    keys = ["No", "NIK", "No. KK", "Nama Sesuai KTP", "Tempat Lahir", "Tgl Lahir", "L/P", "No HP",
            "Alamat", "RT", "RW", "Desa/Kelurahan", "Kecamatan", "Pendidikan Terakhir",
            "Status Pekerjaan", "Masih Sekolah/Kuliah"]  # fmt: skip
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for i in range(1, 3):
        p = person(i)
        sheet.append([p[k] for k in keys])
    book.save(tmp_path / "singkat.xlsx")
    run = invoke(["roster", "import", str(tmp_path / "singkat.xlsx"), "--json"])
    assert run.exit_code == 0, run.stdout + run.stderr
    assert (run.json()["stored"], run.json()["unknown_columns"]) == (2, [])


@pytest.mark.parametrize(
    "ttl",
    ["{place}, {dmy}", "{place} / {long}", "{place},{dmy}", "{place}/{dmy}", "{place} - {dmy}"],
)
def test_a_combined_ttl_column_is_split_into_place_and_date(
    office: Path, tmp_path: Path, ttl: str
) -> None:
    months = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
              "September", "Oktober", "November", "Desember"]  # fmt: skip
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NIK", "No KK", "Nama", "TTL", "L/P", "No HP", "Alamat", "Desa", "Kecamatan",
                  "Pendidikan", "Status Pekerjaan", "Masih Sekolah"])  # fmt: skip
    people = [person(i) for i in range(1, 3)]
    for p in people:
        born: date = p["Tgl Lahir"]
        text = ttl.format(place="Kab. Bandung", dmy=born.strftime("%d-%m-%Y"),
                          long=f"{born.day} {months[born.month - 1]} {born.year}")  # fmt: skip
        sheet.append([p["NIK"], p["No. KK"], p["Nama Sesuai KTP"], text, p["L/P"], p["No HP"],
                      p["Alamat"], p["Desa/Kelurahan"], p["Kecamatan"], "SMA", "Korban PHK",
                      "Tidak"])  # fmt: skip
    book.save(tmp_path / "ttl.xlsx")
    run = invoke(["roster", "import", str(tmp_path / "ttl.xlsx"), "--json"])
    assert run.exit_code == 0, run.stdout + run.stderr
    by_nik = {r["nik"]: r for r in stored(office)}
    for p in people:
        assert by_nik[p["NIK"]]["birth_place"] == "KAB. BANDUNG"
        assert by_nik[p["NIK"]]["birth_date"] == p["Tgl Lahir"].isoformat()


def test_an_unsplittable_ttl_cell_is_named_in_the_error_report(
    office: Path, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NIK", "No KK", "Nama", "TTL", "L/P", "No HP", "Alamat", "Desa", "Kecamatan",
                  "Pendidikan", "Status Pekerjaan", "Masih Sekolah"])  # fmt: skip
    p = person(1)
    sheet.append([p["NIK"], p["No. KK"], p["Nama Sesuai KTP"], "Bandung", p["L/P"], p["No HP"],
                  p["Alamat"], p["Desa/Kelurahan"], p["Kecamatan"], "SMA", "Korban PHK", "Tidak"])  # fmt: skip
    book.save(tmp_path / "ttl.xlsx")
    report = tmp_path / "perbaikan.xlsx"
    run = invoke(["roster", "import", str(tmp_path / "ttl.xlsx"), "--errors", str(report)])
    assert run.exit_code == 3
    assert stored(office) == []
    sheet = load_workbook(report).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][3] == "TTL"
    assert sheet.cell(2, 4).fill.fgColor.rgb not in (None, "00000000")  # the TTL cell is marked
