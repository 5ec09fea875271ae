"""Rows checked on several cores (`roster import --jobs N`) give what one process gives: the same
findings, outcomes and stored records, a worker that fails leaves its share to the importer, and
a worker's answer survives its packing whatever the cells hold."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import sys
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rosters import person, write_csv, write_xlsx
from terminal import run_at_terminal
from test_validate_fast import rows as generated_forms

from prakerja_cli.core.rules import load_rule_set
from prakerja_cli.core.validate import FIELDS, ValidationContext
from prakerja_cli.demo import synthetic_nik
from prakerja_cli.roster import rows as rows_module
from prakerja_cli.roster.rows import (
    NOT_APPLICANT,
    TOTAL,
    Layout,
    check_rows,
    checks_in_order,
    cores,
    pack,
    unpack,
)
from tests.conftest import applicant_args, invoke
from tests.strategies import REFERENCE, make_nik, valid_form

LAYOUT = Layout(tuple(enumerate(FIELDS)), combined=False)


def varied_people() -> list[dict[str, Any]]:
    """Rows of every kind an import tells apart: clean, warned, refused, duplicated within the
    file and against the desk, a KK over its limit, and lines that are not applicants."""
    people = [person(i) for i in range(1, 41)]
    people[3]["NIK"] = people[3]["NIK"][:15] + "0"  # what Excel leaves of a NIK
    people[5]["L/P"] = "X"
    people[7]["Tgl Lahir"] = date(1990, 1, 1)  # contradicts the NIK
    people[9]["No HP"] = "12345"
    people[11]["Pendidikan Terakhir"] = "Sarjana"
    people[13]["RT"] = "RT 03"
    people[15]["Nama Sesuai KTP"] = "x" * 90
    people[17] = {**people[16], "No": 18}  # the same NIK twice in the file
    people[19]["NIK"] = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)  # the desk's one
    people[19].update({"Tgl Lahir": date(1990, 8, 17), "L/P": "P"})
    for i in range(21, 28):  # one KK for seven applicants
        people[i]["No. KK"] = "3273010101109999"
    people[29]["NIK"] = "3.27301E+15"
    people[31] = {"No": "Jumlah", "NIK": None}
    people[33] = {"No": "(1)", "NIK": "(2)", "No. KK": "(3)"}
    people[35] = {}
    people[37]["Masih Sekolah/Kuliah"] = "Ya"
    return people


def stored(home: Path) -> list[dict[str, Any]]:
    """Stored records without what differs between two runs by design (ids and clock times)."""
    with sqlite3.connect(home / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM applicants ORDER BY registration_number").fetchall()
    return [
        {k: row[k] for k in row.keys() if k != "id" and not k.endswith("_at")}  # noqa: SIM118
        for row in rows
    ]


@pytest.mark.parametrize("writer", [write_xlsx, write_csv], ids=["xlsx", "csv"])
def test_several_processes_give_what_one_gives(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: Any
) -> None:
    assert invoke(applicant_args()).exit_code == 0
    twin = tmp_path / "twin"
    shutil.copytree(office, twin)
    path = writer(tmp_path / f"varied.{writer.__name__[6:]}", varied_people())

    one = invoke(["roster", "import", str(path), "--json", "--jobs", "1"])
    monkeypatch.setenv("PRAKERJA_HOME", str(twin))
    answered: list[int] = []
    real_answers = rows_module._Worker.answers

    def spied(worker: Any, expected: int) -> Any:
        for part in real_answers(worker, expected):
            answered.append(len(part))
            yield part

    monkeypatch.setattr(rows_module._Worker, "answers", spied)
    # A process per CPU for 40 rows: --jobs gives each process a share however small.
    three = invoke(["roster", "import", str(path), "--json", "--jobs", "3"])
    if cores() > 1:  # else there is no worker: one process checks everything
        assert sum(answered) > 0  # the workers answered: no fallback hid them

    assert one.exit_code == three.exit_code
    first, second = one.json(), three.json()
    assert first == second
    codes = {f["code"] for f in first["findings"]}
    assert {
        "GENDER_INVALID", "KK_LIMIT_EXCEEDED", "NIK_BIRTHDATE_MISMATCH", "NIK_DUPLICATE",
        "NIK_DUPLICATE_IN_FILE", "NIK_PRECISION_LOST", "PHONE_INVALID", "ROW_NOT_APPLICANT",
    } <= codes  # fmt: skip
    assert first["stored"] > 20 and first["rejected"] > 3 and first["warned"] > 0
    assert stored(office) == stored(twin)


def _rows_from(forms: list[dict[str, Any]]) -> list[list[Any]]:
    return [[form.get(name) for name in FIELDS] for form in forms]


def _context() -> ValidationContext:
    return ValidationContext(rules=load_rule_set("normal-2023"), today=REFERENCE, memo={})


@settings(max_examples=40, deadline=None)
@given(st.lists(generated_forms(), min_size=1, max_size=20))
def test_a_workers_answer_survives_its_packing(forms: list[dict[str, Any]]) -> None:
    cells = [*_rows_from(forms), [None] * len(FIELDS), ["Jumlah", *[None] * (len(FIELDS) - 1)]]
    checks = check_rows(cells, LAYOUT, _context())
    assert checks[-2:] == [None, TOTAL]
    # repr, not ==: a NaN cell is kept as NaN, which equals nothing.
    assert repr(unpack(pack(checks))) == repr(checks)


def _failing_python(tmp_path: Path, script: str) -> str:
    """An executable that stands for a worker's interpreter and fails as `script` says."""
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in interpreter is a shell script")
@pytest.mark.parametrize(
    "script",
    [
        "cat >/dev/null; exit 3",  # crashes after reading its share
        "cat >/dev/null; printf 'not a pickle'",  # answers garbage
        "exit 0",  # ends without reading or answering
        "cat >/dev/null; exec sleep 60",  # hangs (ended after WORKER_TIMEOUT)
        None,  # cannot be started at all
    ],
    ids=["crash", "garbage", "silent", "hang", "missing"],
)
def test_a_failing_worker_leaves_its_share_to_the_importer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str | None
) -> None:
    monkeypatch.setattr(rows_module, "WORKER_TIMEOUT", 1.0)
    forms = [valid_form(nik=make_nik("327301", date(1990, 1, 2), "L", i)) for i in range(1, 9)]
    forms[2]["gender"] = "X"
    blank, numbers = [None] * len(FIELDS), ["(1)", "(2)", *([None] * (len(FIELDS) - 2))]
    cells = [*_rows_from(forms), blank, numbers]
    expected = check_rows(cells, LAYOUT, _context())
    assert expected[-2:] == [None, NOT_APPLICANT]
    stand_in = str(tmp_path / "nowhere") if script is None else _failing_python(tmp_path, script)
    monkeypatch.setattr(rows_module.sys, "executable", stand_in)
    assert list(checks_in_order(cells, LAYOUT, _context(), jobs=3, min_share=1)) == expected


