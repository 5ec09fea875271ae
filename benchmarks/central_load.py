"""Load on the reference central server: many desks sending at once, on PostgreSQL and on SQLite.

    python benchmarks/central_load.py [--records 80000] [--desks 500] [--engine both]

Each desk is a keep-alive connection that sends its own records in small batches (1-20
records) as fast as the server answers. The server drops some answers after committing
(--drop-rate) and refuses some requests with 503 (--error-rate): the desk sends the same batch
again with the same Idempotency-Key, as `prakerja sync` does. Some desks also send a batch again
under a new key after its answer (a desk restarted mid-sync): each record must get its first
result back. At the end: registrations == distinct NIKs == records sent, every record accepted
exactly once with one central id, and the status feed holds two events per registration.

Target (issue 15): 80,000 registrations in <= 60 s on PostgreSQL on this machine; the SQLite
figure beside it. Loopback only; every run is bounded in records (at most 500,000) and in time
(--deadline, after which the desks stop and the figure is reported as not reached).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from prakerja_cli.central.launch import running_server, throwaway_postgres
from prakerja_cli.demo import synthetic_nik

TOKEN = "load-token"
OFFICE = "3273"
MAX_RECORDS = 500_000


def make_records(count: int) -> list[dict[str, Any]]:
    """`count` valid records with distinct NIKs (district 3273.01, birth dates over ~8 years)."""
    records = []
    first = date(1975, 1, 1)
    for n in range(count):
        born = first + timedelta(days=n // 30)
        nik = synthetic_nik("327301", born, "L", n % 30 + 1)
        records.append(
            {
                "registration_number": f"{OFFICE}-D{n % 500:03d}-{n:07d}",
                "nik": nik,
                "kk": f"3273010101{n % 1_000_000:06d}",
                "name": f"Peserta Beban {n}",
                "birth_place": "Bandung",
                "birth_date": born.isoformat(),
                "gender": "L",
                "phone": "+6281234567890",
                "email": None,
                "address": "Jl. Setiabudi 12",
                "rt": "003",
                "rw": "007",
                "village": "Gegerkalong",
                "district": "Sukasari",
                "regency": "Kota Bandung",
                "province": "Jawa Barat",
                "education": "SMA",
                "employment": "KORBAN_PHK",
                "occupation": None,
                "in_school": False,
                "social_assistance": False,
                "priority": "normal",
                "training": None,
                "desk": f"D{n % 500:03d}",
                "operator": "Beban",
                "registered_at": "2026-11-01T09:00:00+07:00",
            }
        )
    return records


@dataclass
class Batch:
    items: list[dict[str, Any]]
    body: bytes
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: sent again under a new key after its answer (never resent twice)
    resend: bool = False


def make_batches(
    records: list[dict[str, Any]], desks: int, rng: random.Random
) -> list[list[Batch]]:
    """Each desk's batches, 1-20 records each, bodies built before the clock starts."""
    per_desk: list[list[dict[str, Any]]] = [[] for _ in range(desks)]
    for n, record in enumerate(records):
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        entry = {
            "client_id": str(uuid.uuid4()),
            "content_hash": hashlib.sha256(canonical).hexdigest(),
            "record": record,
        }
        per_desk[n % desks].append(entry)
    plans = []
    for entries in per_desk:
        batches, start = [], 0
        while start < len(entries):
            size = rng.randint(1, 20)
            items = entries[start : start + size]
            body = json.dumps({"office_code": OFFICE, "records": items}).encode()
            batches.append(Batch(items, body))
            start += size
        plans.append(batches)
    return plans


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    requests: int = 0
    dropped: int = 0
    refused: int = 0
    resent: int = 0
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    mismatched: list[str] = field(default_factory=list)
    unanswered: int = 0


