"""Proof: four desks registering into one store at once, as four real processes.

Each worker process imports prakerja_cli and calls `desk.register(open_workspace(), form)` in a
loop (a fresh workspace per registration, as each `prakerja register` opens one), so SQLite's
real file locking between processes is what keeps the store right. All four share desk D01.

1. 30 s of registrations with distinct synthetic NIKs (a serial range per worker): no worker
   sees an exception, every record a worker stored is in the store exactly once, registration
   numbers are unique and gap-free, NIKs are unique among live records, the audit chain verifies
   and holds one `create` entry per record.
2. A race: all four register the same 20 NIKs at the same instant: each is stored exactly once,
   the three losers get NIK_DUPLICATE (a finding, not an exception).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import invoke

WORKERS = 4
DURATION = 30.0
RACE_NIKS = 20

WORKER = r"""
import json, sys, time, traceback
from datetime import date, timedelta

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.desk import register
from prakerja_cli.office import open_workspace

worker, start_at, seconds, out_path, race = (
    int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
)


def form(nik, kk, phone, born, gender):
    return {
        "nik": nik, "kk": kk, "name": "Siti Aminah", "birth_date": born.isoformat(),
        "gender": gender, "phone": phone, "address": "Jl. Merdeka 1", "village": "Gegerkalong",
        "district": "Sukasari", "education": "SMA", "employment": "KORBAN_PHK", "in_school": "tidak",
    }


