"""Roster import throughput and peak memory against plain reading and a plain load, on this machine.

Generates a realistic roster (15 columns, canonical headers, Indonesian names, phone numbers in the
forms offices type them, dates as date cells, a few percent of rows with the usual problems) as
.xlsx and as ';'-delimited UTF-8 .csv, then times, each step in a fresh process:

    (a) python-calamine reading the xlsx sheet into Python lists (no checks)
    (b) a bare load: the csv module reads the .csv and one transaction `executemany`s its rows
        into a 15-column SQLite table (the floor of any Python importer; no checks)
    (c) `prakerja roster import roster.xlsx --json` into a fresh office, on every core (the
        default), then again with `--jobs 1` and `--jobs 2` (rows checked on one and two cores)
    (d) `prakerja roster import roster.csv --json` into another fresh office, on every core and
        with `--jobs 1`
    (e) no import, only its store: the records (d) stored, read back, then inserted into a fresh
        office's store through the project's opener in one transaction, as the import's writer
        inserts them (same columns, chunks, page cache); only the inserts and the commit timed

Targets: (c) <= 3x (a); (d) <= 3x (b) ((e) is what any import that keeps the store's indexes
pays for its inserts alone, printed beside (d)'s budget); peak memory of (c) <= 500 MB at 100k rows (the importer's
process; a worker process checking half the rows peaked at another 94 MB of its own). Office set-up (`prakerja
init`, ~90k region codes) and file generation are not timed.

Run from the project root with the virtualenv active:

    python benchmarks/roster_import.py                      # 100k rows, median of 3 runs
    python benchmarks/roster_import.py --rows 10000 --repeat 1 --keep /tmp/roster-bench

Exit status 0 when every target is met, 1 otherwise. To see where an import spends its time:

    python -m cProfile -o /tmp/imp.prof -m prakerja_cli roster import roster.xlsx --json >/dev/null
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.roster.columns import BY_FIELD
from prakerja_cli.roster.rows import cores
from prakerja_cli.store.engine import dbapi as sqlite3

DEFAULT_ROWS = 100_000
DEFAULT_REPEAT = 3
TARGET_XLSX_RATIO = 3.0
TARGET_CSV_RATIO = 3.0
TARGET_PEAK_MB = 500.0
TODAY = date.today()

#: The roster's 15 columns, by field; headers come from roster/columns.py (what the template writes).
FIELDS = (
    "nik", "kk", "name", "birth_place", "birth_date", "gender", "phone", "email", "address",
    "village", "district", "education", "employment", "occupation", "in_school",
)  # fmt: skip
HEADERS = [BY_FIELD[name].header for name in FIELDS]
COL = {name: i for i, name in enumerate(FIELDS)}

INIT_ARGS = [
    "init", "--office-code", "3273", "--office-name", "Disnaker Kota Bandung (benchmark)",
    "--desk", "D01", "--operator", "Bench", "--rules", "normal-2023", "--no-input",
]  # fmt: skip

#: Kecamatan of Kota Bandung (Kemendagri code) with some of their kelurahan.
DISTRICTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "327301": ("Sukasari", ("Gegerkalong", "Isola", "Sarijadi", "Sukarasa")),
    "327302": ("Coblong", ("Dago", "Lebakgede", "Sekeloa", "Cipaganti", "Sadang Serang")),
    "327305": ("Andir", ("Ciroyom", "Dunguscariang", "Garuda", "Kebon Jeruk", "Maleber")),
    "327306": ("Cicendo", ("Arjuna", "Pasirkaliki", "Pajajaran", "Pamoyanan", "Sukaraja")),
    "327307": ("Sukajadi", ("Sukabungah", "Sukagalih", "Cipedes", "Pasteur", "Sukawarna")),
    "327308": ("Cidadap", ("Hegarmanah", "Ciumbuleuit", "Ledeng")),
}
FIRST_MALE = (
    "Agus", "Ahmad", "Asep", "Budi", "Dedi", "Dimas", "Eko", "Hendra", "Iwan", "Joko", "Ujang",
    "Muhammad", "Rizki", "Rudi", "Wahyu", "Yusuf", "Aditya", "Bayu", "Cecep", "Deden", "Ma'ruf",
)  # fmt: skip
FIRST_FEMALE = (
    "Siti", "Dewi", "Rina", "Sri", "Euis", "Neng", "Yanti", "Fitri", "Putri", "Ayu", "Indah",
    "Lestari", "Ratna", "Nur", "Wulan", "Rani", "Intan", "Dian", "Nining", "Tuti", "Nurul",
)  # fmt: skip
LAST = (
    "Rahmawati", "Setiawan", "Hidayat", "Saputra", "Kurniawan", "Nugroho", "Pratama", "Wijaya",
    "Susanti", "Permana", "Gunawan", "Suryadi", "Hermawan", "Ramadhan", "Maulana", "Fauziah",
    "Nurhayati", "Sulistyowati", "Sopian", "Hakim", "Firmansyah", "Kusumawati", "Nurjanah",
)  # fmt: skip
PLACES = ("Bandung", "Cimahi", "Garut", "Tasikmalaya", "Sumedang", "Ciamis", "Cianjur", "Bogor",
          "Jakarta", "Subang", "Kab. Bandung", "Majalengka")  # fmt: skip
STREETS = ("Jl. Setiabudi", "Jl. Sukajadi", "Jl. Cipaganti", "Gg. Mawar", "Kp. Babakan",
           "Jl. Pasteur", "Jl. Ciumbuleuit", "Gg. Melati II", "Jl. Gegerkalong Hilir")  # fmt: skip
PHONE_PREFIXES = ("811", "812", "813", "821", "822", "823", "852", "853", "857", "858", "877",
                  "878", "838", "895", "896", "881", "882")  # fmt: skip
MAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "yahoo.com", "yahoo.co.id", "ymail.com")
GENDER_TEXT = {"L": ("L", "L", "L", "Laki-laki", "Pria", "LK"), "P": ("P", "P", "P", "Perempuan",
               "Wanita", "PR")}  # fmt: skip
EDUCATION = ("SMA", "SMK", "SMA/SMK", "SLTA", "SMP", "SD", "D3", "S1", "S1", "Sarjana", "MA")
EMPLOYMENT = ("Pencari kerja", "Belum bekerja", "Korban PHK", "Pekerja", "Karyawan",
              "Wiraswasta", "Dirumahkan")  # fmt: skip
OCCUPATIONS = ("", "", "", "Buruh pabrik", "Karyawan swasta", "Pedagang", "Ojek online",
               "Penjahit", "Tidak bekerja", "Honorer")  # fmt: skip


@dataclass(slots=True)
class Roster:
    """Generated rows (cells as Python values) and what an import of them should report."""

    rows: list[list[Any]]
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def expected_rejected(self) -> int:
        return sum(n for kind, n in self.problems.items() if not kind.startswith("warn"))


def _phone(rng: random.Random, digits: str) -> Any:
    """A valid mobile number (digits without the leading 0) in one of the forms offices type."""
    form = rng.random()
    if form < 0.45:
        return "0" + digits
    if form < 0.60:
        return f"0{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if form < 0.70:
        return f"+62 {digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if form < 0.80:
        return "62" + digits
    if form < 0.85:
        return f"0{digits[:3]} {digits[3:7]} {digits[7:]}"
    return int(digits)  # typed into a General cell: a number, its leading 0 gone


def generate(count: int, seed: int) -> Roster:
    """`count` data rows: ~95 % clean, the rest with the problems rosters usually have."""
    rng = random.Random(seed)
    roster = Roster([])
    problems: dict[str, int] = dict.fromkeys(
        ("rounded_nik", "bad_phone", "under_age", "duplicate", "bad_email", "in_school",
         "warn_date_mismatch"), 0,
    )  # fmt: skip
    used: set[str] = set()
    district_codes = list(DISTRICTS)
    last_kk: str | None = None
    for index in range(count):
        if index > 100 and rng.random() < 0.01:
            # The same person twice (sent by two villages): rejected as a duplicate in the file.
            twin = list(roster.rows[rng.randrange(index - 100)])
            if isinstance(twin[COL["nik"]], str):
                roster.rows.append(twin)
                problems["duplicate"] += 1
                continue
        gender = "P" if rng.random() < 0.5 else "L"
        kind = rng.random()
        if kind < 0.01:
            age_days = rng.randrange(15 * 365 + 5, 18 * 365 - 5)  # under the minimum age
            problems["under_age"] += 1
        else:
            age_days = rng.randrange(18 * 365 + 5, 60 * 365)
        born = TODAY - timedelta(days=age_days)
        district = rng.choice(district_codes)
        while True:
            nik = synthetic_nik(district, born, gender, rng.randrange(1, 10000))
            if nik not in used:
                used.add(nik)
                break
        # Two members of one family (one KK) now and then; the rule set allows two per KK.
        if last_kk is not None and rng.random() < 0.08:
            kk, last_kk = last_kk, None
        else:
            issued = TODAY - timedelta(days=rng.randrange(200, 9000))
            kk = f"{district}{issued:%d%m%y}{rng.randrange(1, 10000):04d}"
            last_kk = kk
        first = rng.choice(FIRST_FEMALE if gender == "P" else FIRST_MALE)
        last = rng.choice(LAST)
        name = first if rng.random() < 0.05 else f"{first} {last}"
        if rng.random() < 0.1:
            name = name.lower()
        digits = rng.choice(PHONE_PREFIXES) + "".join(
            rng.choice("0123456789") for _ in range(rng.choice((7, 8, 8, 9)))
        )
        email = ""
        if rng.random() < 0.4:
            email = f"{first}.{last}{rng.randrange(100)}@{rng.choice(MAIL_DOMAINS)}".lower()
            email = email.replace("'", "")
        village = rng.choice(DISTRICTS[district][1])
        row: list[Any] = [
            nik,
            kk,
            name,
            rng.choice(PLACES),
            born,
            rng.choice(GENDER_TEXT[gender]),
            _phone(rng, digits),
            email,
            f"{rng.choice(STREETS)} No. {rng.randrange(1, 200)} "
            f"RT {rng.randrange(1, 15):02d}/RW {rng.randrange(1, 12):02d}",
            village,
            DISTRICTS[district][0],
            rng.choice(EDUCATION),
            rng.choice(EMPLOYMENT),
            rng.choice(OCCUPATIONS),
            "Tidak" if rng.random() < 0.9 else "T",
        ]
        if kind >= 0.01:  # at most one problem per row, so the expected counts add up
            trouble = rng.random()
            if trouble < 0.01:
                # A NIK typed into a General cell: Excel kept 15 significant digits.
                row[COL["nik"]] = int(nik[:15]) * 10
                problems["rounded_nik"] += 1
            elif trouble < 0.02:
                row[COL["phone"]] = rng.choice(("0812345", "022-2534567", "(022) 2012345", "-"))
                problems["bad_phone"] += 1
            elif trouble < 0.023:
                row[COL["email"]] = f"{first.lower()}@gmail"
                problems["bad_email"] += 1
            elif trouble < 0.026:
                row[COL["in_school"]] = "Ya"
                problems["in_school"] += 1
            elif trouble < 0.031:
                # The form's birth date differs from the NIK's: stored, with a warning.
                row[COL["birth_date"]] = born - timedelta(days=rng.randrange(1, 40))
                problems["warn_date_mismatch"] += 1
        roster.rows.append(row)
    roster.problems = problems
    return roster


def write_xlsx(roster: Roster, path: Path) -> None:
    """Write-only openpyxl: a title line, a blank row, the header; NIK and KK cells as Text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Daftar Peserta")
    sheet.append(["DAFTAR CALON PESERTA KARTU PRAKERJA - KOTA BANDUNG"])
    sheet.append([])
    sheet.append(HEADERS)
    text_cols = {COL["nik"], COL["kk"]}
    for row in roster.rows:
        cells: list[Any] = []
        for col, value in enumerate(row):
            if col in text_cols and isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "@"
                cells.append(cell)
            else:
                cells.append(value if value != "" else None)
        sheet.append(cells)
    book.save(path)


