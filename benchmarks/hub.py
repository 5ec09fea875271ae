"""Office hub benchmark: records per second through the hub (docs/office.md), side by side with
the same desk syncing straight to the reference central server, all on loopback.

    python benchmarks/hub.py [--records 20000] [--batch-size 500]

Three timed runs over copies of one desk store (same records): (a) desk -> central directly,
(b) desk -> hub (`prakerja sync` against `prakerja hub serve`), (c) hub -> central (the hub's own
`prakerja sync`, forwarding). Through the hub a record costs (b) + (c); (b) is what a clerk's sync
waits for. Then the hub's office-wide possible-duplicate check (hub/store.py near_duplicate) is
timed on its own, in this process, against the hub's store as (b) left it: a record of another
desk (D02) born on a stored record's day in its kecamatan, its name one letter off.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from roster_import import generate, write_csv

from tests.centralserver import TOKEN, central
from tests.hubprocs import cli, hub_serving

INIT = ["init", "--office-code", "3273", "--office-name", "Bench", "--desk", "D01", "--operator",
        "B", "--no-input"]  # fmt: skip


def timed_sync(home: Path, batch_size: int) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = cli(home, "sync", "--json", "--batch-size", str(batch_size), timeout=3600)
    seconds = time.perf_counter() - started
    assert done.code == 0, done.stderr
    return seconds, dict(json.loads(done.stdout))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="prakerja-hub-bench-"))
    desk = work / "desk"
    print(f"preparing {args.records} records (roster import, not timed) in {work}")
    assert cli(desk, *INIT).code == 0
    roster = work / "roster.csv"
    write_csv(generate(args.records, args.seed), roster)
    stored = int(
        cli(desk, "roster", "import", str(roster), "--json", timeout=3600).json()["stored"]
    )
    direct, via_hub, hub = work / "direct", work / "via-hub", work / "hub"
    shutil.copytree(desk, direct)
    shutil.copytree(desk, via_hub)
    # The hub: another PC of the same office (desk D00), with no records of its own.
    assert cli(hub, *INIT[:5], "--desk", "D00", "--operator", "Supervisor", "--no-input").code == 0
    token = cli(hub, "hub", "enrol", "D01", "--json").json()["token"]
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    with central(work / "central-direct") as url:
        for key, value in (("api_url", url), ("api_token", TOKEN)):
            assert cli(direct, "config", "set", key, value).code == 0
        direct_s, direct_sum = timed_sync(direct, args.batch_size)
    with central(work / "central-hub") as url:
        for key, value in (("api_url", url), ("api_token", TOKEN)):
            assert cli(hub, "config", "set", key, value).code == 0
        with hub_serving(hub) as served:
            for key, value in (("api_url", served.url), ("api_token", token)):
                assert cli(via_hub, "config", "set", key, value).code == 0
            to_hub_s, to_hub_sum = timed_sync(via_hub, args.batch_size)
        forward_s, forward_sum = timed_sync(hub, args.batch_size)
    check_s, found, tried = hub_check(hub, args.seed)
    print(f"\nload average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"records {stored}, batches of {args.batch_size}")
    rows = (
        ("desk -> central (direct)", direct_s, direct_sum["accepted"]),
        ("desk -> hub", to_hub_s, to_hub_sum["accepted"]),
        ("hub -> central (forward)", forward_s, forward_sum["accepted"]),
        ("desk -> hub -> central", to_hub_s + forward_s, forward_sum["accepted"]),
    )
    for title, seconds, accepted in rows:
        print(f"{title:26} {seconds:8.2f} s  {int(str(accepted)) / seconds:9.0f} rec/s  "
              f"accepted {accepted}")  # fmt: skip
    print(f"{'hub possible-duplicate check':26} {check_s * 1000:8.3f} ms per record "
          f"({found} of {tried} records of desk D02 warned)")  # fmt: skip
    ok = direct_sum["accepted"] == to_hub_sum["accepted"] == forward_sum["accepted"] == stored
    print(f"{'PASS' if ok else 'FAIL'}  every record accepted once on each path")
    return 0 if ok else 1


def hub_check(hub: Path, seed: int, records: int = 2000) -> tuple[float, int, int]:
    """Mean seconds of the hub's check per record of another desk, the warnings found, and the
    records tried."""
    import uuid

    from prakerja_cli.hub.store import near_duplicate
    from prakerja_cli.store.db import open_db

    db = open_db(hub / "prakerja.db")
    rng = random.Random(seed)
    count = int(db.execute("SELECT max(rowid) FROM applicants").fetchone()[0])
    sent = []
    for _ in range(records):
        row = db.execute(
            "SELECT name, birth_date, district FROM applicants WHERE rowid = ?",
            [rng.randrange(1, count + 1)],
        ).fetchone()
        if row is not None:
            sent.append({"nik": "3273010000000000", "name": row[0][:-1] + "X",
                         "kk": "3273019999999999", "birth_date": row[1], "district": row[2],
                         "registration_number": "3273-D02-000001", "desk": "D02"})  # fmt: skip
    ids = [str(uuid.uuid4()) for _ in sent]
    began = time.perf_counter()
    found = sum(
        near_duplicate(db, "3273", "D02", record, cid) is not None
        for record, cid in zip(sent, ids, strict=True)
    )
    elapsed = time.perf_counter() - began
    db.conn.close()
    return elapsed / len(sent), found, len(sent)


if __name__ == "__main__":
    raise SystemExit(main())
