"""USB bundle benchmark: records per second through the USB routine (docs/office.md), each step
a real `prakerja` process, as a clerk runs it.

    python benchmarks/bundle.py [--records 20000]

Steps timed: the desk's `bundle export` (outbox batches written, sealed), the hub's
`bundle import` (every batch through the hub's intake), the hub's `bundle export --for-desk`
(every answer), the desk's `bundle import` (every answer applied); and the bundle sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from roster_import import generate, write_csv

from tests.hubprocs import cli

INIT = ["init", "--office-code", "3273", "--office-name", "Bench", "--desk", "D01", "--operator",
        "B", "--no-input"]  # fmt: skip


def timed(home: Path, *args: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = cli(home, *args, "--json", timeout=3600)
    seconds = time.perf_counter() - started
    assert done.code == 0, done.stdout + done.stderr
    return seconds, dict(json.loads(done.stdout))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="prakerja-bundle-bench-"))
    desk, hub, usb = work / "desk", work / "hub", work / "usb"
    usb.mkdir()
    print(f"preparing {args.records} records (roster import, not timed) in {work}")
    assert cli(desk, *INIT).code == 0
    roster = work / "roster.csv"
    write_csv(generate(args.records, args.seed), roster)
    stored = int(
        cli(desk, "roster", "import", str(roster), "--json", timeout=3600).json()["stored"]
    )
    assert cli(hub, *INIT[:5], "--desk", "D00", "--operator", "Supervisor", "--no-input").code == 0
    assert cli(desk, "bundle", "key", str(usb)).code == 0
    assert (
        cli(hub, "hub", "enrol", "D01", "--desk-key", str(usb / "3273-D01.prakerja-key")).code == 0
    )
    assert cli(desk, "bundle", "trust", str(usb / "3273-D00.prakerja-key")).code == 0
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    out_s, out = timed(desk, "bundle", "export", str(usb / "d01.prakerja-bundle"))
    in_s, taken = timed(hub, "bundle", "import", str(usb / "d01.prakerja-bundle"))
    back_s, sent_back = timed(hub, "bundle", "export", "--for-desk", "D01",
                         str(usb / "r01.prakerja-bundle"))  # fmt: skip
    home_s, applied = timed(desk, "bundle", "import", str(usb / "r01.prakerja-bundle"))
    sizes = {name: (usb / name).stat().st_size for name in ("d01.prakerja-bundle",
                                                            "r01.prakerja-bundle")}  # fmt: skip
    print(f"\nload average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"records {stored}; desk bundle {sizes['d01.prakerja-bundle'] / 1e6:.1f} MB, "
          f"hub bundle {sizes['r01.prakerja-bundle'] / 1e6:.2f} MB")  # fmt: skip
    rows = (("desk: bundle export", out_s), ("hub: bundle import", in_s),
            ("hub: bundle export --for-desk", back_s), ("desk: bundle import", home_s))  # fmt: skip
    for title, seconds in rows:
        print(f"{title:30} {seconds:8.2f} s  {stored / seconds:9.0f} rec/s")
    outcomes = taken["outcomes"]
    assert isinstance(outcomes, dict)
    ok = out["records"] == stored and outcomes.get("accepted") == stored
    ok = ok and applied["answers"] == out["batches"] == sent_back["answers"]
    print(f"{'PASS' if ok else 'FAIL'}  every record accepted once and every answer applied")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
