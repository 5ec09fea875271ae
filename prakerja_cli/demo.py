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

from prakerja_cli.i18n import current_language, t


def synthetic_nik(district: str, born: date, gender: str, serial: int) -> str:
    """A structurally valid NIK for samples and tests; the serial keeps it away from real people."""
    day = born.day + (40 if gender == "P" else 0)
    return f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


@dataclass(frozen=True, slots=True)
class Step:
    #: What the step shows, as the key of its heading in the catalogues ("demo.step.<key>").
    key: str
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
            "init",
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
            "nik",
            ["nik", siti, siti[:6] + "00" + siti[8:]],
            expect=3,
        ),
        Step(
            "register",
            _applicant(siti, kk, "Siti Aminah", "1990-08-17", "P", "0812-3456-7801"),
        ),
        Step(
            "flagged",
            _applicant(budi, kk, "Budi Santoso", "1985-03-12", "L", "+62 813 4567 8902"),
        ),
        Step(
            "underage",
            _applicant(teen, kk, "Andi Pratama", "2010-01-05", "L", "81345678903"),
            expect=3,
        ),
        Step(
            "duplicate",
            _applicant(siti, kk, "Siti Aminah", "1990-08-17", "P", "081234567801"),
            expect=3,
        ),
        Step("list", ["applicants", "list"]),
        Step("show", ["applicants", "show", "3273-D01-000002"]),
        Step("json", ["applicants", "show", "3273-D01-000002", "--json"]),
        Step(
            "roster",
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
            "reimport",
            ["roster", "import", str(home / "roster-gegerkalong.xlsx")],
            expect=3,
        ),
        Step("template", ["roster", "template", str(home / "templat.xlsx")]),
        Step(
            "export",
            ["export", str(home / "rekap.xlsx")],
        ),
        Step(
            "sync",
            ["sync"],
            central=True,
        ),
        Step("status", ["sync", "status"], central=True),
        Step(
            "tell",
            ["applicants", "show", "3273-D01-000002"],
            central=True,
        ),
        # The supervisor's papers, after the sync so that they show where each record stands.
        Step(
            "receipt",
            ["applicants", "receipt", "3273-D01-000002", "--out", str(home / "tanda-terima.pdf")],
            central=True,
        ),
        Step(
            "report",
            [
                "report",
                "--xlsx",
                str(home / "rekap-hari-ini.xlsx"),
                "--pdf",
                str(home / "rekap-hari-ini.pdf"),
            ],
            central=True,
        ),
        Step("handover", ["handover", str(home / "serah-terima")], central=True),
    ]


def run_demo(say: Callable[[str], None], home: Path | None = None) -> int:
    """Run every step as a real `prakerja` process; return the number of steps that went wrong."""
    home = home or Path(tempfile.mkdtemp(prefix="prakerja-demo-"))
    lang = current_language()
    env = {
        **os.environ,
        "PRAKERJA_HOME": str(home),
        "PRAKERJA_OPERATOR": "Demo",
        "PRAKERJA_LANG": lang,
    }
    say(t("demo.home", home=home) + "\n")
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
        say("\n" + t("demo.needs_central"))
        return failures + len(central_steps)
    import secrets

    from prakerja_cli.central.launch import running_server

    token = secrets.token_urlsafe(16)
    with running_server(home / "central", token) as url:
        say("\n== " + t("demo.central_up", url=url))
        env = {**env, "PRAKERJA_API_URL": url, "PRAKERJA_API_TOKEN": token}
        failures += _run_steps(central_steps, env, say, start=len(steps) - len(central_steps) + 1)
    say("\n" + t("demo.done", home=home))
    return failures


def shown_command(args: list[str]) -> str:
    """Arguments as the clerk would type them: cmd.exe's quoting on Windows ("Siti Aminah"; a
    POSIX 'Siti Aminah' is two arguments there), the POSIX shell's elsewhere."""
    if sys.platform == "win32":
        return subprocess.list2cmdline(args)
    return shlex.join(args)


def _run_steps(
    steps: list[Step], env: dict[str, str], say: Callable[[str], None], start: int
) -> int:
    failures = 0
    for number, step in enumerate(steps, start=start):
        say(f"\n== {number}. {t('demo.step.' + step.key)}\n$ prakerja {shown_command(step.args)}")
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "prakerja_cli", *step.args], env=env, check=False
        )
        if done.returncode != step.expect:
            failures += 1
            say("!! " + t("demo.unexpected", expected=step.expect, got=done.returncode))
    return failures
