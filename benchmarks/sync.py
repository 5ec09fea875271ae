"""Sync benchmark: N records to the reference central server on loopback, batched and gzipped by
`prakerja sync`, against a baseline client that posts one record per request (no gzip).

    python benchmarks/sync.py [--records 100000] [--baseline-records 10000]

The baseline is timed on a sample (one request per record is slow by design; at ~600 rec/s the
full 100k would take minutes) and compared by records per second. Targets: >= 20x fewer requests,
>= 5x faster, gzip body <= 35 % of the raw JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from centralserver import TOKEN, central
from roster_import import generate, write_csv

INIT = ["init", "--office-code", "3273", "--office-name", "Bench", "--desk", "D01", "--operator", "B",
        "--no-input"]  # fmt: skip


def prakerja(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prakerja_cli", *args],
        env={**os.environ, "PRAKERJA_HOME": str(home), **(env or {})},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def make_office(home: Path, records: int, seed: int) -> int:
    assert prakerja(home, *INIT).returncode == 0
    roster = generate(records, seed)
    path = home / "roster.csv"
    write_csv(roster, path)
    done = prakerja(home, "roster", "import", str(path), "--json")
    return int(json.loads(done.stdout)["stored"])


def baseline(url: str, home: Path, sample: int) -> tuple[float, int, int]:
    """Post `sample` records one per request, uncompressed, as a naive client would."""
    with sqlite3.connect(home / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM applicants LIMIT ?", [sample]).fetchall()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from prakerja_cli.sync.outbox import content_hash, record_of

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    sent_bytes = 0
    started = time.perf_counter()
    for row in rows:
        record = record_of(dict(row))
        # A different client_id than the office's own records, so both runs register for real.
        item = {
            "client_id": str(uuid.uuid4()),
            "content_hash": content_hash(record),
            "record": record,
        }
        body = json.dumps({"office_code": "3273", "records": [item]}).encode()
        sent_bytes += len(body)
        response = session.post(f"{url}/v1/registrations/batches", data=body,
                                headers={"Idempotency-Key": str(uuid.uuid4()),
                                         "Content-Type": "application/json"}, timeout=30)  # fmt: skip
        response.raise_for_status()
    return time.perf_counter() - started, len(rows), sent_bytes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--baseline-records", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="prakerja-sync-bench-"))
    office, other = work / "office", work / "baseline-office"
    print(f"preparing {args.records} records (roster import, not timed) in {work}")
    stored = make_office(office, args.records, args.seed)
    # The baseline posts the same kind of records into its own central server, so neither run
    # meets the other's NIKs.
    make_office(other, args.baseline_records, args.seed + 1)
    env = {"PRAKERJA_API_TOKEN": TOKEN}
    with central(work / "central") as url:
        env["PRAKERJA_API_URL"] = url
        started = time.perf_counter()
        done = prakerja(office, "sync", "--json", "--batch-size", str(args.batch_size), env=env)
        batched_seconds = time.perf_counter() - started
        summary = json.loads(done.stdout)
    with sqlite3.connect(office / "prakerja.db") as conn:
        raw = conn.execute("SELECT sum(length(body)), count(*) FROM outbox_batches").fetchone()
    with central(work / "central-baseline") as url:
        base_seconds, base_records, base_bytes = baseline(url, other, args.baseline_records)
    batched_rate = summary["accepted"] / batched_seconds
    base_rate = base_records / base_seconds
    base_requests = stored  # one per record
    print(f"\nrecords stored locally        {stored}")
    print(f"prakerja sync (batches of {args.batch_size}): {batched_seconds:8.2f} s  "
          f"{batched_rate:9.0f} rec/s  requests {summary['requests']}  accepted {summary['accepted']}")  # fmt: skip
    print(f"baseline, 1 record/request:   {base_seconds:8.2f} s  {base_rate:9.0f} rec/s  "
          f"on a sample of {base_records} (requests for all {stored}: {base_requests})")  # fmt: skip
    raw_bytes, _batches = raw
    print(f"bytes/record: raw JSON {raw_bytes / stored:.0f}, gzip {summary['bytes_sent'] / stored:.0f}, "
          f"baseline {base_bytes / base_records:.0f}")  # fmt: skip
    fewer = base_requests / summary["requests"]
    faster = batched_rate / base_rate
    ratio = summary["bytes_sent"] / raw_bytes
    checks = [
        (f"requests: {fewer:.0f}x fewer", fewer >= 20),
        (f"speed: {faster:.1f}x faster", faster >= 5),
        (f"gzip body: {ratio:.1%} of raw JSON", ratio <= 0.35),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
