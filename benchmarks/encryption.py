"""What encryption at rest costs: the same work on a plain desk and an encrypted one, side by side.

Issue 14: the roster import on an encrypted store stays within 1.2x of the plain one. Also timed:
one `register` (start-up, opening the store with its key, one write) and `applicants list` (a
read). The encrypted desk keeps its key in a key file (no OS keyring here); a keyring adds its own
import (~70 ms with `keyring` on Linux) to each command on top.

    python benchmarks/encryption.py                  # 20,000-row csv roster, 3 rounds
    python benchmarks/encryption.py --rows 100000 --rounds 3

Each round makes two fresh desks and runs the steps alternately on each, so both sides see the
same machine load. Prints the medians and the ratios; exit status 0 when the import is within the
target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from roster_import import generate, write_csv

from prakerja_cli.demo import synthetic_nik

TARGET = 1.2
INIT = ["init", "--office-code", "3273", "--office-name", "Disnaker Kota Bandung", "--desk",
        "D01", "--operator", "Bench", "--rules", "normal-2023", "--no-input"]  # fmt: skip


def _run(args: Sequence[str], env: dict[str, str], stdin: str | None = None) -> float:
    argv = [sys.executable, "-m", "prakerja_cli", *args]
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 3):  # 3: an import that stored rows and refused some
        raise SystemExit(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-400:]}")
    return seconds


def _desk(root: Path, name: str, encrypted: bool) -> dict[str, str]:
    env = {**os.environ, "PRAKERJA_HOME": str(root / name), "PRAKERJA_LANG": "en",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}  # fmt: skip
    env.pop("PRAKERJA_KEY_FILE", None)
    _run([*INIT, "--no-encrypt"], env)
    if encrypted:
        _run(["encrypt", "--key-file", str(root / f"{name}.key")], env)
    return env


def _register(i: int) -> list[str]:
    from datetime import date

    nik = synthetic_nik("327301", date(1991, 3, 1 + i % 28), "P", 9500 + i)
    return ["register", "--nik", nik, "--kk", f"32730101019{i:05d}", "--name", "Ayu Lestari",
            "--birth-date", f"1991-03-{1 + i % 28:02d}", "--gender", "P", "--phone",
            "0812-3456-7890", "--address", "Jl. Riau 5", "--village", "Gegerkalong",
            "--district", "Sukasari", "--education", "SMA", "--employment", "KORBAN_PHK",
            "--not-in-school", "--yes"]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--registers", type=int, default=5, help="register runs per round")
    args = parser.parse_args(argv)
    times: dict[tuple[str, bool], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="prakerja-enc-bench-") as tmp:
        root = Path(tmp)
        roster = root / "roster.csv"
        write_csv(generate(args.rows, 20261205), roster)
        for r in range(args.rounds):
            desks = {flag: _desk(root, f"r{r}-{'enc' if flag else 'plain'}", flag)
                     for flag in (False, True)}  # fmt: skip
            order = (False, True) if r % 2 == 0 else (True, False)
            for flag in order:
                times.setdefault(("import", flag), []).append(
                    _run(["roster", "import", str(roster), "--json"], desks[flag])
                )
            for i in range(args.registers):
                for flag in order:
                    times.setdefault(("register", flag), []).append(
                        _run(_register(r * 100 + i), desks[flag])
                    )
                    times.setdefault(("list", flag), []).append(
                        _run(["applicants", "list", "--limit", "50"], desks[flag])
                    )
            for name in desks:
                shutil.rmtree(root / f"r{r}-{'enc' if name else 'plain'}", ignore_errors=True)
    print(f"rows {args.rows:,}, rounds {args.rounds}, load {os.getloadavg()[0]:.2f}")
    print(f"{'step':<10} {'plain s':>9} {'encrypted s':>12} {'ratio':>7}")
    ratios = {}
    for step in ("import", "register", "list"):
        plain = statistics.median(times[(step, False)])
        enc = statistics.median(times[(step, True)])
        ratios[step] = enc / plain
        print(f"{step:<10} {plain:>9.3f} {enc:>12.3f} {enc / plain:>6.2f}x")
    verdict = "PASS" if ratios["import"] <= TARGET else "FAIL"
    print(
        f"import on an encrypted store {ratios['import']:.2f}x plain (target <= {TARGET}x): {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