def test_workers_answer_when_they_run(tmp_path: Path) -> None:
    """The real worker process answers (the fallback above would hide a worker that never does)."""
    cells = _rows_from([{"nik": synthetic_nik("327301", date(1990, 1, 2), "L", 1)}] * 3)
    worker = rows_module._Worker.start(cells, LAYOUT, _context())
    try:
        parts = list(worker.answers(len(cells)))
    finally:
        worker.stop()
    assert len(parts) == 1  # three rows: one chunk
    assert repr(parts[0]) == repr(check_rows(cells, LAYOUT, _context()))


def test_a_worker_answers_in_chunks_and_a_failure_midway_keeps_what_it_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A big share comes back chunk by chunk; when the worker ends midway (here: the importer
    stops waiting after one chunk), the rows it did not answer are checked here, in order."""
    monkeypatch.setattr(rows_module, "_CHUNK", 3)
    forms = [valid_form(nik=make_nik("327301", date(1990, 1, 2), "L", i)) for i in range(1, 12)]
    cells = _rows_from(forms)
    expected = check_rows(cells, LAYOUT, _context())
    worker = rows_module._Worker.start(cells, LAYOUT, _context())
    try:
        parts = list(worker.answers(len(cells)))
    finally:
        worker.stop()
    assert [len(p) for p in parts] == [3, 3, 3, 2]
    assert repr([c for p in parts for c in p]) == repr(expected)

    real_answers = rows_module._Worker.answers

    def one_chunk(worker: Any, expected_rows: int) -> Any:
        yield next(iter(real_answers(worker, expected_rows)))

    monkeypatch.setattr(rows_module._Worker, "answers", one_chunk)
    got = list(checks_in_order(cells, LAYOUT, _context(), jobs=2, min_share=1))
    assert repr(got) == repr(expected)


@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals are POSIX")
def test_roster_import_on_two_cores_at_a_terminal(office: Path, tmp_path: Path) -> None:
    roster = write_xlsx(tmp_path / "r.xlsx", [person(i) for i in range(1, 41)])
    code, screen = run_at_terminal(["roster", "import", str(roster), "--jobs", "2"], office)
    assert code == 0, screen
    assert "Traceback" not in screen
    assert "40 baris dibaca" in screen
    assert "Membaca daftar" in screen
    with sqlite3.connect(office / "prakerja.db") as conn:
        assert conn.execute("SELECT count(*) FROM applicants").fetchone()[0] == 40


@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals are POSIX")
def test_a_big_roster_written_by_the_writer_process_at_a_terminal(
    office: Path, tmp_path: Path
) -> None:
    """A file over the writer's threshold (roster/writer.py): read, checked, stored, told."""
    from prakerja_cli.roster.importer import WRITER_FROM_BYTES

    roster = write_csv(tmp_path / "big.csv", [person(i) for i in range(1, 8_001)])
    assert roster.stat().st_size >= WRITER_FROM_BYTES
    code, screen = run_at_terminal(["roster", "import", str(roster)], office)
    assert code in (0, 3), screen  # 3: some rows of these people are alike, and refused
    assert "Traceback" not in screen
    told = re.search(r"8000 baris dibaca, (\d+) disimpan", screen)
    assert told is not None, screen
    assert "Menyimpan" in screen
    with sqlite3.connect(office / "prakerja.db") as conn:
        stored = conn.execute("SELECT count(*) FROM applicants").fetchone()[0]
    assert stored == int(told[1]) > 1000
    assert _workers_running() == 0


