"""The demo: a throw-away office in a temporary folder, driven through the real commands."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path


def synthetic_nik(district: str, born: date, gender: str, serial: int) -> str:
    """A structurally valid NIK for samples and tests; the serial keeps it away from real people."""
    day = born.day + (40 if gender == "P" else 0)
    return f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    args: list[str]
    expect: int = 0
    central: bool = False  # runs while the reference central server is up


def _applicant(nik: str, kk: str, name: str, born: str, gender: str, phone: str) -> list[str]:
    return [
        "register", "--nik", nik, "--kk", kk, "--name", name, "--birth-place", "Bandung",
        "--birth-date", born, "--gender", gender, "--phone", phone, "--address", "Jl. Setiabudi 12",
        "--rt", "3", "--rw", "7", "--village", "Gegerkalong", "--district", "Sukasari",
        "--education", "SMA", "--employment", "KORBAN_PHK", "--not-in-school", "--yes",
    ]  # fmt: skip


def demo_steps(home: Path) -> list[Step]:
    sukasari = "327301"  # Kota Bandung, Kec. Sukasari
    siti = synthetic_nik(sukasari, date(1990, 8, 17), "P", 9901)
    budi = synthetic_nik(sukasari, date(1985, 3, 2), "L", 9902)
    teen = synthetic_nik(sukasari, date(2010, 1, 5), "L", 9903)
    kk = "3273010101109901"
    return [
        Step(
            "Set up a demo office (Kota Bandung, desk D01)",
            [
                "init",
                "--office-code",
                "3273",
                "--office-name",
                "Disnaker Kota Bandung (demo)",
                "--desk",
                "D01",
                "--operator",
                "Demo",
                "--rules",
                "normal-2023",
                "--no-input",
            ],
        ),
        Step(
            "Check NIKs before registering (the second has a typo: day 00)",
            ["nik", siti, siti[:6] + "00" + siti[8:]],
            expect=3,
        ),
        Step(
            "Register an applicant",
            _applicant(siti, kk, "Siti Aminah", "1990-08-17", "P", "0812-3456-7801"),
        ),
        Step(
            "Register one whose form date differs from the NIK (stored, flagged)",
            _applicant(budi, kk, "Budi Santoso", "1985-03-12", "L", "+62 813 4567 8902"),
        ),
        Step(
            "Try a 16-year-old (refused, nothing stored)",
            _applicant(teen, kk, "Andi Pratama", "2010-01-05", "L", "81345678903"),
            expect=3,
        ),
        Step(
            "Try the first applicant again (duplicate NIK refused)",
            _applicant(siti, kk, "Siti Aminah", "1990-08-17", "P", "081234567801"),
            expect=3,
        ),
        Step("List the registrations", ["applicants", "list"]),
        Step("Show one", ["applicants", "show", "3273-D01-000002"]),
        Step("The same as JSON for scripts", ["applicants", "show", "3273-D01-000002", "--json"]),
        Step(
            "Import a village's roster with typical damage (see samples/README.md); "
            "rejected rows go to an error report to fix",
            [
                "roster",
                "import",
                str(home / "roster-gegerkalong.xlsx"),
                "--errors",
                str(home / "perbaikan.xlsx"),
            ],
            expect=3,
        ),
        Step(
            "Importing the same file again stores nothing twice",
            ["roster", "import", str(home / "roster-gegerkalong.xlsx")],
            expect=3,
        ),
        Step(
            "Write the office's roster template", ["roster", "template", str(home / "templat.xlsx")]
        ),
        Step(
            "Export the recap (rekap) for the ministry, NIK masked",
            ["export", str(home / "rekap.xlsx")],
        ),
        Step(
            "Deliver everything to the reference central server on loopback (the nightly job)",
            ["sync"],
            central=True,
        ),
        Step("Where things stand centrally", ["sync", "status"], central=True),
        Step(
            "What the clerk tells the applicant",
            ["applicants", "show", "3273-D01-000002"],
            central=True,
        ),
    ]


def run_demo(say: Callable[[str], None], home: Path | None = None) -> int:
    """Run every step as a real `prakerja` process; return the number of steps that went wrong."""
    home = home or Path(tempfile.mkdtemp(prefix="prakerja-demo-"))
    env = {**os.environ, "PRAKERJA_HOME": str(home), "PRAKERJA_OPERATOR": "Demo"}
    say(f"Demo office in {home}\n")
    from prakerja_cli.samples import problem_rows, write_roster

    home.mkdir(parents=True, exist_ok=True)
    write_roster(home / "roster-gegerkalong.xlsx", problem_rows(), "DAFTAR USULAN PRAKERJA")
    steps = demo_steps(home)
    failures = _run_steps([s for s in steps if not s.central], env, say, start=1)
    central_steps = [s for s in steps if s.central]
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        say('\n(The central server steps need: pip install ".[central]")')
        return failures + len(central_steps)
    import secrets

    from prakerja_cli.central.launch import running_server

    token = secrets.token_urlsafe(16)
    with running_server(home / "central", token) as url:
        say(f"\n== The reference central server listens on {url}")
        env = {**env, "PRAKERJA_API_URL": url, "PRAKERJA_API_TOKEN": token}
        failures += _run_steps(central_steps, env, say, start=len(steps) - len(central_steps) + 1)
    say(f"\nDone. Explore it: PRAKERJA_HOME={home} prakerja applicants list")
    return failures


def _run_steps(
    steps: list[Step], env: dict[str, str], say: Callable[[str], None], start: int
) -> int:
    failures = 0
    for number, step in enumerate(steps, start=start):
        say(f"\n== {number}. {step.title}\n$ prakerja {shlex.join(step.args)}")
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "prakerja_cli", *step.args], env=env, check=False
        )
        if done.returncode != step.expect:
            failures += 1
            say(f"!! expected exit code {step.expect}, got {done.returncode}")
    return failures
