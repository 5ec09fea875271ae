"""Hostile and broken roster files end in one line and an unchanged store; a killed import
leaves the store consistent and a rerun converges."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from rosters import person, write_csv, write_ods, write_xls, write_xlsx

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import invoke


def applicant_count(home: Path) -> int:
    with sqlite3.connect(home / "prakerja.db") as conn:
        return int(conn.execute("SELECT count(*) FROM applicants").fetchone()[0])


def assert_one_line_refusal(home: Path, path: Path) -> str:
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code in (1, 2), run.stderr
    assert "Traceback" not in run.stderr
    assert [line for line in run.stderr.splitlines() if line.startswith("galat:")].__len__() == 1
    assert applicant_count(home) == 0
    return run.stderr


def test_truncated_xlsx(office: Path, tmp_path: Path) -> None:
    whole = write_xlsx(tmp_path / "whole.xlsx", [person(i) for i in range(1, 40)])
    data = whole.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        broken = tmp_path / f"cut{cut}.xlsx"
        broken.write_bytes(data[:cut])
        assert "rusak" in assert_one_line_refusal(office, broken)


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm", ".xls", ".ods"])
def test_random_bytes(office: Path, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"acak{suffix}"
    path.write_bytes(random.Random(7).randbytes(5000))
    assert_one_line_refusal(office, path)


def test_text_renamed_to_xlsx_and_binary_csv(office: Path, tmp_path: Path) -> None:
    fake = tmp_path / "surat.xlsx"
    fake.write_text("Kepada Yth. Kepala Dinas", encoding="utf-8")
    assert_one_line_refusal(office, fake)
    binary = tmp_path / "gambar.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert_one_line_refusal(office, binary)


def test_password_protected_workbook(office: Path, tmp_path: Path) -> None:
    # Excel saves an encrypted workbook as an OLE compound file, whatever its .xlsx name says.
    path = tmp_path / "rahasia.xlsx"
    name = "EncryptedPackage".encode("utf-16-le")  # its directory entry
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024) + name + bytes(3072))
    assert "kata sandi" in assert_one_line_refusal(office, path)


def _xlsx_with_sheet_xml(path: Path, sheet_xml: str, shared: str | None = None) -> Path:
    base = write_xlsx(path.with_suffix(".base.xlsx"), [person(1)], title=False)
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            dst.writestr(item, data)
        if shared is not None:
            dst.writestr("xl/sharedStrings.xml", shared)
    return path


def test_a_sheet_with_a_million_columns(office: Path, tmp_path: Path) -> None:
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1">'
        '<c r="A1" t="inlineStr"><is><t>NIK</t></is></c></row><row r="1048576">'
        '<c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    path = _xlsx_with_sheet_xml(tmp_path / "lebar.xlsx", sheet)
    assert "terlalu besar" in assert_one_line_refusal(office, path)


def test_xml_entity_bomb(office: Path, tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
            for i in range(1, 10)
        )
        + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        "</sheetData></worksheet>"
    )
    path = _xlsx_with_sheet_xml(tmp_path / "bom.xlsx", sheet, shared=bomb)
    started = time.monotonic()
    assert_one_line_refusal(office, path)
    assert time.monotonic() - started < 30


def test_csv_with_an_endless_line(office: Path, tmp_path: Path) -> None:
    path = tmp_path / "panjang.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("NIK;Nama;")
        handle.write("x" * (3 << 20))
        handle.write("\n")
    assert "terlalu panjang" in assert_one_line_refusal(office, path)


def test_csv_with_a_huge_cell(office: Path, tmp_path: Path) -> None:
    path = tmp_path / "sel.csv"
    path.write_text(
        "NIK;Nama Lengkap;Alamat\n" + "1;a;" + '"' + "y" * 200_000 + '"\n', encoding="utf-8"
    )
    assert_one_line_refusal(office, path)


def _import_process(home: Path, path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PRAKERJA_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "prakerja_cli", "roster", "import", str(path), "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_import_leaves_a_consistent_store_and_a_rerun_converges(
    office: Path, tmp_path: Path, _office_template: Path
) -> None:
    import shutil

    people = [person(i) for i in range(1, 1501)]
    path = write_xlsx(tmp_path / "besar.xlsx", people)
    reference = tmp_path / "reference"
    shutil.copytree(_office_template, reference)
    started = time.monotonic()
    assert _import_process(reference, path).wait(timeout=120) == 0
    duration = time.monotonic() - started
    rng = random.Random(2026)
    outcomes = []
    for _ in range(6):
        proc = _import_process(office, path)
        time.sleep(rng.uniform(0.05, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        with sqlite3.connect(office / "prakerja.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = applicant_count(office)
        assert count in (0, len(people))  # one transaction: all or nothing
        outcomes.append(count)
    assert _import_process(office, path).wait(timeout=120) == 0

    def content(home: Path) -> set[tuple[str, str, str, int]]:
        with sqlite3.connect(home / "prakerja.db") as conn:
            return set(conn.execute("SELECT nik, status, name, source_row FROM applicants"))

    assert content(office) == content(reference)
    assert applicant_count(office) == len(people)


def test_control_characters_in_names_are_shown_not_sent(office: Path, tmp_path: Path) -> None:
    """A sheet name (and, on Linux, a file name) can hold ESC sequences: printed raw they would
    recolour the clerk's terminal or forge a line; they are shown written out instead."""
    from tests.test_proof_malformed import rezip

    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    with zipfile.ZipFile(base) as z:
        book = z.read("xl/workbook.xml")
    renamed = book.replace(b'name="Sheet"', b'name="Data&#x1b;[2J&#x1b;]0;x&#x7;"')
    assert renamed != book
    name = "daftar\x1b[31m.xlsx" if sys.platform != "win32" else "daftar.xlsx"
    path = rezip(base, tmp_path / name, replace={"xl/workbook.xml": renamed})
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 0, run.stderr
    shown = run.stdout + run.stderr
    assert "\x1b" not in shown and "\x07" not in shown
    assert "Data\\x1b[2J\\x1b]0;x\\x07" in shown
    if sys.platform != "win32":
        assert "daftar\\x1b[31m.xlsx" in shown


