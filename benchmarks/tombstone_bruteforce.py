"""What it costs to get a purged NIK back from the desk's files, and what the check costs an import.

Someone who copied the app folder holds `purged_niks` and `office.key`, so every NIK they guess can
be tested. This measures, on this machine, in this Python (OpenSSL's scrypt and HMAC):

    (a) one try against a tombstone: HMAC-SHA256 (stores purged before tombstones were slow) and
        scrypt (TOMBSTONE_SCHEME), one thread, median of --tries;
    (b) a real brute force: a synthetic NIK purged, then found again by trying every serial of
        its district, birth date and gender (the attacker's best case), both ways;
    (c) the import's side: tombstones of --rows NIKs on every CPU (what a roster import pays per
        row while anything is purged);

then prints what a full search costs for what an attacker may know (the search spaces are
documented in docs/security.md). Exit status 1 when one scrypt try costs less than --floor-ms.

    python benchmarks/tombstone_bruteforce.py
    python benchmarks/tombstone_bruteforce.py --tries 200 --rows 20000 --floor-ms 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import date

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.applicants import TOMBSTONE_SCHEME, nik_hmac, nik_tombstone, tombstones

#: Working ages 18-64: the birth dates a NIK of a Prakerja applicant can carry.
BIRTH_DAYS = (64 - 18 + 1) * 365
SERIALS = 9_999
#: Districts (kecamatan) in Indonesia, Kemendagri 2022.
DISTRICTS = 7_277
#: What an attacker may know of one purged NIK, and how many NIKs are left to try.
SPACES = {
    "district, birth date and gender known": SERIALS,
    "district, gender and last two serial digits known (audit entries written before v14)": (
        BIRTH_DAYS * 100
    ),
    "district and gender known (what a purged record keeps)": BIRTH_DAYS * SERIALS,
    "gender known, district one of Indonesia's": DISTRICTS * BIRTH_DAYS * SERIALS,
}


def per_try(hash_one: Callable[[str, bytes], str], key: bytes, tries: int) -> float:
    """Median seconds of one try, in batches of 10."""
    samples = []
    for batch in range(max(1, tries // 10)):
        start = time.perf_counter()
        for i in range(10):
            hash_one(synthetic_nik("327301", date(1990, 1, 1), "L", batch * 10 + i + 1), key)
        samples.append((time.perf_counter() - start) / 10)
    return statistics.median(samples)


def brute_force(
    hash_one: Callable[[str, bytes], str], key: bytes, target: str
) -> tuple[int, float]:
    """Find the NIK behind `hash_one(target)` knowing all but its serial: (tries, seconds)."""
    stored = hash_one(target, key)
    born, start = date(1990, 8, 17), time.perf_counter()
    for serial in range(1, SERIALS + 1):
        if hash_one(synthetic_nik("327301", born, "P", serial), key) == stored:
            return serial, time.perf_counter() - start
    raise AssertionError("not found")


def human(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000, help="at most 279,972")
    parser.add_argument("--serial", type=int, default=5_000, help="the purged NIK's serial")
    parser.add_argument("--floor-ms", type=float, default=1.0)
    args = parser.parse_args()
    key = os.urandom(32)
    costs = {"hmac-sha256": per_try(nik_hmac, key, args.tries),
             TOMBSTONE_SCHEME: per_try(nik_tombstone, key, args.tries)}  # fmt: skip
    print(f"CPUs: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")
    for name, cost in costs.items():
        print(f"(a) one try, {name}: {cost * 1e3:.3f} ms")
    target = synthetic_nik("327301", date(1990, 8, 17), "P", args.serial)
    for name, hash_one in (("hmac-sha256", nik_hmac), (TOMBSTONE_SCHEME, nik_tombstone)):
        found, seconds = brute_force(hash_one, key, target)
        print(f"(b) brute force, {name}: found after {found:,} tries in {seconds:.2f} s")
    niks = [synthetic_nik("327301", date(1990, 1, 1 + i // SERIALS), "L", 1 + i % SERIALS)
            for i in range(args.rows)]  # fmt: skip
    start = time.perf_counter()
    tombstones(niks, key)
    row = (time.perf_counter() - start) / args.rows
    print(f"(c) import: {row * 1e3:.3f} ms a row on every CPU; "
          f"100,000 rows: +{human(row * 100_000)}")  # fmt: skip
    print("\nA full search, one CPU core (the expected time is half):")
    for what, space in SPACES.items():
        cells = ", ".join(f"{name} {human(space * cost)}" for name, cost in costs.items())
        print(f"  {what}: {space:,} NIKs; {cells}")
    return 0 if costs[TOMBSTONE_SCHEME] * 1e3 >= args.floor_ms else 1


if __name__ == "__main__":
    raise SystemExit(main())
