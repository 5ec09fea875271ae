"""Sync benchmark: N records to the reference central server on loopback, batched and gzipped by
`prakerja sync`, against a baseline client that posts one record per request (no gzip).

    python benchmarks/sync.py [--records 100000] [--baseline-records 10000] [--ratio-records 20000]

The baseline is timed on a sample (one request per record is slow by design; at ~600 rec/s the
full 100k would take minutes) and compared by records per second. Targets: >= 20x fewer requests,
>= 5x faster, gzip body <= 35 % of the raw JSON.

Then the floor: `--ratio-records` records (20k) synced by `prakerja sync` against the same records
sent by a bare client (read from the store, JSON, gzip, 1000 per batch, one keep-alive session) to
a bare server over loopback (stdlib http.server in its own process: gunzip, json, one INSERT per
record in one transaction per batch, WAL with synchronous=FULL like the reference server), side by
side, `--repeat` times alternating (median). Target: sync within 3x of the bare POST.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from prakerja_cli.store.engine import dbapi as sqlite3

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


BARE_SERVER = r"""
import gzip, json, sqlite3, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

conn = sqlite3.connect(sys.argv[1], isolation_level=None, check_same_thread=False)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = FULL")
conn.execute("CREATE TABLE IF NOT EXISTS records (client_id TEXT PRIMARY KEY, content_hash TEXT, "
             "nik TEXT, record TEXT)")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        items = json.loads(gzip.decompress(body))["records"]
        conn.execute("BEGIN IMMEDIATE")
        for item in items:  # one insert per record
            conn.execute("INSERT INTO records VALUES (?, ?, ?, ?)", (item["client_id"],
                         item["content_hash"], item["record"]["nik"], json.dumps(item["record"])))
        conn.execute("COMMIT")
        out = json.dumps({"results": [{"client_id": i["client_id"], "outcome": "accepted"}
                                      for i in items]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def bare_post(home: Path, data_dir: Path, batch_size: int) -> tuple[float, int]:
    """The floor: the office's records posted by a bare client to a bare server (see the module
    docstring); returns seconds (reading the store to the last answer) and records stored."""
    from prakerja_cli.sync.outbox import RECORD_FIELDS, content_hash, record_of

    data_dir.mkdir(parents=True)
    server = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(data_dir / "bare.sqlite3")],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/batches"
        session = requests.Session()
        started = time.perf_counter()
        with sqlite3.connect(home / "prakerja.db") as conn:
            conn.row_factory = sqlite3.Row
            columns = ", ".join(("id", "created_at", *RECORD_FIELDS))
            rows = conn.execute(f"SELECT {columns} FROM applicants").fetchall()
        for start in range(0, len(rows), batch_size):
            items = []
            for row in rows[start : start + batch_size]:
                record = record_of(row)
                items.append({"client_id": row["id"], "content_hash": content_hash(record),
                              "record": record})  # fmt: skip
            body = json.dumps({"office_code": "3273", "records": items}).encode()
            response = session.post(url, data=gzip.compress(body, compresslevel=6),
                                    headers={"Content-Encoding": "gzip"}, timeout=60)  # fmt: skip
            response.raise_for_status()
            assert len(response.json()["results"]) == len(items)
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()
    with sqlite3.connect(data_dir / "bare.sqlite3") as conn:
        stored = int(conn.execute("SELECT count(*) FROM records").fetchone()[0])
    return seconds, stored


def sync_once(home: Path, data_dir: Path, batch_size: int) -> tuple[float, dict[str, Any]]:
    with central(data_dir) as url:
        env = {"PRAKERJA_API_TOKEN": TOKEN, "PRAKERJA_API_URL": url}
        started = time.perf_counter()
        done = prakerja(home, "sync", "--json", "--batch-size", str(batch_size), env=env)
        seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    return seconds, json.loads(done.stdout)


def floor_ratio(work: Path, records: int, seed: int, batch_size: int, repeat: int) -> bool:
    """Sync against the bare batched POST of the same records, alternating, median of `repeat`."""
    template = work / "ratio-office"
    stored = make_office(template, records, seed + 2)
    syncs, bares = [], []
    for run in range(repeat):
        home = work / f"ratio-sync-{run}"
        shutil.copytree(template, home)
        seconds, summary = sync_once(home, work / f"ratio-central-{run}", batch_size)
        assert summary["accepted"] == stored, summary
        syncs.append(seconds)
        bare_seconds, bare_stored = bare_post(template, work / f"ratio-bare-{run}", batch_size)
        assert bare_stored == stored
        bares.append(bare_seconds)
    sync_s, bare_s = statistics.median(syncs), statistics.median(bares)
    ratio = sync_s / bare_s
    print(f"\n{stored} records, median of {repeat} (load average {os.getloadavg()[0]:.2f}):")
    print(f"prakerja sync (whole command):   {sync_s:6.2f} s  {stored / sync_s:8.0f} rec/s  "
          f"runs {' '.join(f'{s:.2f}' for s in syncs)}")  # fmt: skip
    print(f"bare batched POST into SQLite:   {bare_s:6.2f} s  {stored / bare_s:8.0f} rec/s  "
          f"runs {' '.join(f'{s:.2f}' for s in bares)}")  # fmt: skip
    ok = ratio <= 3.0
    print(f"{'PASS' if ok else 'FAIL'}  sync / bare batched POST: {ratio:.2f}x (target <= 3x)")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--baseline-records", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--ratio-records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
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
    floor_ok = floor_ratio(work, args.ratio_records, args.seed, args.batch_size, args.repeat)
    print(f"\n{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()}")  # fmt: skip
    return 0 if all(ok for _, ok in checks) and floor_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
