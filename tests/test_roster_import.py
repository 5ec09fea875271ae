"""`prakerja roster import` end to end: real files written, imported, stored rows asserted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rosters import HEADERS, person, rows_of, write_csv, write_ods, write_xls, write_xlsx

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke


def stored(home: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(home / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM applicants WHERE status != 'withdrawn'").fetchall()
    return {row["nik"]: dict(row) for row in rows}


def run_import(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = invoke(["roster", "import", str(path), "--json", *args])
    return run.exit_code, run.json()


def codes_by_row(doc: dict[str, Any]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for f in doc["findings"]:
        found.setdefault(f["row"], []).append(f["code"])
    return found


def test_clean_xlsx_below_title_lines_is_stored_with_its_source(
    office: Path, tmp_path: Path
) -> None:
    people = [person(i) for i in range(1, 6)]
    path = write_xlsx(tmp_path / "desa.xlsx", people)
    code, doc = run_import(path)
    assert code == 0
    assert (doc["rows"], doc["stored"], doc["warned"], doc["rejected"], doc["skipped"]) == (
        5,
        5,
        0,
        0,
        0,
    )
    assert doc["file"] == "desa.xlsx" and doc["findings"] == []
    rows = stored(office)
    assert set(rows) == {p["NIK"] for p in people}
    first = rows[people[0]["NIK"]]
    assert first["source"] == "roster"
    assert first["source_file"] == "desa.xlsx" and first["source_sheet"] == "Sheet"
    assert first["source_row"] == 5  # three title lines, then the header on row 4
    assert len(first["source_sha256"]) == 64
    assert first["name"] == people[0]["Nama Sesuai KTP"].upper()
    assert first["phone"] == "+62812" + "00000001"
    assert first["employment"] == "KORBAN_PHK" and first["in_school"] == 0
    assert first["registration_number"].startswith("3273-D01-")


def test_excel_damage_and_cell_quirks(office: Path, tmp_path: Path) -> None:
    intact = person(1)
    rounded = person(2)
    rounded["NIK"] = int(rounded["NIK"][:15] + "0")  # what Excel leaves of a NIK in a General cell
    people = [
        {**intact, "NIK": int(intact["NIK"]), "No HP": 81200000001},  # numbers with all digits
        rounded,
        person(3, NIK="3.27301E+15"),
        person(4, NIK="3,27301E+15"),
        person(5, **{"Tgl Lahir": "05/06/1984"}),
        person(6, **{"Tgl Lahir": "07-07-1985"}),
        person(7, **{"Tgl Lahir": "1986-08-08"}),
        person(8, **{"Tgl Lahir": "9 Agustus 1987"}),
        person(9, **{"Tgl Lahir": "10 Agu 1988"}),
        person(10, **{"Tgl Lahir": 32763, "Nama Sesuai KTP": "Dewi\u00a0 Lestari "}),  # a serial
        person(11, NIK="'" + person(11)["NIK"]),  # a leading apostrophe from a Text cell
    ]
    # person(5..10) must agree with their NIKs' birth dates to stay warning-free
    for p, born in zip(people[4:10], [date(1984, 6, 5), date(1985, 7, 7), date(1986, 8, 8),
                                       date(1987, 8, 9), date(1988, 8, 10), date(1989, 9, 12)], strict=True):  # fmt: skip
        p["NIK"] = synthetic_nik("327301", born, p["L/P"], 7000 + p["No"])
    path = write_xlsx(
        tmp_path / "quirks.xlsx", people, extra_rows=[[], [], ["Jumlah", None, None, 11]]
    )
    code, doc = run_import(path)
    assert code == 3
    assert codes_by_row(doc) == {
        6: ["NIK_PRECISION_LOST"],
        7: ["NIK_PRECISION_LOST"],
        8: ["NIK_PRECISION_LOST"],
    }
    assert (doc["rows"], doc["stored"], doc["rejected"], doc["skipped"]) == (12, 8, 3, 1)
    rows = stored(office)
    assert rows[intact["NIK"]]["phone"] == "+6281200000001"
    dewi = next(r for r in rows.values() if r["source_row"] == 14)
    assert dewi["name"] == "DEWI LESTARI" and dewi["birth_date"] == "1989-09-12"
    assert {r["birth_date"] for r in rows.values()} >= {"1984-06-05", "1987-08-09", "1988-08-10"}


@pytest.mark.parametrize(
    ("suffix", "delimiter", "encoding"),
    [
        (".csv", ";", "utf-8-sig"),
        (".csv", ",", "utf-8"),
        (".csv", ",", "cp1252"),
        (".txt", "\t", "utf-8"),
    ],
)
def test_csv_encodings_and_delimiters(
    office: Path, tmp_path: Path, suffix: str, delimiter: str, encoding: str
) -> None:
    people = [person(i, Alamat="Jl. Café Nº 5") for i in range(1, 4)]
    path = write_csv(tmp_path / f"daftar{suffix}", people, delimiter=delimiter, encoding=encoding)
    code, doc = run_import(path)
    assert code == 0, doc
    assert doc["stored"] == 3
    assert {r["address"] for r in stored(office).values()} == {"JL. CAFÉ Nº 5"}


@pytest.mark.parametrize("above", ["DAFTAR PESERTA PRAKERJA\r\n", "\r\n", "Desa A, Kec. B\r\n\r\n"])
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_a_csv_delimiter_is_found_below_a_title_or_blank_lines(
    office: Path, tmp_path: Path, above: str, delimiter: str
) -> None:
    """Written by another program than Excel, a csv may start with a title or a blank line (no
    delimiter in it): the delimiter is the header's, not a guess from the first line (a ';' file
    was read as one column and refused as having no header)."""
    people = [person(i, Alamat="Jl. Dago, No. 5") for i in range(1, 4)]
    path = write_csv(tmp_path / "daftar.csv", people, delimiter=delimiter)
    path.write_bytes(above.encode() + path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    code, doc = run_import(path)
    assert code == 0, doc
    assert doc["stored"] == 3
    assert {r["address"] for r in stored(office).values()} == {"JL. DAGO, NO. 5"}


@pytest.mark.parametrize("writer", [write_ods, write_xls], ids=["ods", "xls"])
def test_ods_and_legacy_xls(office: Path, tmp_path: Path, writer: Any) -> None:
    people = [person(i) for i in range(1, 4)]
    suffix = ".ods" if writer is write_ods else ".xls"
    code, doc = run_import(writer(tmp_path / f"daftar{suffix}", people))
    assert code == 0, doc
    assert doc["stored"] == 3 and doc["sheet"] == "Data"
    assert {r["birth_date"] for r in stored(office).values()} == {
        p["Tgl Lahir"].isoformat() for p in people
    }


def test_missing_required_column_stops_before_anything_is_written(
    office: Path, tmp_path: Path
) -> None:
    headers = [h for h in HEADERS if h != "Kecamatan"]
    path = write_xlsx(tmp_path / "kurang.xlsx", [person(1)], headers=headers)
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 2
    assert "Kecamatan" in run.stderr and "Traceback" not in run.stderr
    assert stored(office) == {}


def test_map_overrides_and_unknown_columns(office: Path, tmp_path: Path) -> None:
    headers = ["Nomor Identitas" if h == "NIK" else h for h in HEADERS] + ["Hobi"]
    people = [{**person(i), "Nomor Identitas": person(i)["NIK"], "Hobi": "x"} for i in range(1, 3)]
    path = write_xlsx(tmp_path / "lain.xlsx", people, headers=headers)
    assert invoke(["roster", "import", str(path)]).exit_code == 2  # no NIK column recognised
    code, doc = run_import(path, "--map", "Nomor Identitas=nik", "--map", "Hobi=-")
    assert code == 0 and doc["stored"] == 2
    assert doc["unknown_columns"] == []
    other = write_xlsx(tmp_path / "lain2.xlsx", [person(3)], headers=[*HEADERS, "Hobi"])
    code, doc = run_import(other)
    assert doc["unknown_columns"] == ["Hobi"] and doc["stored"] == 1
    bad = invoke(["roster", "import", str(path), "--map", "Nomor Identitas"])
    assert bad.exit_code == 2 and "--map" in bad.stderr
    # A field nobody knows is named as such (it was 'not "Header=field"', which it is).
    unknown = invoke(["roster", "import", str(path), "--map", "Nomor Identitas=nomer"])
    assert unknown.stderr.startswith('galat: --map Nomor Identitas=nomer: isian "nomer" tidak')
    # The field as a header names it, as `applicants edit --set` takes it.
    code, doc = run_import(path, "--map", "Nomor Identitas=No KTP", "--map", "Hobi=-", "--dry-run")
    assert code == 0 and doc["unknown_columns"] == []


def test_sheet_choice(office: Path, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "buku.xlsx", [person(1)], sheets_before=1)
    code, doc = run_import(path)  # the cover sheet has no header: the data sheet is found
    assert code == 0 and doc["sheet"] == "Data"
    missing = invoke(["roster", "import", str(path), "--sheet", "Lain"])
    assert missing.exit_code == 2 and "Sampul0" in missing.stderr
    code, doc = run_import(path, "--sheet", "data")
    assert doc["sheet"] == "Data" and doc["skipped"] == 1  # already stored by the first import


def test_a_blank_header_only_sheet_does_not_stand_for_the_filled_in_one(
    office: Path, tmp_path: Path
) -> None:
    from openpyxl import Workbook, load_workbook

    path = write_xlsx(tmp_path / "buku.xlsx", [person(1)], sheets_before=1)
    book = load_workbook(path)
    book["Sampul0"].append(HEADERS)  # a blank template sheet ahead of the filled-in one
    book.save(path)
    code, doc = run_import(path, "--dry-run")
    assert code == 0 and doc["sheet"] == "Data" and doc["stored"] == 1

    only_header = Workbook()
    sheet = only_header.active
    assert sheet is not None
    sheet.append(HEADERS)
    only_header.save(tmp_path / "kosong.xlsx")
    run = invoke(["roster", "import", str(tmp_path / "kosong.xlsx")])
    assert run.exit_code == 0 and "0 baris dibaca" in run.stdout
    assert "hanya berisi judul kolom (baris 1)" in run.stderr


def test_reimport_stores_nothing_twice_and_reports_conflicts(office: Path, tmp_path: Path) -> None:
    people = [person(i) for i in range(1, 5)]
    path = write_xlsx(tmp_path / "desa.xlsx", people)
    assert run_import(path)[0] == 0
    before = stored(office)
    code, doc = run_import(path)
    assert code == 0
    assert (doc["stored"], doc["skipped"], doc["unchanged"]) == (0, 4, 4)
    assert stored(office) == before

    people[1]["No HP"] = "0813-1111-2222"
    changed = write_xlsx(tmp_path / "desa-v2.xlsx", people)
    code, doc = run_import(changed)
    assert code == 3
    (finding,) = doc["findings"]
    assert finding["code"] == "NIK_DUPLICATE" and "Nomor HP" in finding["message"]
    assert stored(office)[people[1]["NIK"]]["phone"] == "+6281200000002"
    code, doc = run_import(changed, "--update")
    assert code == 0 and doc["updated"] == 1 and doc["stored"] == 1
    number = before[people[1]["NIK"]]["registration_number"]
    assert doc["updated_rows"] == [{"row": 6, "registration_number": number, "fields": ["phone"]}]
    after = stored(office)[people[1]["NIK"]]
    assert after["phone"] == "+6281311112222"
    assert after["registration_number"] == before[people[1]["NIK"]]["registration_number"]
    assert after["source_file"] == "desa-v2.xlsx"


def test_duplicates_in_file_and_against_desk_registrations(office: Path, tmp_path: Path) -> None:
    desk_nik = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)
    assert invoke(applicant_args(nik=desk_nik)).exit_code == 0
    people = [person(1), person(2), person(1, **{"No HP": "0813-0000-0000"}),
              person(3, NIK=desk_nik, **{"Tgl Lahir": date(1990, 8, 17), "L/P": "P"})]  # fmt: skip
    code, doc = run_import(write_xlsx(tmp_path / "dup.xlsx", people))
    assert code == 3
    assert codes_by_row(doc) == {7: ["NIK_DUPLICATE_IN_FILE"], 8: ["NIK_DUPLICATE"]}
    assert doc["rejected_by_code"] == {"NIK_DUPLICATE_IN_FILE": 1, "NIK_DUPLICATE": 1}
    assert len(stored(office)) == 3


def test_kk_limit_counts_file_and_store(office: Path, tmp_path: Path) -> None:
    kk = "3273010101100002"
    assert invoke(applicant_args(kk=kk)).exit_code == 0
    people = [person(i, **{"No. KK": kk}) for i in range(1, 4)]
    code, doc = run_import(write_xlsx(tmp_path / "kk.xlsx", people))
    assert code == 0  # warnings are stored
    assert (doc["stored"], doc["warned"]) == (3, 2)
    assert codes_by_row(doc) == {6: ["KK_LIMIT_EXCEEDED"], 7: ["KK_LIMIT_EXCEEDED"]}


def test_dry_run_stores_nothing(office: Path, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "desa.xlsx", [person(1), person(2, NIK="123")])
    code, doc = run_import(path, "--dry-run")
    assert code == 3 and doc["dry_run"] is True and doc["stored"] == 1 and doc["rejected"] == 1
    assert stored(office) == {}


def test_human_summary(office: Path, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "desa.xlsx", [person(1), person(2, NIK="123")], headers=[*HEADERS, "Hobi"]
    )
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 3
    assert "2 baris dibaca, 1 disimpan" in run.stdout
    assert "NIK_FORMAT: 1" in run.stdout and "Hobi" in run.stdout
    assert "│ 6 " in run.stdout  # the row number as Excel shows it


def test_error_report_is_fixed_and_imported_again(office: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    good, bad_nik, young = person(1), person(2), person(3)
    bad_nik["NIK"] = bad_nik["NIK"][:15]  # one digit short
    young_born = date(2012, 1, 1)
    young.update({"NIK": synthetic_nik("327301", young_born, "L", 7003), "Tgl Lahir": young_born})
    warned = person(4, **{"Tgl Lahir": date(1999, 9, 9)})  # differs from its NIK: stored, flagged
    path = write_xlsx(tmp_path / "desa.xlsx", [good, bad_nik, young, warned])
    report = tmp_path / "perbaikan.xlsx"
    run = invoke(["roster", "import", str(path), "--errors", str(report)])
    assert run.exit_code == 3
    assert "perbaikan.xlsx (3 baris)" in run.stdout

    book = load_workbook(report)
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header == [*HEADERS, "Baris Asal", "Tersimpan Sebagai", "Kode Temuan", "Keterangan"]
    rows = {r[header.index("Baris Asal")].value: r for r in sheet.iter_rows(min_row=2)}
    assert set(rows) == {6, 7, 8}
    nik_cell = rows[6][header.index("NIK")]
    assert nik_cell.value == bad_nik["NIK"] and nik_cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert "16 angka" in nik_cell.comment.text
    assert rows[6][header.index("Kode Temuan")].value == "NIK_FORMAT"
    assert rows[7][header.index("Tgl Lahir")].fill.fgColor.rgb.endswith("FFC7CE")  # too young
    assert rows[8][header.index("Tgl Lahir")].fill.fgColor.rgb.endswith("FFEB9C")  # a warning
    assert "Tanggal lahir" in rows[8][header.index("Keterangan")].value

    # The clerk fixes the red cells and imports the report as it is.
    rows[6][header.index("NIK")].value = person(2)["NIK"]
    sheet.delete_rows(list(rows).index(7) + 2)  # the under-age applicant cannot be fixed
    book.save(report)
    code, doc = run_import(report)
    assert code == 0, doc
    assert (doc["stored"], doc["skipped"]) == (1, 1)  # the fixed row; the warned row was stored
    assert set(stored(office)) == {good["NIK"], person(2)["NIK"], warned["NIK"]}


def report_rows(report: Path) -> tuple[Any, Any, list[str], dict[int, Any]]:
    """The report's workbook, sheet, header and rows by their "Baris Asal"."""
    from openpyxl import load_workbook

    book = load_workbook(report)
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    rows = {r[header.index("Baris Asal")].value: r for r in sheet.iter_rows(min_row=2)}
    return book, sheet, header, rows