def test_a_real_xls_named_xlsx_is_named_as_such(office: Path, tmp_path: Path) -> None:
    path = tmp_path / "daftar.xlsx"
    path.write_bytes(write_xls(tmp_path / "asli.xls", [person(1)]).read_bytes())
    message = assert_one_line_refusal(office, path)
    assert ".xls" in message and "kata sandi" not in message


def test_an_xlsx_named_xls_is_named_as_such(office: Path, tmp_path: Path) -> None:
    path = tmp_path / "daftar.xls"
    path.write_bytes(write_xlsx(tmp_path / "asli.xlsx", [person(1)]).read_bytes())
    assert ".xlsx" in assert_one_line_refusal(office, path)


@pytest.mark.parametrize(
    ("name", "body", "named"),
    [
        ("ekspor.xls", '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:'
         'spreadsheet"><Worksheet/></Workbook>', "XML Excel 2003"),
        ("ekspor.xlsx", "<html><body><table><tr><td>NIK</td></tr></table></body></html>", "HTML"),
        ("kosong.xls", "<html><body><p>Sesi habis, silakan masuk lagi</p></body></html>", "HTML"),
    ],
)  # fmt: skip
def test_web_exports_that_are_no_table_say_what_they_are(
    office: Path, tmp_path: Path, name: str, body: str, named: str
) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    message = assert_one_line_refusal(office, path)
    assert named in message and "OLE" not in message


def test_an_html_table_saved_as_xls_is_read(office: Path, tmp_path: Path) -> None:
    """What many government web applications export as "Excel": a page with a table."""
    from html import escape

    from rosters import HEADERS, rows_of

    def cell(value: object) -> str:
        text = value.strftime("%d-%m-%Y") if hasattr(value, "strftime") else str(value)
        return f"<td>{escape(text)}</td>"

    rows = [HEADERS, *rows_of([person(1), person(2, **{"Nama Sesuai KTP": "Nur'aini"})])]
    table = "".join("<tr>" + "".join(map(cell, row)) + "</tr>" for row in rows)
    path = tmp_path / "ekspor.xls"
    path.write_text(
        "<html><head><style>td {mso-number-format:'@'}</style></head><body><h3>DAFTAR</h3>"
        f"<table border=1><tr><th colspan=3>Desa Gegerkalong</th></tr>{table}</table></body></html>",
        encoding="utf-8",
    )
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 0, run.stderr
    assert applicant_count(office) == 2


def test_a_csv_saved_as_xls_is_read_as_csv(office: Path, tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path / "asli.csv", [person(1), person(2)])
    path = tmp_path / "ekspor.xls"
    path.write_bytes(csv_file.read_bytes())
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 0, run.stderr
    assert applicant_count(office) == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_or_device_is_not_an_ordinary_file(office: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipa.csv"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        message = assert_one_line_refusal(office, path)
        assert "bukan berkas biasa" in message and "tidak ada" not in message


def test_an_ods_with_a_wrong_mimetype_says_so(office: Path, tmp_path: Path) -> None:
    from tests.test_proof_malformed import rezip

    base = write_ods(tmp_path / "base.ods", [person(1)])
    path = rezip(base, tmp_path / "salah.ods", replace={"mimetype": b"application/zip"})
    message = assert_one_line_refusal(office, path)
    assert "mimetype" in message and "buffer" not in message


def test_a_full_disk_under_the_error_report_names_it(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from openpyxl import Workbook

    def full(self: object, filename: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")  # zipfile names no file

    roster = write_xlsx(tmp_path / "daftar.xlsx", [person(1), person(2, NIK="123")])
    monkeypatch.setattr(Workbook, "save", full)
    report = tmp_path / "perbaikan.xlsx"
    run = invoke(["roster", "import", str(roster), "--errors", str(report)])
    assert run.exit_code != 0 and "Traceback" not in run.stderr
    assert str(report) in run.stderr and "disk penuh" in run.stderr.lower()
    assert "Exception ignored" not in run.stderr and not report.exists()