def _csv_cell(value: Any) -> str:
    """A cell as Excel in an Indonesian locale saves it to CSV."""
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, int) and value >= 10**15:
        return f"{value / 10**15:.5f}".rstrip("0").replace(".", ",") + "E+15"
    return str(value)


def write_csv(roster: Roster, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADERS)
        writer.writerows([_csv_cell(v) for v in row] for row in roster.rows)


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    peak_mb: float
    stdout: str
    cpu: float  # user + system seconds of the process and the children it waited for


@dataclass(slots=True)
class Step:
    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(r.peak_mb for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)


def run_measured(argv: Sequence[str], env: dict[str, str], ok: Sequence[int] = (0,)) -> Run:
    """Run a command in a fresh process: wall time, that process's own peak RSS and the CPU time
    of it and its children (wait4: the import's worker, reader and writer processes count)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        if proc.returncode not in ok:
            message = err.read().decode("utf-8", "replace")[-2000:]
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{message}")
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    kib = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return Run(seconds, kib / 1024, stdout, usage.ru_utime + usage.ru_stime)


CALAMINE_READ = """
import sys
from python_calamine import CalamineWorkbook
book = CalamineWorkbook.from_path(sys.argv[1])
rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
print(len(rows))
"""


BARE_LOAD = """
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
with open(sys.argv[1], encoding="utf-8", newline="") as handle:
    reader = csv.reader(handle, delimiter=";")
    header = next(reader)
    columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
    db.execute(f"CREATE TABLE roster ({columns})")
    marks = ", ".join("?" * len(header))
    with db:
        db.executemany(f"INSERT INTO roster VALUES ({marks})", reader)