def test_the_report_round_trip_fixes_red_and_yellow_rows_in_one_step(
    office: Path, tmp_path: Path
) -> None:
    """Red (rejected) and yellow (warned, stored) rows fixed in the report, the report imported
    as its instruction says: the red row is stored, the yellow one updates its registration."""
    red = person(1)
    red["NIK"] = red["NIK"][:15]  # one digit short: rejected
    yellow = person(2, **{"Tgl Lahir": date(1999, 9, 9)})  # differs from its NIK: stored, flagged
    path = write_xlsx(tmp_path / "desa.xlsx", [red, yellow, person(3)])
    report = tmp_path / "perbaikan.xlsx"
    run = invoke(["roster", "import", str(path), "--errors", str(report)])
    assert run.exit_code == 3
    said = " ".join(run.stdout.split())
    instruction = f"impor ulang berkas itu apa adanya: prakerja roster import {report}"
    assert instruction in said, said
    before = stored(office)
    assert set(before) == {yellow["NIK"], person(3)["NIK"]}
    number = before[yellow["NIK"]]["registration_number"]
    assert before[yellow["NIK"]]["status"] == "flagged"

    book, sheet, header, rows = report_rows(report)
    assert rows[6][header.index("Tersimpan Sebagai")].value == number  # the yellow row's
    assert rows[5][header.index("Tersimpan Sebagai")].value is None  # the red row: not stored
    how = sheet.cell(1, header.index("Keterangan") + 1).comment.text
    assert "prakerja roster import perbaikan.xlsx." in how and "Tersimpan Sebagai" in how
    assert sheet.cell(1, header.index("Tersimpan Sebagai") + 1).comment is not None
    # The clerk fixes both rows in the report (Excel), and imports it as it is.
    rows[5][header.index("NIK")].value = person(1)["NIK"]
    rows[6][header.index("Tgl Lahir")].value = person(2)["Tgl Lahir"]
    book.save(report)
    code, doc = run_import(report)
    assert code == 0, doc
    assert (doc["rows"], doc["stored"], doc["updated"], doc["rejected"]) == (2, 2, 1, 0)
    assert doc["updated_rows"] == [{"row": 3, "registration_number": number,
                                    "fields": ["birth_date"]}]  # fmt: skip
    after = stored(office)
    assert set(after) == {person(1)["NIK"], person(2)["NIK"], person(3)["NIK"]}
    fixed = after[yellow["NIK"]]
    assert fixed["registration_number"] == number  # the same registration, not a second one
    assert fixed["birth_date"] == person(2)["Tgl Lahir"].isoformat()
    assert fixed["status"] == "valid" and fixed["source_file"] == "perbaikan.xlsx"
    assert after[person(1)["NIK"]]["status"] == "valid"
    with sqlite3.connect(office / "prakerja.db") as conn:
        assert conn.execute("SELECT count(*) FROM applicants").fetchone()[0] == 3
    # Imported once more, the fixed report changes nothing.
    code, again = run_import(report)
    assert code == 0 and (again["stored"], again["unchanged"]) == (0, 2)
    assert stored(office) == after