class Desk:
    """One desk's keep-alive connection, plain HTTP/1.1 over asyncio streams (a client library
    would spend more of the machine's two cores than the server it measures)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post(self, body: bytes, key: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST /v1/registrations/batches HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nIdempotency-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length, closing = 0, False
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                closing = True
        answer = await self.reader.readexactly(length)
        if closing:
            await self.close()
        return status, answer


async def run_desk(
    host: str, port: int, batches: list[Batch], tally: Tally, rng: random.Random,
    resend_rate: float, deadline: float,
) -> None:  # fmt: skip
    desk = Desk(host, port)
    queue = list(batches)
    try:
        while queue:
            batch = queue.pop(0)
            started = time.monotonic()
            while True:
                if time.monotonic() > deadline:
                    tally.unanswered += len(batch.items)
                    return
                tally.requests += 1
                try:
                    status, answer = await desk.post(batch.body, batch.key)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    # Dropped after the commit (or never reached): the same batch, same key.
                    tally.dropped += 1
                    await desk.close()
                    continue
                if status in (429, 503):
                    tally.refused += 1
                    await asyncio.sleep(rng.uniform(0.05, 0.2))
                    continue
                if status != 200:
                    raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")
                break
            tally.latencies.append(time.monotonic() - started)
            for entry, result in zip(batch.items, json.loads(answer)["results"], strict=True):
                earlier = tally.results.setdefault(entry["client_id"], result)
                if earlier != result:
                    tally.mismatched.append(entry["client_id"])
            if not batch.resend and rng.random() < resend_rate:
                # The desk restarted and sends these records again in a new batch.
                tally.resent += len(batch.items)
                queue.append(Batch(batch.items, batch.body, resend=True))
    finally:
        await desk.close()


async def load(
    url: str, plans: list[list[Batch]], seed: int, resend_rate: float, deadline_s: float
) -> tuple[Tally, float]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    tally = Tally()
    deadline = time.monotonic() + deadline_s
    started = time.perf_counter()
    await asyncio.gather(
        *(
            run_desk(host, int(port), batches, tally, random.Random(seed + n), resend_rate,
                     deadline)
            for n, batches in enumerate(plans)
        )
    )  # fmt: skip
    return tally, time.perf_counter() - started


def central_stats(data_dir: Path, database: str | None) -> dict[str, Any]:
    where = ["--database", database] if database else []
    done = subprocess.run(
        [sys.executable, "-m", "prakerja_cli", "central", "stats", "--data-dir", str(data_dir),
         *where, "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def feed_events(url: str) -> int:
    """Events in the whole status feed, read page by page (the faults apply here too: a 503 or a
    dropped answer is asked again)."""
    import requests

    total, cursor = 0, 0
    for _ in range(100_000):
        try:
            answer = requests.get(
                f"{url}/v1/status", params={"cursor": cursor, "limit": 1000},
                headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60,
            )  # fmt: skip
        except requests.RequestException:
            continue
        if answer.status_code != 200:
            continue
        page = answer.json()
        total += len(page["events"])
        if not page["events"]:
            return total
        cursor = page["next_cursor"]
    raise RuntimeError("the status feed never ended")


def run_engine(
    engine: str, args: argparse.Namespace, records: list[dict[str, Any]]
) -> dict[str, Any]:
    plans = make_batches(records, args.desks, random.Random(args.seed))
    faults = ["--drop-rate", str(args.drop_rate), "--error-rate", str(args.error_rate),
              "--retry-after", "0", "--fault-seed", str(args.seed)]  # fmt: skip
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="central-load-")))
        database = None
        options = [*faults]
        if engine == "postgresql":
            database = stack.enter_context(throwaway_postgres(durable=True))
            options += ["--database", database, "--workers", str(args.workers),
                        "--pool-size", str(args.pool_size)]  # fmt: skip
        url = stack.enter_context(running_server(data_dir, TOKEN, *options, office=OFFICE))
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        tally, elapsed = asyncio.run(load(url, plans, args.seed, args.resend_rate, args.deadline))
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        events = feed_events(url)
        counts = central_stats(data_dir, database)
    accepted = [r for r in tally.results.values() if r["outcome"] == "accepted"]
    ids = {r["central_id"] for r in accepted}
    lat = sorted(tally.latencies)
    sent = len(records) - tally.unanswered
    ok = (
        tally.unanswered == 0
        and counts["registrations"] == counts["distinct_nik"] == len(records)
        and len(accepted) == len(ids) == len(records)
        and not tally.mismatched
        and events == 2 * len(records)
    )
    return {
        "engine": engine,
        "records": len(records),
        "seconds": round(elapsed, 2),
        "records_per_minute": round(sent / elapsed * 60),
        "batches": sum(len(p) for p in plans),
        "requests": tally.requests,
        "dropped_answers_resent": tally.dropped,
        "refused_retried": tally.refused,
        "records_resent_new_key": tally.resent,
        "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1) if lat else None,
        "registrations": counts["registrations"],
        "distinct_nik": counts["distinct_nik"],
        "accepted_once": len(ids),
        "events": events,
        "replays_differing": len(tally.mismatched),
        "unanswered": tally.unanswered,
        "nothing_lost_or_doubled": ok,
        "load_average": f"{load_before:.2f} -> {load_after:.2f}",
        "workers": args.workers if engine == "postgresql" else 1,
    }


def versions() -> str:
    import psycopg
    import uvicorn

    parts = [f"Python {platform.python_version()}", f"uvicorn {uvicorn.__version__}",
             f"psycopg {psycopg.__version__}"]  # fmt: skip
    try:
        import sqlite3

        parts.append(f"SQLite {sqlite3.sqlite_version}")
    except ImportError:
        pass
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=80_000)
    parser.add_argument("--desks", type=int, default=500)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="server processes on PostgreSQL")
    parser.add_argument("--pool-size", type=int, default=8)
    parser.add_argument("--drop-rate", type=float, default=0.01)
    parser.add_argument("--error-rate", type=float, default=0.01)
    parser.add_argument("--resend-rate", type=float, default=0.01)
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds; then stop")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.records <= MAX_RECORDS or not 1 <= args.desks <= 2000:
        parser.error(f"--records 1..{MAX_RECORDS}, --desks 1..2000")
    args.deadline = min(args.deadline, 1800.0)
    records = make_records(args.records)
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    rows = [run_engine(engine, args, records) for engine in engines]
    if args.json:
        print(json.dumps({"versions": versions(), "cpus": os.cpu_count(), "runs": rows}, indent=1))
        return
    print(f"{args.records} records from {args.desks} desks; {versions()}; {os.cpu_count()} CPUs")
    for row in rows:
        verdict = "nothing lost or doubled" if row["nothing_lost_or_doubled"] else "CHECK FAILED"
        target = "" if row["engine"] != "postgresql" else (
            "  (target <= 60 s: " + ("met" if row["seconds"] <= 60 and row["unanswered"] == 0
                                     else "NOT met") + ")"
        )  # fmt: skip
        print(
            f"{row['engine']:>10} ({row['workers']} worker(s)): {row['seconds']} s, "
            f"{row['records_per_minute']} records/min, batch p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms{target}"
        )
        print(
            f"            {row['batches']} batches, {row['requests']} requests, "
            f"{row['dropped_answers_resent']} dropped answers resent, "
            f"{row['refused_retried']} 503s retried, {row['records_resent_new_key']} records "
            f"resent under a new key; registrations {row['registrations']} = distinct NIK "
            f"{row['distinct_nik']} = records {row['records']}, accepted once "
            f"{row['accepted_once']}, events {row['events']}: {verdict}; "
            f"load average {row['load_average']}"
        )


if __name__ == "__main__":
    main()
