"""Hostile spreadsheets that reach calamine by ways the static size check may not follow (a
relocated workbook, backslash part names, dialog sheets, BIFF records, expanded text) end in one
clean refusal: the read runs in a child process with a memory limit (roster/sandbox.py)."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from rosters import HEADERS, person, write_ods, write_xls, write_xlsx

from prakerja_cli.roster import sandbox
from prakerja_cli.roster.bounds import TextTooLong, TooBig, check_spreadsheet, check_xls
from tests.conftest import invoke
from tests.test_proof_malformed import (
    _limited_import,
    rezip,
    sheet_xml,
    snapshot,
)
from tests.test_roster_bounds import ods_with_content

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")

BOMB = sheet_xml('<row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576"><v>1</v></c></row>')


def relocated_workbook(tmp_path: Path) -> Path:
    """The workbook under data/, found only through _rels/.rels."""
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    path = tmp_path / "relocated.xlsx"
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith((".rels", "[Content_Types].xml", "docProps/app.xml")):
                data = data.replace(b"/xl/", b"/data/").replace(b'"xl/', b'"data/')
            name = item.filename
            if name.startswith("xl/"):
                name = "data/" + name[3:]
            if name == "data/worksheets/sheet1.xml":
                data = BOMB
            dst.writestr(name, data)
    return path


def backslash_part(tmp_path: Path) -> Path:
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    return rezip(
        base, tmp_path / "backslash.xlsx",
        replace={"xl/worksheets/sheet1.xml": None}, add={"xl\\worksheets\\sheet1.xml": BOMB},
    )  # fmt: skip


def dialogsheet(tmp_path: Path) -> Path:
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    with zipfile.ZipFile(base) as z:
        rels = z.read("xl/_rels/workbook.xml.rels")
    rels = rels.replace(b"relationships/worksheet", b"relationships/dialogsheet").replace(
        b"worksheets/sheet1.xml", b"dialogsheets/sheet1.xml"
    )
    return rezip(
        base, tmp_path / "dialog.xlsx",
        replace={"xl/_rels/workbook.xml.rels": rels, "xl/worksheets/sheet1.xml": None},
        add={"xl/dialogsheets/sheet1.xml": BOMB.replace(b"worksheet", b"dialogsheet")},
    )  # fmt: skip


def xls_number_at(tmp_path: Path, row: int, column: int) -> Path:
    """An .xls whose one NUMBER record (0x0203) says (row, column)."""
    path = tmp_path / f"far{column}.xls"
    import xlwt

    book = xlwt.Workbook()
    book.add_sheet("Data").write(0, 0, 0.1234567891234)  # no RK form: a NUMBER
    book.save(str(path))
    data = bytearray(path.read_bytes())
    at = data.find(struct.pack("<HHHH", 0x0203, 14, 0, 0))  # NUMBER at (0, 0)
    assert at > 0
    struct.pack_into("<HH", data, at + 4, row, column)
    path.write_bytes(bytes(data))
    return path


def huge_shared_string(tmp_path: Path, cells: int) -> Path:
    """One 20 MB shared string (runs of 20,000 characters, so no MiB lacks a tag) in `cells`
    cells under an ordinary header."""
    runs = "".join(f"<r><t>{'A' * 20_000}</t></r>" for _ in range(1000))
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main" count="1" uniqueCount="1"><si>{runs}</si></sst>'
    )
    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    header = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for i, h in enumerate(HEADERS)
    )
    rows = "".join(
        f'<row r="{r}"><c r="D{r}" t="s"><v>0</v></c></row>' for r in range(2, cells + 2)
    )
    with zipfile.ZipFile(base) as z:
        types = z.read("[Content_Types].xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
    if b"sharedStrings" not in rels:
        rels = rels.replace(
            b"</Relationships>",
            b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
        types = types.replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
            b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
    with zipfile.ZipFile(base) as z:
        replace: dict[str, bytes | None] = {
            "xl/worksheets/sheet1.xml": sheet_xml(f'<row r="1">{header}</row>{rows}'),
            "xl/_rels/workbook.xml.rels": rels,
            "[Content_Types].xml": types,
        }
        add = {"xl/sharedStrings.xml": shared.encode()}
        if "xl/sharedStrings.xml" in z.namelist():
            replace["xl/sharedStrings.xml"] = add.pop("xl/sharedStrings.xml")
    return rezip(base, tmp_path / f"shared{cells}.xlsx", replace=replace, add=add)


def ods_spaces(tmp_path: Path, cells: int) -> Path:
    """`<text:s text:c="50000000"/>` in `cells` cells: 50 million spaces each, once expanded."""
    cell = (
        '<table:table-cell office:value-type="string"><text:p>a<text:s text:c="50000000"/>'
        "</text:p></table:table-cell>"
    )
    body = f'<table:table table:name="T"><table:table-row>{cell * cells}</table:table-row></table:table>'
    return ods_with_content(tmp_path, f"spaces{cells}.ods", body.encode())


HOSTILE = {
    "relocated workbook": relocated_workbook,
    "backslash part name": backslash_part,
    "dialogsheet": dialogsheet,
    "xls row 65535 col 255": lambda p: xls_number_at(p, 65535, 255),
    "xls row 65535 col 2000": lambda p: xls_number_at(p, 65535, 2000),
    "shared string x 40": lambda p: huge_shared_string(p, 40),
    "shared string x 200": lambda p: huge_shared_string(p, 200),
    "ods text:s x 20": lambda p: ods_spaces(p, 20),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_file_ends_in_one_clean_refusal(office: Path, tmp_path: Path, kind: str) -> None:
    path = HOSTILE[kind](tmp_path)
    assert path.stat().st_size < 200_000
    before = snapshot(office)[0]
    done, seconds = _limited_import(office, path)
    assert done is not None and seconds < 30, f"still running after {seconds:.0f} s"
    assert done.returncode == 2, done.stderr[-800:]
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert [x[:6] for x in lines if x.startswith(("galat:", "saran:"))] == ["galat:", "saran:"]
    assert snapshot(office)[0] == before
    assert invoke(["audit", "verify"]).exit_code == 0


@pytest.mark.parametrize(
    ("make", "sheet"),
    [(relocated_workbook, "Sheet"), (backslash_part, "Sheet")],
    ids=["relocated", "backslash"],
)
def test_an_abort_in_the_child_is_reported_as_memory(tmp_path: Path, make: Any, sheet: str) -> None:
    # Past the static check (called directly), calamine aborts on its allocation: the child
    # ends, the caller survives and is told it was memory.
    with pytest.raises(sandbox.ChildFailed) as failed:
        sandbox.run("cells", make(tmp_path), sheet, (512, 1_100_000, 4_000_000, 32_767))
    assert failed.value.memory


def test_the_child_measures_the_grid_it_builds_from_a1(tmp_path: Path) -> None:
    """One cell far from A1 is a range of one cell, but the grid read from A1 (each row numbered
    as Excel shows it) holds 65,536 x 2,001 cells: the child refuses it before building it (it
    used to measure the range and abort on the grid's allocation)."""
    far = xls_number_at(tmp_path, 65535, 2000)
    assert sandbox.run("cells", far, "Data", (512, 1_100_000, 4_000_000, 32_767)) == ("too_big",)


def test_an_honest_xls_and_ods_still_import(office: Path, tmp_path: Path) -> None:
    for path in (
        write_xls(tmp_path / "ok.xls", [person(1), person(2)]),
        write_ods(tmp_path / "ok.ods", [person(3), person(4)]),
    ):
        run = invoke(["roster", "import", str(path)])
        assert run.exit_code == 0, run.stderr


def test_the_child_is_this_python(tmp_path: Path) -> None:
    # The child imports only the sandbox module: it starts fast and needs no terminal.
    done = subprocess.run(
        [sys.executable, "-c", "import sys, prakerja_cli.roster.sandbox; "
         "print(sorted(m for m in sys.modules if m.startswith('prakerja_cli')))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert (
        done.stdout.strip()
        == "['prakerja_cli', 'prakerja_cli.roster', 'prakerja_cli.roster.sandbox']"
    )


@pytest.mark.parametrize(
    "make", [relocated_workbook, backslash_part, dialogsheet], ids=lambda f: f.__name__
)
def test_the_size_check_follows_the_reader_to_the_sheet(tmp_path: Path, make: Any) -> None:
    """The static check finds the sheet where calamine does, and refuses it with a precise
    reason rather than "memory" (the child, started alongside, is ended unheard)."""
    with pytest.raises(TooBig):
        check_spreadsheet(make(tmp_path))


@pytest.mark.parametrize("make", [huge_shared_string, ods_spaces], ids=lambda f: f.__name__)
def test_the_size_check_counts_expanded_text(tmp_path: Path, make: Any) -> None:
    with pytest.raises(TextTooLong):
        check_spreadsheet(make(tmp_path, 2))


@pytest.mark.parametrize("column", [255, 2000])
def test_xls_cell_records_are_checked_before_the_grid_is_built(tmp_path: Path, column: int) -> None:
    """The BIFF records' coordinates are read from the compound file before calamine's grid is
    taken (where Windows refuses the child its Job Object, nothing else bounds its memory)."""
    with pytest.raises(TooBig):
        check_xls(xls_number_at(tmp_path, 65535, column))
    check_xls(write_xls(tmp_path / "ok.xls", [person(i) for i in range(1, 200)]))


# --- Windows: the same limit through a Job Object (cannot run here; its logic and layout can) ---


def test_the_job_limit_structure_has_the_windows_sdk_layout() -> None:
    """sizeof(JOBOBJECT_BASIC_LIMIT_INFORMATION) is 64 and of the EXTENDED one 144 on 64-bit
    Windows, ProcessMemoryLimit at offset 112 (48 and 112, offset 88, on 32-bit): a wrong
    layout would make SetInformationJobObject fail or set another field."""
    import ctypes

    basic, extended = sandbox._job_structures()
    wide = ctypes.sizeof(ctypes.c_void_p) == 8
    assert ctypes.sizeof(basic) == (64 if wide else 48)
    assert ctypes.sizeof(extended) == (144 if wide else 112)
    assert extended.ProcessMemoryLimit.offset == (112 if wide else 88)
    info = sandbox.job_limit(sandbox.MAX_READ_MEMORY)
    assert info.ProcessMemoryLimit == sandbox.MAX_READ_MEMORY
    assert info.BasicLimitInformation.LimitFlags == 0x100 | 0x400  # process memory, no dialog


class FakeKernel32:
    """Records the calls _limit_memory_windows makes, as kernel32 would answer them."""

    def __init__(self, *, create: int = 7, set_ok: int = 1, assign_ok: int = 1) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.create, self.set_ok, self.assign_ok = create, set_ok, assign_ok

    def SetErrorMode(self, mode: int) -> int:
        self.calls.append(("SetErrorMode", mode))
        return 0

    def CreateJobObjectW(self, attributes: Any, name: Any) -> int:
        self.calls.append(("CreateJobObjectW", attributes, name))
        return self.create

    def SetInformationJobObject(self, job: int, kind: int, info: Any, size: int) -> int:
        import ctypes

        limit = ctypes.cast(info, ctypes.POINTER(sandbox._job_structures()[1])).contents
        self.calls.append(("SetInformationJobObject", job, kind, limit.ProcessMemoryLimit, size))
        return self.set_ok

    def GetCurrentProcess(self) -> int:
        return -1  # the pseudo-handle Windows gives

    def AssignProcessToJobObject(self, job: int, process: int) -> int:
        self.calls.append(("AssignProcessToJobObject", job, process))
        return self.assign_ok


def test_on_windows_the_child_joins_a_job_capped_at_the_same_memory() -> None:
    import ctypes

    kernel32 = FakeKernel32()
    assert sandbox._limit_memory_windows(kernel32) is True
    size = ctypes.sizeof(sandbox._job_structures()[1])
    assert kernel32.calls == [
        ("SetErrorMode", 0x0001 | 0x0002),  # no "python has stopped working" box
        ("CreateJobObjectW", None, None),
        ("SetInformationJobObject", 7, 9, sandbox.MAX_READ_MEMORY, size),
        ("AssignProcessToJobObject", 7, -1),
    ]
    # Where Windows refuses (no job, a job that forbids nesting), the read still goes on in the
    # child, which keeps an abort from taking the command down.
    assert sandbox._limit_memory_windows(FakeKernel32(create=0)) is False
    assert sandbox._limit_memory_windows(FakeKernel32(set_ok=0)) is False
    assert sandbox._limit_memory_windows(FakeKernel32(assign_ok=0)) is False


def test_the_limit_is_chosen_by_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: list[str] = []
    monkeypatch.setattr(sandbox, "_limit_memory_windows", lambda: chosen.append("job") or True)
    monkeypatch.setattr(sys, "platform", "win32")
    sandbox._limit_memory()
    assert chosen == ["job"]


@pytest.mark.parametrize("code", [0xC0000409, 0xC0000017, 3])
def test_a_windows_out_of_memory_exit_is_reported_as_memory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int
) -> None:
    """Under the job's limit a Rust abort is a fail-fast (0xC0000409), the C runtime's abort()
    exits 3: each is told as "too big for memory", not as a damaged file."""

    class Exited:  # the child as Windows leaves it: no answer, only its exit status
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.stdin, self.returncode = io.BytesIO(), code

        def communicate(self, timeout: float | None = None) -> tuple[bytes, bytes]:
            return b"", b""

    monkeypatch.setattr(sandbox.subprocess, "Popen", Exited)
    with pytest.raises(sandbox.ChildFailed) as failed:
        sandbox.run("cells", tmp_path / "x.xlsx", "Sheet1")
    assert failed.value.memory