def test_a_yellow_row_whose_nik_was_changed_in_the_report_is_refused(
    office: Path, tmp_path: Path
) -> None:
    """A stored row's NIK changed in the report would register the person twice (or, by its
    number, overwrite someone): refused, naming the registration; its report keeps the number."""
    yellow = person(2, **{"Tgl Lahir": date(1999, 9, 9)})
    path = write_xlsx(tmp_path / "desa.xlsx", [yellow])
    report = tmp_path / "perbaikan.xlsx"
    assert run_import(path, "--errors", str(report))[0] == 0
    number = stored(office)[yellow["NIK"]]["registration_number"]
    book, _, header, rows = report_rows(report)
    other = synthetic_nik("327301", date(1999, 9, 9), "P", 7102)
    rows[5][header.index("NIK")].value = other
    book.save(report)
    second = tmp_path / "perbaikan-2.xlsx"
    code, doc = run_import(report, "--errors", str(second))
    assert code == 3 and doc["stored"] == 0
    [finding] = doc["findings"]
    assert finding["code"] == "REPORT_NIK_CHANGED" and number in finding["message"]
    assert "applicants edit" in finding["message"]
    assert set(stored(office)) == {yellow["NIK"]}
    # The report of the report has its columns once, and still names the registration.
    _, _, header2, rows2 = report_rows(second)
    assert header2.count("Tersimpan Sebagai") == 1 and header2.count("Baris Asal") == 1
    assert rows2[2][header2.index("Tersimpan Sebagai")].value == number
    # Emptied, the cell makes the row an applicant of its own.
    book, _, header, rows = report_rows(report)
    rows[5][header.index("Tersimpan Sebagai")].value = None
    book.save(report)
    code, doc = run_import(report)
    assert code == 0 and doc["stored"] == 1
    assert set(stored(office)) == {yellow["NIK"], other}


