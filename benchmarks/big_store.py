"""Build a large office store quickly, then time the commands that must not grow with it.

The store is made with the project's own code: `prakerja init` and one `prakerja register` give a
real office and a real stored record; that record is then copied N times with executemany, each
copy with its own id, registration number, NIK, KK, name, phone and import time (imports share
one time per file, so 10,000 records share each). About 1 in 5 has been accepted centrally and
1 in 10 verified. The copy writes only the columns the store has, so the same script builds a
store for an older version of the code (run it with that version on PYTHONPATH) to compare.

    python benchmarks/big_store.py --records 1000000 --home /tmp/big        # build, then time
    python benchmarks/big_store.py --home /tmp/big --time-only              # time again

Each command runs in a fresh process (`python -m prakerja_cli ...`), median of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.engine import dbapi as sqlite3

INIT = [
    "init", "--office-code", "3273", "--office-name", "Disnaker Kota Bandung (benchmark)",
    "--desk", "D01", "--operator", "Rina", "--rules", "normal-2023", "--no-input",
]  # fmt: skip
REGISTER = [
    "register", "--nik", synthetic_nik("327301", date(1990, 8, 17), "P", 9001),
    "--kk", "3273010101100002", "--name", "Siti Aminah", "--birth-date", "1990-08-17",
    "--gender", "P", "--phone", "0812-3456-7890", "--address", "Jl. Merdeka 1",
    "--village", "Gegerkalong", "--district", "Sukasari", "--education", "SMA",
    "--employment", "KORBAN_PHK", "--not-in-school", "--yes",
]  # fmt: skip
FIRST = ["Siti", "Budi", "Dewi", "Agus", "Rina", "Joko", "Ayu", "Eko", "Sri", "Bambang", "Putri",
         "Andi", "Wahyu", "Nur", "Dian", "Yuni", "Hendra", "Rizky", "Fitri", "Dedi"]  # fmt: skip
LAST = ["Aminah", "Santoso", "Lestari", "Salim", "Wati", "Susilo", "Pratama", "Hidayat",
        "Saputra", "Wijaya", "Kurniawan", "Setiawan", "Rahayu", "Permana", "Nugroho"]  # fmt: skip
#: Kecamatan of Kota Bandung: records are spread over them (the possible-duplicate check blocks
#: on birth date and kecamatan).
DISTRICTS = ["Sukasari", "Sukajadi", "Cidadap", "Coblong", "Cicendo", "Andir", "Bojongloa Kaler",
             "Bojongloa Kidul", "Astanaanyar", "Regol", "Lengkong", "Bandung Kidul", "Batununggal",
             "Kiaracondong", "Bandung Kulon", "Babakan Ciparay", "Bandung Wetan", "Sumur Bandung",
             "Cibeunying Kidul", "Cibeunying Kaler", "Antapani", "Arcamanik", "Mandalajati",
             "Ujungberung", "Cibiru", "Panyileukan", "Cinambo", "Gedebage", "Rancasari",
             "Buahbatu"]  # fmt: skip
#: Birth dates over 42 years, as adults' are: ~65 records share a day in a million.
BIRTH_DAYS = 42 * 365
#: One record with a name no other has: what a search for a rare name finds.
RARE = "Yohanes Ñoviantoro"
PER_IMPORT = 10_000


def prakerja(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRAKERJA_HOME": str(home), "PRAKERJA_LANG": "en"}
    run = subprocess.run([sys.executable, "-m", "prakerja_cli", *args], env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    if check and run.returncode != 0:
        raise SystemExit(f"prakerja {' '.join(args)} failed: {run.stderr}")
    return run


def build(home: Path, records: int) -> None:
    prakerja(home, *INIT)
    prakerja(home, *REGISTER)
    conn = sqlite3.connect(home / "prakerja.db", isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.row_factory = sqlite3.Row
    template = dict(conn.execute("SELECT * FROM applicants").fetchone())
    conn.row_factory = None
    columns = [c for c in template if c not in ("seq", "name_folded")]
    derived = "seq" in template
    if derived:
        from prakerja_cli.core.fields import fold

        columns += ["seq", "name_folded"]
    start = datetime.fromisoformat(template["created_at"]) - timedelta(days=365)
    rng = random.Random(15)
    sql = f"INSERT INTO applicants ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    conn.execute("BEGIN")
    conn.execute("DELETE FROM applicants")
    chunk: list[list[Any]] = []
    for i in range(1, records + 1):
        # (day, serial) pairs never repeat below 51 million records (lcm of 15330 and 9999).
        born = date(1966, 1, 1) + timedelta(days=i * 7919 % BIRTH_DAYS)
        gender = "P" if i % 2 else "L"
        name = RARE if i == records // 2 else f"{FIRST[i % 20]} {LAST[rng.randrange(15)]}"
        stamp = (start + timedelta(minutes=i // PER_IMPORT * 50)).isoformat()
        row = dict(template)
        row.update(
            id=f"{rng.getrandbits(128):032x}",
            registration_number=f"3273-D01-{i:06d}",
            nik=synthetic_nik("327301", born, gender, i % 9_999 + 1),
            kk=f"32730101{i // 4:08d}",
            name=name.upper(),
            birth_date=born.isoformat(),
            district=DISTRICTS[i % len(DISTRICTS)],
            phone=f"+62812{i:08d}",
            created_at=stamp,
            updated_at=stamp,
            central_status="verified" if i % 10 == 0 else "accepted" if i % 5 == 0 else None,
        )
        values = [row[c] for c in columns if c not in ("seq", "name_folded")]
        if derived:
            values += [i, fold(row["name"])]
        chunk.append(values)
        if len(chunk) == 50_000:
            conn.executemany(sql, chunk)
            chunk = []
    conn.executemany(sql, chunk)
    conn.execute("UPDATE counters SET value = ? WHERE name LIKE '%3273:D01'", [records])
    conn.execute("COMMIT")
    conn.close()


def timed(home: Path, args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        prakerja(home, *args)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-only", action="store_true")
    options = parser.parse_args()
    home: Path = options.home
    if not options.time_only:
        began = time.perf_counter()
        build(home, options.records)
        print(f"built {options.records} records in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        prakerja(home, "sync", "status")  # applies pending migrations once, untimed below
        print(f"first open (migrations) {time.perf_counter() - began:.1f} s")
    conn = sqlite3.connect(home / "prakerja.db")
    nik, number = conn.execute(
        "SELECT nik, registration_number FROM applicants WHERE rowid = (SELECT max(rowid) / 3 "
        "FROM applicants)"
    ).fetchone()
    conn.close()
    commands = {
        "applicants show NIK": ["applicants", "show", nik, "--json"],
        "applicants show REGNO": ["applicants", "show", number, "--json"],
        "applicants search NIK prefix": ["applicants", "search", nik[:12], "--json"],
        "applicants search phone": ["applicants", "search", "0812-0000-4242", "--json"],
        "applicants search rare name": ["applicants", "search", "noviantoro", "--json"],
        "applicants list (first page)": ["applicants", "list", "--json"],
        "sync status": ["sync", "status", "--json"],
        "prakerja --version (start-up)": ["--version"],
    }
    for label, args in commands.items():
        print(f"{label:32} {timed(home, args, options.repeat) * 1000:8.0f} ms")
    print(f"{'possible-duplicate check':32} {similar_check(home) * 1000:8.3f} ms per registration")


def similar_check(home: Path, forms: int = 2000) -> float:
    """What POSSIBLE_DUPLICATE adds to one registration: the candidates from the store's indexes
    and their comparison (core/similar.py), for a new form born on a stored record's day in its
    kecamatan with its name one letter off; mean over `forms` forms, in this process."""
    from prakerja_cli.core.similar import possible_duplicate
    from prakerja_cli.store.applicants import similar_records
    from prakerja_cli.store.db import open_db

    db = open_db(home / "prakerja.db")
    rng = random.Random(7)
    count = int(db.execute("SELECT max(rowid) FROM applicants").fetchone()[0])
    picked = []
    for _ in range(forms):
        row = db.execute(
            "SELECT name, birth_date, district FROM applicants WHERE rowid = ?",
            [rng.randrange(1, count + 1)],
        ).fetchone()
        if row is not None:
            picked.append(row)
    found = 0
    began = time.perf_counter()
    for name, born, district in picked:
        form = {"nik": "3273010000000000", "name": name[:-1] + "X", "kk": "3273019999999999",
                "birth_date": date.fromisoformat(born), "district": district}  # fmt: skip
        found += bool(possible_duplicate(form, similar_records(db, born, district, form["kk"])))
    elapsed = time.perf_counter() - began
    db.conn.close()
    print(f"  ({found} of {len(picked)} forms found a possible duplicate)")
    return elapsed / len(picked)


if __name__ == "__main__":
    main()