print(db.execute("SELECT count(*) FROM roster").fetchone()[0])
db.close()
"""


STORE_ONLY = """
import sys, time
from prakerja_cli.office import open_workspace
from prakerja_cli.roster.writer import CACHE_KIB
from prakerja_cli.roster.importer import _INSERT_CHUNK
from prakerja_cli.store import applicants as store
from prakerja_cli.store.db import write
from prakerja_cli.store.engine import dbapi
source = dbapi.connect(sys.argv[1])
columns = ", ".join(store.NEW_COLUMNS)
records = source.execute(f"SELECT {columns} FROM applicants ORDER BY seq").fetchall()
source.close()
ws = open_workspace()
start = time.perf_counter()
with write(ws.db):
    ws.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    for at in range(0, len(records), _INSERT_CHUNK):
        store.insert_records(ws.db, store.NEW_COLUMNS, records[at : at + _INSERT_CHUNK])
seconds = time.perf_counter() - start
count = ws.db.execute("SELECT count(*) FROM applicants").fetchone()[0]
indexes = ws.db.execute(
    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'applicants'"
).fetchone()[0]
print(f"{seconds} {count} {indexes}")
"""


def _script(name: str) -> list[str]:
    """A console script of this virtualenv (next to the interpreter), else on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"`{name}` not found: install the project (pip install -e .)")
    return [found]