def test_a_yellow_row_of_another_file_still_needs_update(office: Path, tmp_path: Path) -> None:
    """Only our report's Tersimpan Sebagai makes an update without --update: the same rows in
    another file are refused as before."""
    yellow = person(2, **{"Tgl Lahir": date(1999, 9, 9)})
    assert run_import(write_xlsx(tmp_path / "desa.xlsx", [yellow]))[0] == 0
    yellow["Tgl Lahir"] = person(2)["Tgl Lahir"]
    code, doc = run_import(write_xlsx(tmp_path / "desa-2.xlsx", [yellow]))
    assert code == 3 and [f["code"] for f in doc["findings"]] == ["NIK_DUPLICATE"]


def test_report_cells_that_look_like_formulas_stay_text(office: Path, tmp_path: Path) -> None:
    young_born = date(2012, 1, 1)
    young = person(1, NIK=synthetic_nik("327301", young_born, "L", 7001))
    young.update({"Tgl Lahir": young_born, "Alamat": '=HYPERLINK("http://x.test","klik")'})
    report = tmp_path / "perbaikan.xlsx"
    code, _ = run_import(write_csv(tmp_path / "desa.csv", [young]), "--errors", str(report))
    assert code == 3
    _, _, header, rows = report_rows(report)
    cell = rows[2][header.index("Alamat")]
    assert cell.data_type != "f", cell.data_type  # text, not a formula Excel would run
    assert cell.value == '\'=HYPERLINK("http://x.test","klik")'
    assert rows[2][header.index("NIK")].value == young["NIK"]  # digits: no '


