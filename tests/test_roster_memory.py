"""A roster import's memory is bounded by the largest file a desk takes: roster/bounds.py MAX_CELLS
(4M cells, e.g. 266k rows x 15 columns; a 1M-row roster of the usual 15-17 columns is refused
before it is read). The peak grows linearly with the cells; measured here on two small files in a
child process, projected to MAX_CELLS, it must stay under the ceiling docs/performance.md states.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.roster.bounds import MAX_CELLS
from tests.conftest import invoke
from tests.rosters import HEADERS, person, write_csv

#: The most memory an import of the largest roster a desk takes may need (docs/performance.md).
CEILING_BYTES = 1536 << 20


#: Runs the CLI in the child and writes its own VmHWM at exit. ru_maxrss from wait4 is no use:
#: Linux carries the forking parent's high-water mark across exec, so a big pytest process hides
#: the import's own peak.
_CHILD = """
import atexit, runpy, sys
from pathlib import Path
out = Path(sys.argv[1])
def _hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out.write_text(line.split()[1])
atexit.register(_hwm)
sys.argv = ["prakerja", *sys.argv[2:]]
runpy.run_module("prakerja_cli", run_name="__main__")
"""


def _peak_rss(home: Path, roster: Path) -> int:
    """Peak resident memory (bytes) of `prakerja roster import` run in a child process."""
    env = {**os.environ, "PRAKERJA_HOME": str(home), "PRAKERJA_LANG": "en"}
    out = home / "hwm.txt"
    argv = [sys.executable, "-c", _CHILD, str(out), "roster", "import", str(roster), "--json"]
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return int(out.read_text()) * 1024  # kB


def _applicant(i: int) -> dict[str, object]:
    """person(i) with a NIK serial that stays four digits: born and gender repeat every 420."""
    born, gender = date(1980 + i % 20, 1 + i % 12, 1 + i % 28), "P" if i % 2 == 0 else "L"
    nik = synthetic_nik("327301", born, gender, 1 + i // 420)
    return person(i, NIK=nik, **{"No. KK": f"3273010101{i:06d}"})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss of a child: Linux")
def test_peak_memory_projected_to_the_largest_roster_stays_under_the_ceiling(
    office: Path, tmp_path: Path
) -> None:
    sizes = (20_000, 36_000)  # below ~15k rows a fixed start-up peak (~120 MB) hides the rows
    peaks = []
    for count in sizes:
        roster = write_csv(tmp_path / f"r{count}.csv", [_applicant(i) for i in range(count)])
        home = shutil.copytree(office, tmp_path / f"home{count}")  # a fresh office each
        peaks.append(_peak_rss(home, roster))
    cells = [count * len(HEADERS) for count in sizes]
    per_cell = (peaks[1] - peaks[0]) / (cells[1] - cells[0])
    projected = peaks[0] + per_cell * (MAX_CELLS - cells[0])
    print(f"peaks {[p >> 20 for p in peaks]} MB, {per_cell:.0f} B/cell, {projected / 2**20:.0f} MB")
    assert per_cell > 0
    assert projected <= CEILING_BYTES, (
        f"{per_cell:.0f} B per cell: {projected / 2**20:.0f} MB at {MAX_CELLS:,} cells"
    )


def test_a_roster_over_the_cell_limit_is_refused_before_it_is_held(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prakerja_cli.roster.read as read

    monkeypatch.setattr(read, "MAX_CELLS", 10 * len(HEADERS))
    roster = write_csv(tmp_path / "big.csv", [person(i) for i in range(30)])
    run = invoke(["roster", "import", str(roster), "--json"])
    assert run.exit_code == 2  # refused while it is read: 30 rows, none stored
    assert "170" in run.stderr  # the limit it names