def _versions() -> list[str]:
    packages = ("prakerja-cli", "python-calamine", "sqlite-utils", "openpyxl", "phonenumbers",
                "email-validator", "typer")  # fmt: skip
    found = []
    for name in packages:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return found


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.system()} {platform.release()}, {cpu}, {usable} usable CPUs (nproc)"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="data rows to generate")
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help="runs per step (median time reported)"
    )
    parser.add_argument("--seed", type=int, default=20250817, help="random seed of the roster")
    parser.add_argument(
        "--keep", type=Path, help="write files and offices here and keep them (default: temp dir)"
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")
    return args


def _import_summary(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows: int = args.rows
    repeat: int = args.repeat
    keep: Path | None = args.keep
    workdir = keep if keep is not None else Path(tempfile.mkdtemp(prefix="prakerja-roster-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    prakerja = _script("prakerja")
    base_env = {**os.environ, "PRAKERJA_LANG": "en"}
    for name in ("PRAKERJA_DEBUG", "PYTHONPROFILEIMPORTTIME", "PRAKERJA_HOME"):
        base_env.pop(name, None)

    print(f"Python {sys.version.split()[0]} at {python}")
    print(f"{_machine()}; load average {_load()}")
    print("; ".join(_versions()) + f"; SQLite {sqlite3.sqlite_version}")
    try:
        start = time.perf_counter()
        roster = generate(rows, args.seed)
        xlsx, csv_path = workdir / "roster.xlsx", workdir / "roster.csv"
        write_xlsx(roster, xlsx)
        made_xlsx = time.perf_counter()
        write_csv(roster, csv_path)
        print(
            f"Generated {rows} rows x {len(HEADERS)} columns in {made_xlsx - start:.1f} s "
            f"(csv {time.perf_counter() - made_xlsx:.1f} s): {xlsx} "
            f"({xlsx.stat().st_size / 1e6:.1f} MB), {csv_path} "
            f"({csv_path.stat().st_size / 1e6:.1f} MB)"
        )
        problems = ", ".join(f"{k} {v}" for k, v in roster.problems.items())
        print(f"Problem rows: {problems} (expected rejected: {roster.expected_rejected})")
        print(f"{repeat} run(s) per step, each in a fresh process; office set-up not timed\n")

        every = cores()
        # (key, label, file, --jobs): c and d on every core are the targets' figures.
        imports: list[tuple[str, str, Path, int | None]] = [
            ("c", f"(c) roster import xlsx, {every} cores", xlsx, None),
            ("c1", "(c) roster import xlsx, --jobs 1", xlsx, 1),
            ("c2", "(c) roster import xlsx, --jobs 2", xlsx, 2),
            ("d", f"(d) roster import csv, {every} cores", csv_path, None),
            ("d1", "(d) roster import csv, --jobs 1", csv_path, 1),
        ]
        if every == 2:
            imports = [step for step in imports if step[0] != "c2"]
        steps = {"a": Step("(a) calamine read xlsx"), "b": Step("(b) csv read + executemany")}
        steps.update({key: Step(label) for key, label, _, _ in imports})
        summaries: dict[str, dict[str, Any]] = {}
        store_only: list[tuple[float, int, int]] = []  # (e): seconds, records, indexes
        for attempt in range(repeat):
            steps["a"].runs.append(run_measured([python, "-c", CALAMINE_READ, str(xlsx)], base_env))
            db = workdir / f"plain-{attempt}.db"
            db.unlink(missing_ok=True)
            bare_load = [python, "-c", BARE_LOAD, str(csv_path), str(db)]
            steps["b"].runs.append(run_measured(bare_load, base_env))
            for key, _, source, jobs in imports:
                home = workdir / f"office-{key}-{attempt}"
                shutil.rmtree(home, ignore_errors=True)
                env = {**base_env, "PRAKERJA_HOME": str(home)}
                run_measured([*prakerja, *INIT_ARGS], env)
                options = ["--jobs", str(jobs)] if jobs else []
                command = [*prakerja, "roster", "import", str(source), "--json", *options]
                run = run_measured(command, env, ok=(0, 3))
                steps[key].runs.append(run)
                summaries[key] = _import_summary(run.stdout)
            home = workdir / f"office-e-{attempt}"
            shutil.rmtree(home, ignore_errors=True)
            env = {**base_env, "PRAKERJA_HOME": str(home)}
            run_measured([*prakerja, *INIT_ARGS], env)
            imported = workdir / f"office-d-{attempt}" / "prakerja.db"
            answer = run_measured([python, "-c", STORE_ONLY, str(imported)], env).stdout.split()
            store_only.append((float(answer[0]), int(answer[1]), int(answer[2])))
            times = ", ".join(f"{k} {s.runs[-1].seconds:.2f} s" for k, s in steps.items())
            print(f"run {attempt + 1}/{repeat}: {times}, e {store_only[-1][0]:.2f} s")
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"{'step':<36} {'wall (median)':>13} {'rows/s':>9} {'peak RSS':>10} {'vs bare':>8} "
          f"{'CPU':>8}")  # fmt: skip
    for key, step in steps.items():
        bare = steps["a" if key.startswith("c") else "b"].seconds
        ratio = f"{step.seconds / bare:>7.2f}x" if key[0] in "cd" else ""
        print(
            f"{step.label:<36} {step.seconds:>11.2f} s {rows / step.seconds:>9,.0f} "
            f"{step.peak_mb:>7.0f} MB {ratio:>8} {step.cpu:>6.2f} s"
        )
    for key, summary in summaries.items():
        if key not in ("c", "d"):
            if summary != summaries[key[0]]:
                print(f"MISMATCH: {steps[key].label} reported other results than on every core")
                return 1
            continue
        print(
            f"{steps[key].label}: rows {summary['rows']}, stored {summary['stored']} "
            f"(warned {summary['warned']}), rejected {summary['rejected']} "
            f"{summary['rejected_by_code']}"
        )
    inserts = statistics.median(seconds for seconds, _, _ in store_only)
    _, records, indexes = store_only[-1]
    budget = TARGET_CSV_RATIO * steps["b"].seconds
    print(
        f"(e) the store alone: {records} records inserted and committed into a fresh office's "
        f"table ({indexes} indexes), no checks, no read: {inserts:.2f} s (median) = "
        f"{inserts / steps['b'].seconds:.2f}x (b); (d)'s budget {budget:.2f} s"
    )
    for key, bare in (("c", "a"), ("d", "b")):
        least = steps[key].cpu / every
        print(
            f"{steps[key].label} used {steps[key].cpu:.2f} s of CPU in all its processes: on "
            f"{every} cores at least {least:.2f} s of wall = {least / steps[bare].seconds:.2f}x "
            f"{steps[bare].label[:3]}"
        )
    if summaries["c"]["rejected"] != roster.expected_rejected:
        print(f"note: the generator expected {roster.expected_rejected} rejected rows")

    xlsx_ratio = steps["c"].seconds / steps["a"].seconds
    csv_ratio = steps["d"].seconds / steps["b"].seconds
    checks = [
        (f"xlsx import / calamine read  = {xlsx_ratio:.2f}x", f"<= {TARGET_XLSX_RATIO:g}x",
         xlsx_ratio <= TARGET_XLSX_RATIO),
        (f"csv import / csv+executemany = {csv_ratio:.2f}x", f"<= {TARGET_CSV_RATIO:g}x",
         csv_ratio <= TARGET_CSV_RATIO),
        (f"xlsx import peak RSS         = {steps['c'].peak_mb:.0f} MB", f"<= {TARGET_PEAK_MB:g} MB",
         steps["c"].peak_mb <= TARGET_PEAK_MB),
    ]  # fmt: skip
    print()
    for text, target, passed in checks:
        print(f"{text:<44} target {target:<9} {'PASS' if passed else 'FAIL'}")
    print(f"load average at the end: {_load()} (other work on the machine skews wall times)")
    passed = all(ok for _, _, ok in checks)
    print("PASS" if passed else "FAIL: see the targets above")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