def test_jobs_below_one_is_refused_with_the_fix(office: Path, tmp_path: Path) -> None:
    roster = write_xlsx(tmp_path / "r.xlsx", [person(1)])
    run = invoke(["roster", "import", str(roster), "--jobs", "0"])
    assert run.exit_code != 0
    assert "--jobs" in run.stderr and "Traceback" not in run.stderr


def test_a_prakerja_cli_folder_where_the_clerk_works_is_not_what_a_worker_runs(
    office: Path, tmp_path: Path
) -> None:
    """Workers start with `python -P`: the folder the command runs in is not on their path."""
    import subprocess

    folder = tmp_path / "downloads"
    (folder / "prakerja_cli").mkdir(parents=True)
    owned = folder / "owned"
    (folder / "prakerja_cli" / "__init__.py").write_text(
        f"open({str(owned)!r}, 'w').write('ran')\nraise SystemExit(0)\n"
    )
    env = {**os.environ, "PRAKERJA_HOME": str(office), "PRAKERJA_LANG": "en"}
    # The attack is real: without -P, `python -m` in that folder runs the planted package.
    subprocess.run([sys.executable, "-m", "prakerja_cli.roster.rows"], cwd=folder, env=env,
                   input=b"", capture_output=True, check=False)  # fmt: skip
    assert owned.exists()
    owned.unlink()

    roster = write_csv(tmp_path / "r.csv", [person(i) for i in range(1, 9)])
    done = subprocess.run(
        [sys.executable, "-P", "-m", "prakerja_cli", "roster", "import", str(roster), "--json",
         "--jobs", "2"],
        cwd=folder, env=env, capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert not owned.exists()
    with sqlite3.connect(office / "prakerja.db") as conn:
        assert conn.execute("SELECT count(*) FROM applicants").fetchone()[0] == 8


@given(st.integers(2, 300_000), st.integers(2, 16))
def test_shares_cover_every_row_once_and_none_is_empty(count: int, shares: int) -> None:
    shares = min(shares, count)
    bounds = rows_module.share_bounds(count, shares)
    assert bounds[0] == 0 and bounds[-1] == count and len(bounds) == shares + 1
    assert all(a < b for a, b in pairwise(bounds))
    # The importer keeps rows to check while the workers start (about 6,400), or its even share.
    assert bounds[1] >= min(6000, count // shares)


def _workers_running() -> int:
    """Worker and writer processes on this machine (their command line names the module)."""
    count = 0
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes()
            if b"prakerja_cli.roster.rows" in line or b"prakerja_cli.roster.writer" in line:
                count += 1
        except OSError:
            continue
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts workers through /proc")
def test_ctrl_c_while_workers_check_ends_them_and_stores_nothing(
    office: Path, tmp_path: Path
) -> None:
    from terminal import Terminal

    before = _workers_running()
    roster = write_csv(tmp_path / "big.csv", [person(i) for i in range(1, 30_001)])
    terminal = Terminal(["roster", "import", str(roster), "--jobs", "2"], office)
    terminal.expect(r"Membaca daftar\s.*\d+%")  # the rows are being checked
    terminal.interrupt()
    code, screen = terminal.close(timeout=60)
    assert code == 130, screen
    assert "Dibatalkan" in screen and "Traceback" not in screen
    with sqlite3.connect(office / "prakerja.db") as conn:
        assert conn.execute("SELECT count(*) FROM applicants").fetchone()[0] == 0
    assert _workers_running() == before