def test_an_existing_report_is_replaced_only_with_force(office: Path, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "desa.xlsx", [person(1), person(2, NIK="123")])
    report = tmp_path / "perbaikan.xlsx"
    report.write_bytes(b"kept")
    run = invoke(["roster", "import", str(path), "--errors", str(report)])
    assert run.exit_code == 2
    assert f"galat: Berkas {report} sudah ada." in run.stderr and "--force" in run.stderr
    assert report.read_bytes() == b"kept" and stored(office) == {}  # refused before storing
    code, doc = run_import(path, "--errors", str(report), "--force")
    assert code == 3 and doc["errors_rows"] == 1 and doc["stored"] == 1
    assert report_rows(report)[3].keys() == {6}


def test_exit_codes_for_unusable_files(office: Path, tmp_path: Path) -> None:
    assert invoke(["roster", "import", str(tmp_path / "absent.xlsx")]).exit_code == 2
    pdf = tmp_path / "surat.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    run = invoke(["roster", "import", str(pdf)])
    assert run.exit_code == 2 and ".xlsx" in run.stderr
    no_header = tmp_path / "kosong.csv"
    no_header.write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    run = invoke(["roster", "import", str(no_header)])
    assert run.exit_code == 2 and "NIK" in run.stderr


def test_a_rounded_nik_stays_refused_when_the_report_is_imported_unchanged(
    office: Path, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    rounded = person(1)
    rounded["NIK"] = int(rounded["NIK"][:15] + "0")  # what Excel leaves of a NIK in a General cell
    kk_rounded = person(2)
    kk_rounded["No. KK"] = int(kk_rounded["No. KK"][:15] + "0")
    young_born = date(2012, 1, 1)
    # Refused for its age, with an intact NIK that arrived as a number: the report writes it as
    # text, so once fixed it is read as the applicant's NIK.
    young = person(3, NIK=int(synthetic_nik("327301", young_born, "L", 7003)))
    young["Tgl Lahir"] = young_born
    path = write_xlsx(tmp_path / "desa.xlsx", [rounded, kk_rounded, young])
    report = tmp_path / "perbaikan.xlsx"
    code, doc = run_import(path, "--errors", str(report))
    assert code == 3 and doc["stored"] == 0
    assert codes_by_row(doc) == {
        5: ["NIK_PRECISION_LOST"],
        6: ["NIK_PRECISION_LOST"],
        7: ["AGE_BELOW_MIN"],
    }

    sheet = load_workbook(report).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    by_row = {r[header.index("Baris Asal")].value: r for r in sheet.iter_rows(min_row=2)}
    assert by_row[5][header.index("NIK")].value == rounded["NIK"]  # still a number
    assert by_row[6][header.index("No. KK")].value == kk_rounded["No. KK"]
    assert by_row[7][header.index("NIK")].value == str(young["NIK"])  # intact: text

    code, again = run_import(report)
    assert code == 3 and again["stored"] == 0
    assert sorted(c for codes in codes_by_row(again).values() for c in codes) == [
        "AGE_BELOW_MIN", "NIK_PRECISION_LOST", "NIK_PRECISION_LOST",
    ]  # fmt: skip
    assert stored(office) == {}


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("nofolder/perbaikan.xlsx", "nofolder"),  # the folder does not exist
        ("perbaikan.csv", ".xlsx"),  # the report is a workbook
        ("adir.xlsx", "folder"),  # a folder where the report should go
    ],
)
def test_an_unwritable_report_path_is_refused_before_anything_is_stored(
    office: Path, tmp_path: Path, target: str, says: str
) -> None:
    (tmp_path / "adir.xlsx").mkdir()
    young_born = date(2012, 1, 1)
    young = person(
        2, NIK=synthetic_nik("327301", young_born, "L", 7002), **{"Tgl Lahir": young_born}
    )
    path = write_xlsx(tmp_path / "desa.xlsx", [person(1), young])
    run = invoke(["roster", "import", str(path), "--errors", str(tmp_path / target)])
    assert run.exit_code == 2, run.stderr
    assert says in run.stderr and "Traceback" not in run.stderr + run.stdout
    assert stored(office) == {}
    # Fixed, the same import stores the valid row and writes the report.
    run = invoke(["roster", "import", str(path), "--errors", str(tmp_path / "perbaikan.xlsx")])
    assert run.exit_code == 3 and set(stored(office)) == {person(1)["NIK"]}
    assert (tmp_path / "perbaikan.xlsx").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@contextmanager
