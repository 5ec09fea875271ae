"""`prakerja export` and export_applicants: xlsx and csv read back, text cells, masking, defusing."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import typer
from typer.testing import CliRunner

from prakerja_cli.cli import GuardedGroup
from prakerja_cli.cli.export_cmd import export
from prakerja_cli.demo import synthetic_nik
from prakerja_cli.errors import UsageError
from prakerja_cli.roster.columns import COLUMNS
from prakerja_cli.roster.export import HEADERS, export_applicants
from prakerja_cli.roster.output import neutralise
from tests.conftest import Run, applicant_args, invoke

SITI = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)
BUDI = synthetic_nik("327302", date(1985, 3, 2), "L", 9002)
DEWI = synthetic_nik("327301", date(1995, 1, 5), "P", 9003)
COL = {header: i for i, header in enumerate(HEADERS)}


def run(args: list[str]) -> Run:
    """The command through a tiny app of its own (the real app wires it as `export`)."""
    app = typer.Typer(cls=GuardedGroup)
    app.command("export")(export)
    app.command("unused", hidden=True)(lambda: None)  # two commands: a group, like the real one
    result = CliRunner().invoke(app, ["export", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def three(office: Path) -> Path:
    """Siti (valid), Budi (flagged: form date differs from the NIK), Dewi (withdrawn); each
    wants a "training" that a spreadsheet would run as a formula."""
    siti = applicant_args(nik=SITI, extra=["--training", '=HYPERLINK("http://x.test","klik")'])
    assert invoke(siti).exit_code == 0
    budi = applicant_args(
        nik=BUDI, kk="3273020202100003", name="Budi Santoso", birth_date="1985-03-12",
        gender="L", extra=["--training", "+62 812 3456", "--rt", "4", "--rw", "12"],
    )  # fmt: skip
    assert invoke(budi).exit_code == 0
    dewi = applicant_args(
        nik=DEWI, kk="3273010505150004", name="Dewi Lestari", birth_date="1995-01-05",
        extra=["--training", "@SUM(1)"],
    )  # fmt: skip
    assert invoke(dewi).exit_code == 0
    assert (
        invoke(["applicants", "withdraw", DEWI, "--reason", "Salah input", "--yes"]).exit_code == 0
    )
    return office


def read_xlsx(path: Path) -> tuple[list[Any], list[list[Any]], Any]:
    ws = openpyxl.load_workbook(path)["Data"]
    rows = [list(r) for r in ws.iter_rows()]
    return [c.value for c in rows[0]], rows[1:], ws


def read_csv(path: Path) -> tuple[bytes, list[list[str]]]:
    raw = path.read_bytes()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return raw, list(csv.reader(handle, delimiter=";"))


def by_name(rows: list[list[Any]]) -> dict[str, list[Any]]:
    def value(cell: Any) -> Any:
        return getattr(cell, "value", cell)

    return {value(r[COL["Nama Lengkap"]]): r for r in rows}


def test_headers_are_no_number_the_canonical_columns_then_the_office_columns() -> None:
    expected = (
        "No", "Nomor Pendaftaran", *(c.header for c in COLUMNS), "Kabupaten/Kota", "Provinsi",
        "Status", "Temuan", "Tanggal Daftar", "Meja", "Petugas",
    )  # fmt: skip
    assert expected == HEADERS


def test_xlsx_text_cells_masked_dates_and_defused_formulas(three: Path, tmp_path: Path) -> None:
    path = tmp_path / "rekap.xlsx"
    done = run([str(path)])
    assert done.exit_code == 0, done.stderr
    assert "2 pendaftar" in done.stdout and "disamarkan" in done.stdout
    headers, rows, ws = read_xlsx(path)
    assert headers == list(HEADERS)
    assert ws.freeze_panes == "A2"
    assert [r[COL["No"]].value for r in rows] == [1, 2]
    people = by_name(rows)
    assert set(people) == {"SITI AMINAH", "BUDI SANTOSO"}  # withdrawn Dewi is not in the recap
    siti, budi = people["SITI AMINAH"], people["BUDI SANTOSO"]
    assert siti[COL["Nomor Pendaftaran"]].value == "3273-D01-000001"  # oldest first
    for person, nik in ((siti, SITI), (budi, BUDI)):
        for header in ("NIK", "Nomor KK", "Nomor HP", "RT", "RW"):
            assert person[COL[header]].number_format == "@", header
        cell = person[COL["NIK"]]
        assert isinstance(cell.value, str) and cell.data_type == "s"
        assert cell.value == nik[:4] + "**********" + nik[-2:]
        assert "*" in person[COL["Nomor KK"]].value
    assert siti[COL["Nomor HP"]].value == "081234567890"  # national form, leading 0 kept
    assert (budi[COL["RT"]].value, budi[COL["RW"]].value) == ("004", "012")
    assert siti[COL["RT"]].value is None
    assert siti[COL["Tanggal Lahir"]].value == "1990"  # beside a masked NIK: the year only
    registered = siti[COL["Tanggal Daftar"]]
    assert registered.value == datetime.combine(date.today(), datetime.min.time())
    assert registered.number_format == "DD-MM-YYYY"
    # Choices as their codes, so the file imports again; yes/no as the template's ya/tidak.
    assert [siti[COL[h]].value for h in ("Jenis Kelamin", "Pendidikan Terakhir",
            "Status Pekerjaan", "Masih Sekolah/Kuliah", "Penerima Bansos")] == [
        "P", "SMA", "KORBAN_PHK", "tidak", "tidak"]  # fmt: skip
    assert siti[COL["Pelatihan yang Diinginkan"]].value == '\'=HYPERLINK("HTTP://X.TEST","KLIK")'
    assert siti[COL["Pelatihan yang Diinginkan"]].data_type == "s"  # a string, not a formula
    assert budi[COL["Pelatihan yang Diinginkan"]].value == "'+62 812 3456"
    assert (siti[COL["Status"]].value, budi[COL["Status"]].value) == ("Sah", "Sah, dengan catatan")
    assert siti[COL["Temuan"]].value is None
    assert "NIK_BIRTHDATE_MISMATCH" in budi[COL["Temuan"]].value
    assert [siti[COL[h]].value for h in ("Kabupaten/Kota", "Provinsi", "Meja", "Petugas")] == [
        "KOTA BANDUNG", "JAWA BARAT", "D01", "Rina"]  # fmt: skip
    no_formula = [c for r in rows for c in r if c.data_type == "f"]
    assert no_formula == []


def test_xlsx_reveal_writes_nik_and_kk_whole(three: Path, tmp_path: Path) -> None:
    path = tmp_path / "rekap.xlsx"
    done = run([str(path), "--reveal", "--json"])
    assert done.exit_code == 0
    assert done.json() == {"file": str(path.resolve()), "rows": 2, "revealed": True}
    people = by_name(read_xlsx(path)[1])
    nik = people["SITI AMINAH"][COL["NIK"]]
    assert nik.value == SITI and isinstance(nik.value, str) and nik.number_format == "@"
    born = people["SITI AMINAH"][COL["Tanggal Lahir"]]
    assert born.value == datetime(1990, 8, 17) and born.number_format == "DD-MM-YYYY"
    assert people["SITI AMINAH"][COL["Nomor KK"]].value == "3273010101100002"


def test_csv_has_bom_semicolons_iso_dates_and_defused_text(three: Path, tmp_path: Path) -> None:
    path = tmp_path / "rekap.csv"
    assert run([str(path)]).exit_code == 0
    raw, rows = read_csv(path)
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert raw[3:].split(b"\r\n")[0] == ";".join(HEADERS).encode()
    assert rows[0] == list(HEADERS)
    people = by_name(rows[1:])
    siti, budi = people["SITI AMINAH"], people["BUDI SANTOSO"]
    assert [r[COL["No"]] for r in rows[1:]] == ["1", "2"]
    assert siti[COL["NIK"]] == SITI[:4] + "**********" + SITI[-2:]  # masked: text already
    assert siti[COL["Nomor HP"]] == "081234567890"  # the value itself: no ' any program keeps
    assert siti[COL["Tanggal Lahir"]] == "1990"  # beside a masked NIK: the year only
    assert siti[COL["Tanggal Daftar"]] == date.today().isoformat()
    assert siti[COL["Pelatihan yang Diinginkan"]].startswith("'=HYPERLINK(")
    assert budi[COL["Pelatihan yang Diinginkan"]] == "'+62 812 3456"
    assert (budi[COL["RT"]], siti[COL["RT"]]) == ("004", "")
    assert siti[COL["Masih Sekolah/Kuliah"]] == "tidak"


def test_csv_reveal_writes_the_digits_and_nothing_else(three: Path, tmp_path: Path) -> None:
    """NIK, KK, phone and RT read back from the csv are exactly the stored values: no ' in front
    (LibreOffice and other systems keep it as part of the value), no digit lost."""
    path = tmp_path / "rekap.csv"
    assert run([str(path), "--reveal"]).exit_code == 0
    raw, rows = read_csv(path)
    people = by_name(rows[1:])
    siti, budi = people["SITI AMINAH"], people["BUDI SANTOSO"]
    assert siti[COL["NIK"]] == SITI and budi[COL["NIK"]] == BUDI
    assert siti[COL["Nomor KK"]] == "3273010101100002"
    assert siti[COL["Nomor HP"]] == "081234567890"
    assert (budi[COL["RT"]], budi[COL["RW"]]) == ("004", "012")
    assert b";'3" not in raw and b";'0" not in raw  # no digits anywhere carry a '
    # A formula is still defused, by the same rule as the xlsx.
    assert siti[COL["Pelatihan yang Diinginkan"]].startswith("'=")


def libreoffice_opens(path: Path, out: Path, *, columns_as_text: bool) -> list[list[Any]]:
    """The csv as LibreOffice Calc reads it (headless, converted to xlsx): with every column as
    Text (docs/commands.md, "Opening the csv"), or with the types Calc guesses by itself."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    # ';' (59), '"' (34), UTF-8 (76), from line 1; then column/format pairs, 2 = Text.
    options = "CSV:59,34,76,1"
    if columns_as_text:
        options += "," + "/".join(f"{n}/2" for n in range(1, len(HEADERS) + 1))
    out.mkdir()
    subprocess.run(
        [soffice, "--headless", "--norestore", f"-env:UserInstallation={(out / 'profile').as_uri()}",
         f"--infilter={options}", "--convert-to", "xlsx", "--outdir", str(out), str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    sheet = openpyxl.load_workbook(out / path.with_suffix(".xlsx").name).active
    assert sheet is not None
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_the_csv_opened_with_text_columns_keeps_every_digit_in_libreoffice(
    three: Path, tmp_path: Path
) -> None:
    """What docs/commands.md says: imported with its columns as Text, RT stays 003 and the NIK
    whole; opened with the types guessed, they do not (hence the xlsx is the recap of record)."""
    path = tmp_path / "rekap.csv"
    assert run([str(path), "--reveal"]).exit_code == 0
    as_text = by_name(libreoffice_opens(path, tmp_path / "text", columns_as_text=True)[1:])
    budi, siti = as_text["BUDI SANTOSO"], as_text["SITI AMINAH"]
    assert (budi[COL["RT"]], budi[COL["RW"]]) == ("004", "012")
    assert (budi[COL["NIK"]], siti[COL["NIK"]]) == (BUDI, SITI)
    assert siti[COL["Nomor KK"]] == "3273010101100002"
    assert siti[COL["Nomor HP"]] == "081234567890"
    assert siti[COL["Pelatihan yang Diinginkan"]].startswith("'=")  # defused, not run
    guessed = by_name(libreoffice_opens(path, tmp_path / "guessed", columns_as_text=False)[1:])
    budi = guessed["BUDI SANTOSO"]
    assert budi[COL["RT"]] == 4  # "004" became a number: the doc's warning is true
    assert budi[COL["NIK"]] != BUDI


def test_status_and_date_filters(three: Path, tmp_path: Path) -> None:
    def names(*args: str) -> set[str]:
        path = tmp_path / "rekap.csv"
        done = run([str(path), *args, "--force"])
        assert done.exit_code == 0, done.stderr
        return {r[COL["Nama Lengkap"]] for r in read_csv(path)[1][1:]}

    assert names() == {"SITI AMINAH", "BUDI SANTOSO"}
    assert names("--status", "flagged") == {"BUDI SANTOSO"}
    assert names("--status", "withdrawn") == {"DEWI LESTARI"}
    assert names("--status", "valid", "--status", "withdrawn") == {"SITI AMINAH", "DEWI LESTARI"}
    today = date.today().isoformat()
    assert names("--since", today, "--until", today) == {"SITI AMINAH", "BUDI SANTOSO"}
    assert names("--since", "2999-01-01") == set()
    bad = run([str(tmp_path / "x.csv"), "--status", "rejected"])
    assert bad.exit_code == 2 and "rejected" in bad.stderr
    assert names("--until", "31/12/2999") == {"SITI AMINAH", "BUDI SANTOSO"}
    bad_day = run([str(tmp_path / "x.csv"), "--until", "31/12/26"])
    assert bad_day.exit_code == 2 and "--until" in bad_day.stderr


def test_other_suffixes_and_missing_folders_are_refused(three: Path, tmp_path: Path) -> None:
    wrong = run([str(tmp_path / "rekap.ods")])
    assert wrong.exit_code == 2 and ".ods" in wrong.stderr and ".csv" in wrong.stderr
    nowhere = run([str(tmp_path / "tidak-ada" / "rekap.xlsx")])
    assert nowhere.exit_code == 2 and "tidak-ada" in nowhere.stderr
    with pytest.raises(UsageError) as caught:
        export_applicants([], tmp_path / "rekap.txt", reveal=False)
    assert caught.value.key == "error.output_suffix"
    assert not any(p.name != "home" for p in tmp_path.iterdir())


def test_an_empty_export_still_has_its_header(tmp_path: Path) -> None:
    for name in ("kosong.xlsx", "kosong.csv"):
        assert export_applicants(iter([]), tmp_path / name, reveal=False) == 0
    assert read_xlsx(tmp_path / "kosong.xlsx")[:2] == (list(HEADERS), [])
    assert read_csv(tmp_path / "kosong.csv")[1] == [list(HEADERS)]


def test_export_replaces_an_existing_file_only_with_force(three: Path, tmp_path: Path) -> None:
    path = tmp_path / "rekap.csv"
    old = "old content that is much longer than nothing\n" * 100
    path.write_text(old, encoding="utf-8")
    refused = invoke(["export", str(path), "--status", "flagged"])
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"galat: Berkas {path} sudah ada.",
        "saran: Pilih nama lain, atau tambahkan --force untuk menimpanya.",
    ]
    assert path.read_text(encoding="utf-8") == old
    english = invoke(["--lang", "en", "export", str(path), "--json"])
    assert english.exit_code == 2 and english.json()["error"] == "output_exists"
    assert "--force" in english.json()["hint"] and str(path) in english.json()["message"]
    assert invoke(["export", str(path), "--status", "flagged", "--force"]).exit_code == 0
    assert len(read_csv(path)[1]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "rekap.csv"]  # no temp file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+6281234567890", "'+6281234567890"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("JL. MERDEKA 1", "JL. MERDEKA 1"),
        ("A=1", "A=1"),
        ("\x01=1", "'=1"),  # control characters go first; what is left is still defused
        ("", ""),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


def test_reexport_imports_again_unchanged(office: Path, tmp_path: Path) -> None:
    """The recap is in the roster's columns: importing it again finds every row already stored."""
    assert invoke(applicant_args(nik=SITI, extra=["--rt", "3", "--rw", "7"])).exit_code == 0
    budi = applicant_args(nik=BUDI, kk="3273020202100003", name="Budi Santoso",
                          birth_date="1985-03-02", gender="L",
                          extra=["--social-assistance", "--email", "budi@contoh.id"])  # fmt: skip
    assert invoke(budi).exit_code == 0
    for name in ("rekap.xlsx", "rekap.csv"):
        path = tmp_path / name
        assert run([str(path), "--reveal"]).exit_code == 0
        done = invoke(["roster", "import", str(path), "--dry-run", "--json"])
        assert done.exit_code == 0, done.stdout + done.stderr
        summary = done.json()
        assert (summary["rows"], summary["unchanged"], summary["rejected"]) == (2, 2, 0), summary
        assert summary["unknown_columns"] == []  # the rekap's own columns are known and passed over


def test_help_ends_with_an_example() -> None:
    from tests.conftest import invoke

    done = invoke(["export", "--help"])
    assert done.exit_code == 0 and "Contoh: prakerja export" in done.stdout
    assert "Example: prakerja export" in invoke(["export", "--help", "--lang", "en"]).stdout


def test_a_masked_export_imported_says_the_numbers_are_masked(office: Path, tmp_path: Path) -> None:
    assert invoke(applicant_args(nik=SITI)).exit_code == 0
    path = tmp_path / "rekap.xlsx"
    assert run([str(path)]).exit_code == 0  # masked: no --reveal
    done = invoke(["roster", "import", str(path), "--dry-run", "--json"])
    assert done.exit_code == 3
    findings = {(f["field"], f["code"]) for f in done.json()["findings"]}
    assert {("nik", "NIK_MASKED"), ("kk", "NIK_MASKED")} <= findings
    assert findings <= {
        ("nik", "NIK_MASKED"),
        ("kk", "NIK_MASKED"),
        ("birth_date", "BIRTHDATE_INVALID"),
    }
    assert "--reveal" in done.json()["findings"][0]["message"]


def test_an_xlsx_longer_than_a_sheet_goes_on_in_the_next(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prakerja_cli.roster import export as module

    monkeypatch.setattr(module, "XLSX_MAX_ROWS", 4)  # a header and 3 rows a sheet
    row = {"registration_number": "3273-D01-000001", "nik": SITI, "name": "SITI",
           "status": "valid", "findings": "[]"}  # fmt: skip
    path = tmp_path / "rekap.xlsx"
    assert export_applicants(({**row, "id": str(i)} for i in range(8)), path, reveal=True) == 8
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Data", "Data 2", "Data 3"]
    numbers = []
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == HEADERS and len(rows) <= 4
        numbers += [r[0] for r in rows[1:]]
    assert numbers == list(range(1, 9))  # "No" counts on across sheets


#: Run in a fresh process: grows the store of a `three` office to N live records (copies of
#: Siti's), then measures the peak of Python's allocations while `export` writes them all.
_MEASURE_EXPORT = """
import sys, tracemalloc
from prakerja_cli.store.engine import dbapi as sqlite3
from pathlib import Path
from prakerja_cli.desk import export_registrations
from prakerja_cli.office import open_workspace

count, out = int(sys.argv[1]), Path(sys.argv[2])
ws = open_workspace()
names = [r[1] for r in ws.db.execute("PRAGMA table_info(applicants)")
         if r[1] not in ("id", "registration_number", "nik", "seq")]
ws.db.execute(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    f"INSERT INTO applicants (id, registration_number, nik, {', '.join(names)}) "
    "SELECT printf('%032d', i), printf('3273-D01-%06d', i + 100), printf('3273%012d', i), "
    f"{', '.join(names)} FROM n, (SELECT * FROM applicants WHERE status = 'valid' LIMIT 1)",
    [count],
)
tracemalloc.start()
written = export_registrations(ws, out, statuses=("valid",), since=None, until=None,
                               reveal=False, force=False)
print(written, tracemalloc.get_traced_memory()[1])
"""


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_memory_stays_flat_as_the_store_grows(
    three: Path, tmp_path: Path, suffix: str
) -> None:
    """Rows stream from the store to the file: 5x the records, about the same peak (holding
    every row, as before, took ~4 KB more per record: 60 MB more here)."""
    import os
    import sys

    peaks = []
    for count in (3000, 15000):
        home = tmp_path / f"home{count}"
        shutil.copytree(three, home)
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE_EXPORT, str(count), str(tmp_path / f"r{count}{suffix}")],
            env={**os.environ, "PRAKERJA_HOME": str(home)}, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        written, peak = map(int, done.stdout.split())
        assert written == count + 1  # and Siti
        peaks.append(peak)
    assert peaks[1] - peaks[0] < 3_000_000, peaks