def own(k):
    # Serials 1 + 2000 * worker ... keep the workers' NIKs apart; k // 2000 moves the birth date.
    gender = "P" if k % 2 else "L"
    born = date(1980, 1, 1) + timedelta(days=k // 2000)
    nik = synthetic_nik("327301", born, gender, 1 + worker * 2000 + k % 2000)
    return form(nik, f"327301{worker}{k:09d}", f"0812{worker}{k:07d}", born, gender)


def shared(i):
    born = date(1990, 8, 17)
    return form(synthetic_nik("327301", born, "P", 9001 + i), f"3273019999{i:06d}",
                f"08139999{i:04d}", born, "P")


def attempt(f):
    ws = open_workspace()
    try:
        result = register(ws, f)
    finally:
        ws.db.conn.close()
    if result.row is not None:
        row = result.row
        return {"nik": row["nik"], "id": row["id"], "number": row["registration_number"],
                "stored": True}
    return {"nik": result.validated.values.get("nik"), "stored": False,
            "codes": [str(x.code) for x in result.validated.findings if x.blocking]}


results, error = [], None
try:
    while time.time() < start_at:
        time.sleep(0.001)
    if race:
        for i in range(race):
            results.append({"shared": True, **attempt(shared(i))})
    k, stop = 0, time.time() + seconds
    while time.time() < stop:
        results.append(attempt(own(k)))
        k += 1
except BaseException:
    error = traceback.format_exc()
with open(out_path, "w", encoding="utf-8") as handle:
    json.dump({"worker": worker, "results": results, "error": error}, handle)
sys.exit(1 if error else 0)
"""


def run_workers(home: Path, tmp: Path, *, seconds: float, race: int = 0) -> list[dict[str, Any]]:
    env = {**os.environ, "PRAKERJA_HOME": str(home)}
    start_at = time.time() + 2.5  # after every interpreter has started and imported
    procs = []
    for w in range(WORKERS):
        out = tmp / f"worker{w}.json"
        args = [sys.executable, "-c", WORKER, str(w), str(start_at), str(seconds), str(out)]
        procs.append((out, subprocess.Popen([*args, str(race)], env=env, stderr=subprocess.PIPE)))
    reports = []
    for out, proc in procs:
        _, stderr = proc.communicate(timeout=seconds + 120)
        assert out.exists(), f"worker died without a report (exit {proc.returncode}): {stderr!r}"
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["error"] is None, f"worker {report['worker']} failed:\n{report['error']}"
        assert proc.returncode == 0, stderr
        reports.append(report)
    return reports


def store_rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(home / "prakerja.db")) as conn:
        return list(conn.execute(sql))


def check_store(home: Path, reported: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> int:
    """The store holds exactly what the workers reported, numbered and audited; returns the count."""
    rows = store_rows(home, "SELECT id, nik, registration_number, status, desk FROM applicants")
    by_id = {r[0]: r for r in rows}
    ids = Counter(r["id"] for r in reported)
    assert not [i for i, n in ids.items() if n > 1], "one record reported twice"
    missing = [r for r in reported if r["id"] not in by_id]
    assert not missing, f"{len(missing)} reported records are not in the store: {missing[:3]}"
    assert len(rows) == len(reported), f"store has {len(rows)}, workers stored {len(reported)}"
    for r in reported:
        stored = by_id[r["id"]]
        assert (stored[1], stored[2]) == (r["nik"], r["number"])
    live = Counter(r[1] for r in rows if r[3] != "withdrawn")
    assert not [n for n, c in live.items() if c > 1], "a NIK is live twice"
    numbers = [r[2] for r in rows]
    assert len(set(numbers)) == len(numbers), "a registration number was given twice"
    assert {r[4] for r in rows} == {"D01"}
    sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequence == list(range(1, len(rows) + 1)), "registration numbers have gaps"
    counter = store_rows(home, "SELECT value FROM counters WHERE name LIKE 'registration:%'")
    assert counter == [(len(rows),)]
    creates = store_rows(home, "SELECT applicant_id FROM audit WHERE action = 'create'")
    assert Counter(c[0] for c in creates) == Counter(list(by_id)), "not one create per record"
    monkeypatch.setenv("PRAKERJA_HOME", str(home))
    verify = invoke(["audit", "verify", "--json"])
    assert verify.exit_code == 0, verify.stdout + verify.stderr
    assert verify.json()["intact"] is True
    with closing(sqlite3.connect(home / "prakerja.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return len(rows)


@pytest.mark.skipif(sys.platform == "win32", reason="four interpreters in 30 s: POSIX CI only")
def test_four_desks_register_at_once_for_30_seconds(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = run_workers(office, tmp_path, seconds=DURATION)
    stored = [r for rep in reports for r in rep["results"] if r["stored"]]
    refused = [r for rep in reports for r in rep["results"] if not r["stored"]]
    assert not refused, f"distinct applicants were refused: {refused[:3]}"
    per_worker = [sum(r["stored"] for r in rep["results"]) for rep in reports]
    total = check_store(office, stored, monkeypatch)
    print(f"\nconcurrency: {total} records stored in {DURATION:.0f} s by 4 processes {per_worker}")
    assert all(n > 0 for n in per_worker), per_worker
    assert total >= 100, f"only {total} records in {DURATION} s"


@pytest.mark.skipif(sys.platform == "win32", reason="four interpreters at once: POSIX CI only")
def test_four_desks_race_for_the_same_niks(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = run_workers(office, tmp_path, seconds=1.0, race=RACE_NIKS)
    shared = [r for rep in reports for r in rep["results"] if r.get("shared")]
    assert len(shared) == WORKERS * RACE_NIKS
    winners = Counter(r["nik"] for r in shared if r["stored"])
    assert len(winners) == RACE_NIKS and set(winners.values()) == {1}, winners
    losers = [r for r in shared if not r["stored"]]
    assert len(losers) == (WORKERS - 1) * RACE_NIKS
    assert all(r["codes"] == ["NIK_DUPLICATE"] for r in losers), losers[:3]
    wins_per_worker = [
        sum(r["stored"] for r in rep["results"] if r.get("shared")) for rep in reports
    ]
    own = [r for rep in reports for r in rep["results"] if not r.get("shared")]
    assert all(r["stored"] for r in own), [r for r in own if not r["stored"]][:3]
    total = check_store(office, [r for r in shared + own if r["stored"]], monkeypatch)
    print(
        f"\nrace: {RACE_NIKS} NIKs x 4 processes -> each stored once (wins per process "
        f"{wins_per_worker}), {len(losers)} NIK_DUPLICATE; {total} records in the store"
    )