def immutable(folder: Path) -> Iterator[None]:
    """A folder nobody may add a file to, root included (ext4's immutable attribute): what a
    read-only folder is to a clerk, whose account the permission bits do stop."""
    import shutil
    import subprocess

    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make a folder read-only for root")
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable attribute (chattr +i refused)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_report_into_a_read_only_folder_is_refused_before_anything_is_stored(
    office: Path, tmp_path: Path
) -> None:
    """Issue 13: an --errors path in a read-only folder stored the valid rows, then failed on
    the report. The folder is now tried for a file before the import (never before: the folder
    existed, so the check passed)."""
    locked = tmp_path / "terkunci"
    locked.mkdir()
    young_born = date(2012, 1, 1)
    young = person(
        2, NIK=synthetic_nik("327301", young_born, "L", 7002), **{"Tgl Lahir": young_born}
    )
    path = write_xlsx(tmp_path / "desa.xlsx", [person(1), young])
    with immutable(locked):
        run = invoke(["roster", "import", str(path), "--errors", str(locked / "perbaikan.xlsx")])
        assert run.exit_code == 2, run.stdout + run.stderr
        error, hint = run.stderr.splitlines()
        assert error.startswith(f"galat: Folder {locked} tidak dapat ditulisi: ")
        assert hint.startswith("saran: Pilih folder yang dapat ditulisi")
        assert stored(office) == {}
        assert list(locked.iterdir()) == []
        # The same for an export into it: one rule for every file the tool writes.
        export = invoke(["export", str(locked / "rekap.xlsx")])
        assert export.exit_code == 2 and "tidak dapat ditulisi" in export.stderr
    assert invoke(["audit", "verify"]).exit_code == 0


