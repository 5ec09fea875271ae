"""Issue 13's proof for every hostile class that is not a memory bomb (those are in
tests/test_roster_sandbox.py::test_hostile_file_ends_in_one_clean_refusal): the real command in a
child process under an address-space cap, exit 2, one galat:/saran: pair (and the JSON error
document), no traceback, no raw escape character, the store unchanged and `audit verify` passing."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rosters import person, write_csv, write_ods, write_xls, write_xlsx

from tests.conftest import invoke
from tests.test_proof_malformed import _limited_import, rezip, snapshot

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")

#: Far below what the 3 GiB reader child may take: these files must cost next to nothing.
CAP = 1 << 30


def zip_version_64(tmp: Path) -> Path:
    path = write_xlsx(tmp / "r.xlsx", [person(1)])
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:  # every central directory entry: "version needed to extract" = 6.4
        data[at + 6 : at + 8] = (64).to_bytes(2, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


def csv_619_columns(tmp: Path) -> Path:
    path = write_csv(tmp / "lebar.csv", [person(1)])
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    path.write_text("\n".join(line + ";" * 602 for line in lines) + "\n", encoding="utf-8")
    return path


def xls_named_xlsx(tmp: Path) -> Path:
    path = tmp / "daftar.xlsx"
    path.write_bytes(write_xls(tmp / "asli.xls", [person(1)]).read_bytes())
    return path


def page_saved_as_xls(tmp: Path) -> Path:
    path = tmp / "kosong.xls"
    path.write_text("<html><body><p>Sesi habis, silakan masuk lagi</p></body></html>")
    return path


def spreadsheetml_saved_as_xls(tmp: Path) -> Path:
    path = tmp / "ekspor.xls"
    path.write_text('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:'
                    'spreadsheet"><Worksheet/></Workbook>')  # fmt: skip
    return path


def fifo(tmp: Path) -> Path:
    path = tmp / "pipa.csv"
    os.mkfifo(path)
    return path


def data_on_the_20th_sheet(tmp: Path) -> Path:
    return write_xlsx(tmp / "banyak.xlsx", [person(1)], sheets_before=19, title=False)


def lone_nik_column(tmp: Path) -> Path:
    return write_xlsx(tmp / "nik.xlsx", [person(1)], headers=["NIK"], title=False)


def ods_wrong_mimetype(tmp: Path) -> Path:
    base = write_ods(tmp / "base.ods", [person(1)])
    return rezip(base, tmp / "salah.ods", replace={"mimetype": b"application/zip"})


def escapes_in_the_file_name(tmp: Path) -> Path:
    return write_xlsx(tmp / "daftar\x1b[2J\x1b]0;judul\x07.xlsx", [person(1)], headers=["NIK"])


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "traceback: zip version 6.4": zip_version_64,
    "contradiction: csv with 619 columns": csv_619_columns,
    "wrong reason: real .xls named .xlsx": xls_named_xlsx,
    "wrong reason: web page saved as .xls": page_saved_as_xls,
    "wrong reason: SpreadsheetML saved as .xls": spreadsheetml_saved_as_xls,
    "wrong reason: FIFO": fifo,
    "wrong reason: /dev/zero": lambda tmp: Path("/dev/zero"),
    "wrong reason: data on the 20th sheet": data_on_the_20th_sheet,
    "wrong reason: only a NIK column": lone_nik_column,
    "wrong reason: ods with a wrong mimetype": ods_wrong_mimetype,
    "terminal escapes: in the file name": escapes_in_the_file_name,
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_class_meets_the_proof(office: Path, tmp_path: Path, kind: str) -> None:
    path = HOSTILE[kind](tmp_path)
    before = snapshot(office)[0]
    done, seconds = _limited_import(office, path, memory=CAP)
    assert done is not None and seconds < 30, f"still running after {seconds:.0f} s"
    assert done.returncode == 2, done.stderr[-800:]
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert [x[:6] for x in lines if x.startswith(("galat:", "saran:"))] == ["galat:", "saran:"]
    assert json.loads(done.stdout)["exit_code"] == 2
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert snapshot(office)[0] == before
    assert invoke(["audit", "verify"]).exit_code == 0