def test_column_numbers_headings_and_the_signature_block_are_skipped_not_rejected(
    office: Path, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    people = [person(i) for i in range(1, 4)]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    sheet.append([f"({n})" for n in range(1, len(HEADERS) + 1)])  # row 2: column numbers
    sheet.append(["RT 01"])  # row 3: a section heading
    sheet.append([people[0].get(h) for h in HEADERS])
    sheet.append([people[1].get(h) for h in HEADERS])
    sheet.append([None, None, None, "RT 02 / Dusun Cibeureum"])  # row 6
    sheet.append([people[2].get(h) for h in HEADERS])
    # An applicant whose NIK and KK are missing is still an applicant: rejected, row 8.
    sheet.append([4, None, None, "Rina Wati", "Bandung", date(1990, 1, 1), "P", "081200000004"])
    sheet.append([])
    for line in ("Gegerkalong, 20 November 2026", "Mengetahui,", "Kepala Desa Gegerkalong",
                 None, "H. ASEP SUNANDAR"):  # fmt: skip
        sheet.append([None, None, None, None, None, None, None, None, None, None, line])
    path = tmp_path / "desa.xlsx"
    book.save(path)

    code, doc = run_import(path)
    assert code == 3, doc  # row 8 only
    assert (doc["stored"], doc["rejected"]) == (3, 1)
    assert doc["skipped"] == 7
    found = codes_by_row(doc)
    skipped_rows = [row for row, codes in found.items() if codes == ["ROW_NOT_APPLICANT"]]
    assert skipped_rows == [2, 3, 6, 10, 11, 12, 14]
    assert set(found[8]) == {"REQUIRED_MISSING"}
    assert set(stored(office)) == {p["NIK"] for p in people}


def test_a_roster_with_english_headers_maps_without_help(office: Path, tmp_path: Path) -> None:
    english = {
        "No": "No", "NIK": "National ID Number", "No. KK": "Family Card Number",
        "Nama Sesuai KTP": "Full Name", "Tempat Lahir": "Place of Birth",
        "Tgl Lahir": "Date of Birth", "L/P": "Gender", "No HP": "Phone Number",
        "Alamat": "Address", "RT": "RT", "RW": "RW", "Desa/Kelurahan": "Village",
        "Kecamatan": "Sub-district", "Pendidikan Terakhir": "Last Education",
        "Status Pekerjaan": "Employment Status", "Masih Sekolah/Kuliah": "Still in School",
        "Pekerjaan": "Occupation",
    }  # fmt: skip
    people = [{english[k]: v for k, v in person(i).items()} for i in (1, 2)]
    path = write_xlsx(tmp_path / "english.xlsx", people, headers=list(english.values()))
    code, doc = run_import(path)
    assert code == 0, doc
    assert doc["stored"] == 2 and doc["unknown_columns"] == []


def test_an_email_domain_typo_is_stored_with_a_warning(office: Path, tmp_path: Path) -> None:
    people = [
        person(1, Email="siti@gmial.com"),
        person(2, Email="budi@gmail.com"),
        person(3, Email="dewi@gmial.com"),
    ]
    path = write_xlsx(tmp_path / "desa.xlsx", people, headers=[*HEADERS, "Email"])
    code, doc = run_import(path)
    assert code == 0
    assert (doc["stored"], doc["warned"], doc["rejected"]) == (3, 2, 0)
    assert codes_by_row(doc) == {5: ["EMAIL_DOMAIN_SUSPECT"], 7: ["EMAIL_DOMAIN_SUSPECT"]}
    assert '"gmail.com"' in doc["findings"][0]["message"]
    rows = stored(office)
    assert rows[people[0]["NIK"]]["email"] == "siti@gmial.com"  # kept: it may be real
    assert rows[people[0]["NIK"]]["status"] == "flagged"
    assert rows[people[1]["NIK"]]["status"] == "valid"


def test_a_month_first_date_is_refused_with_the_day_first_date(
    office: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "desa.csv", [person(1, **{"Tgl Lahir": "12/25/1990"})])
    code, doc = run_import(path)
    assert code == 3 and doc["rejected"] == 1
    [finding] = doc["findings"]
    assert finding["code"] == "BIRTHDATE_INVALID"
    assert '"12/25/1990"' in finding["message"] and "25/12/1990" in finding["message"]
    assert "bulan/hari/tahun" in finding["message"]


def test_update_summary_says_how_many_were_updated_and_which_fields(
    office: Path, tmp_path: Path
) -> None:
    people = [person(i) for i in range(1, 4)]
    assert run_import(write_xlsx(tmp_path / "desa.xlsx", people))[0] == 0
    people[0].update({"No HP": "0813-1111-2222", "No. KK": "3273010101109999"})
    people[2]["Alamat"] = "Jl. Sukajadi 9"
    changed = write_xlsx(tmp_path / "desa-v2.xlsx", [*people, person(4)])

    run = invoke(["roster", "import", str(changed), "--update", "--dry-run", "--json"])
    assert run.exit_code == 0 and run.json()["updated"] == 2
    human = invoke(["roster", "import", str(changed), "--update"])
    assert human.exit_code == 0
    said = " ".join(human.stdout.split())
    assert (
        "4 baris dibaca, 3 disimpan (2 diperbarui, 0 dengan catatan), 0 ditolak, 1 dilewati" in said
    )
    again = invoke(["--lang", "en", "roster", "import", str(changed), "--update", "--json"])
    doc = again.json()
    assert (doc["updated"], doc["unchanged"], doc["updated_rows"]) == (0, 4, [])

    rows = stored(office)
    assert rows[people[0]["NIK"]]["kk"] == "3273010101109999"
    dry = run.json()["updated_rows"]
    assert [(u["row"], u["fields"]) for u in dry] == [(5, ["kk", "phone"]), (7, ["address"])]
    text = run.stdout
    for secret in (people[0]["NIK"], "3273010101109999", "081311112222", "+6281311112222"):
        assert secret not in text  # values of NIK/KK/phone never listed


def test_an_import_looks_up_only_the_files_numbers_through_the_indexes(
    office: Path, tmp_path: Path
) -> None:
    """Stored records are asked for by the file's NIKs, KKs and numbers (batched IN queries on
    their indexes), never read whole: a million stored records took 2 GB before the first row."""
    import re

    from prakerja_cli.office import open_workspace
    from prakerja_cli.roster.importer import import_roster

    first = write_csv(tmp_path / "first.csv", [person(i) for i in range(1, 21)])
    assert run_import(first)[0] == 0
    # Two rows already stored (one unchanged, one with another phone), one family grows, one new.
    again = [person(1), person(2, **{"No HP": "081299990000"}), person(30), person(3, NIK=None)]
    again[2]["No. KK"] = person(5)["No. KK"]
    second = write_csv(tmp_path / "second.csv", [p for p in again if p["NIK"]])
    ws = open_workspace()
    seen: list[str] = []
    ws.db.conn.set_trace_callback(seen.append)
    result = import_roster(ws, second)
    ws.db.conn.set_trace_callback(None)
    outcomes = [r.outcome for r in result.rows]
    assert outcomes == ["unchanged", "rejected", "stored"]
    asked = [q for q in seen if q.lstrip().startswith("SELECT") and "applicants" in q]
    assert asked
    for sql in asked:
        steps = [r[3] for r in ws.db.conn.execute("EXPLAIN QUERY PLAN " + sql)]
        assert not any(re.search(r"\bSCAN applicants\b(?! USING)", s) for s in steps), (sql, steps)


def _two_rosters(path: Path, hidden_state: str, *, visible_has_rows: bool) -> Path:
    """A hidden sheet (first) and a visible one, both with the roster's header."""
    from openpyxl import Workbook

    book = Workbook()
    secret = book.active
    assert secret is not None
    secret.title = "Rahasia"
    secret.sheet_state = hidden_state
    shown = book.create_sheet("Data")
    secret.append(HEADERS)
    for row in rows_of([person(1), person(2)]):
        secret.append(row)
    shown.append(HEADERS if visible_has_rows else ["Catatan"])
    if visible_has_rows:
        for row in rows_of([person(3)]):
            shown.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_visible_sheet_is_chosen_before_a_hidden_one(
    office: Path, tmp_path: Path, state: str
) -> None:
    path = _two_rosters(tmp_path / "dua.xlsx", state, visible_has_rows=True)
    run = invoke(["roster", "import", str(path), "--json"])
    assert run.exit_code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["sheet"] == "Data" and result["stored"] == 1


def test_a_hidden_sheet_alone_with_data_is_named(office: Path, tmp_path: Path) -> None:
    path = _two_rosters(tmp_path / "rahasia.xlsx", "veryHidden", visible_has_rows=False)
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 2
    assert "Rahasia" in run.stderr and "--sheet Rahasia" in run.stderr
    assert run.stderr.count("galat:") == 1
    chosen = invoke(["roster", "import", str(path), "--sheet", "Rahasia", "--json"])
    assert chosen.exit_code == 0, chosen.stderr
    assert json.loads(chosen.stdout)["stored"] == 2


def test_data_past_the_sheets_searched_says_so(office: Path, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "banyak.xlsx", [person(1)], sheets_before=19, title=False)
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 2
    assert "16" in run.stderr and "--sheet" in run.stderr and "Data" in run.stderr
    assert invoke(["roster", "import", str(path), "--sheet", "Data"]).exit_code == 0


def test_a_lone_nik_column_names_the_missing_columns(office: Path, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "nik.xlsx", [person(1)], headers=["NIK"], title=False)
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 2
    assert "tidak punya kolom wajib" in run.stderr and "Nama" in run.stderr


def test_ctrl_c_while_the_result_is_shown_says_the_rows_are_stored(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prakerja_cli.cli.roster_cmd as roster_cmd

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(roster_cmd, "_render", interrupted)
    path = write_xlsx(tmp_path / "desa.xlsx", [person(i) for i in range(1, 4)])
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 130  # ExitCode.CANCELLED
    assert "3 baris sudah disimpan" in run.stderr and "tidak ada yang disimpan" not in run.stderr
    assert len(stored(office)) == 3


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_rows_are_numbered_as_excel_shows_them_below_blank_rows(
    office: Path, tmp_path: Path, kind: str
) -> None:
    """A sheet whose first rows are blank (the header on row 3): every row number the clerk is
    given (findings, duplicates' first row, the stored source row) is the one Excel shows, not
    one counted from the first row that holds a value."""
    people = [person(i) for i in range(1, 5)]
    people[2]["L/P"] = "X"  # Excel row 6: 2 blank rows, the header on row 3, data from row 4
    people[3]["NIK"] = people[0]["NIK"]  # row 7, the same NIK as row 4
    path = tmp_path / f"kosong.{kind}"
    if kind == "xlsx":
        write_xlsx(path, people, title=False, blank_rows=2)
    else:
        write_xls(path, people, blank_rows=2)
    run = invoke(["roster", "import", str(path), "--json"])
    assert run.exit_code == 3, run.stdout
    found = {(f["row"], f["code"]) for f in run.json()["findings"]}
    assert (6, "GENDER_INVALID") in found and (7, "NIK_DUPLICATE_IN_FILE") in found
    duplicate = next(f for f in run.json()["findings"] if f["code"] == "NIK_DUPLICATE_IN_FILE")
    assert "4" in duplicate["message"]  # the first row with that NIK: Excel's row 4
    with sqlite3.connect(office / "prakerja.db") as conn:
        rows = sorted(r for (r,) in conn.execute("SELECT source_row FROM applicants"))
    assert rows == [4, 5]
