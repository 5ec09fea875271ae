"""The demo: a throw-away office in a temporary folder, driven through the real commands: desk D01
on its own, then an office hub with a second desk (D02) between the desks and the reference
central server (docs/office.md)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    central: bool = False  # runs while the reference central server and the hub are up
    #: Whose PRAKERJA_HOME: desk D01 ("desk", the demo's folder), desk D02 ("desk2"), the hub.
    where: str = "desk"
    #: The step enrols a desk at the hub: its token is kept for that desk, not shown.
    enrols: str | None = None


def _applicant(nik: str, kk: str, name: str, born: str, gender: str, phone: str) -> list[str]:
    return [
        "register", "--nik", nik, "--kk", kk, "--name", name, "--birth-place", "Bandung",
        "--birth-date", born, "--gender", gender, "--phone", phone, "--address", "Jl. Setiabudi 12",
        "--rt", "3", "--rw", "7", "--village", "Gegerkalong", "--district", "Sukasari",
        "--education", "SMA", "--employment", "KORBAN_PHK", "--not-in-school", "--yes",
    ]  # fmt: skip


def _init(desk: str, operator: str) -> list[str]:
    # Throw-away offices: not encrypted, so the demo leaves no key in the PC's keyring behind.
    return [
        "init", "--office-code", "3273", "--office-name", "Disnaker Kota Bandung (demo)",
        "--desk", desk, "--operator", operator, "--rules", "normal-2023", "--no-input",
        "--no-encrypt",
    ]  # fmt: skip


def demo_steps(home: Path) -> list[Step]:
    sukasari = "327301"  # Kota Bandung, Kec. Sukasari
    siti = synthetic_nik(sukasari, date(1990, 8, 17), "P", 9901)
    budi = synthetic_nik(sukasari, date(1985, 3, 2), "L", 9902)
    teen = synthetic_nik(sukasari, date(2010, 1, 5), "L", 9903)
    budi2 = synthetic_nik(sukasari, date(1985, 3, 12), "L", 9912)
    kk = "3273010101109901"
    kk2 = "3273010101109912"
    return [
        Step("init", _init("D01", "Demo")),
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
        # A second desk and the office hub on the supervisor's PC (docs/office.md).
        Step("hub_init", _init("D00", "Supervisor"), where="hub"),
        Step("desk2_init", _init("D02", "Demo 2"), where="desk2"),
        Step("enrol", ["hub", "enrol", "D01", "--json"], where="hub", enrols="D01"),
        Step("enrol2", ["hub", "enrol", "D02", "--json"], where="hub", enrols="D02"),
        # Siti Aminah walks up to the second desk too; and a Budi Santosa born the day D01's Budi
        # Santoso was, in the same kecamatan, under another NIK: one letter apart.
        Step(
            "desk2_register",
            _applicant(siti, kk, "Siti Aminah", "1990-08-17", "P", "0812-3456-7801"),
            where="desk2",
        ),
        Step(
            "desk2_similar",
            _applicant(budi2, kk2, "Budi Santosa", "1985-03-12", "L", "0813-4567-8912"),
            where="desk2",
        ),
        Step("sync", ["sync"], central=True),
        Step("desk2_sync", ["sync"], expect=3, central=True, where="desk2"),
        Step("desk2_tell", ["applicants", "show", "3273-D02-000001"], central=True, where="desk2"),
        Step("hub_desks", ["hub", "desks"], central=True, where="hub"),
        Step("forward", ["sync"], central=True, where="hub"),
        Step("verdicts", ["sync"], central=True),
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
    base = {**os.environ, "PRAKERJA_OPERATOR": "Demo", "PRAKERJA_LANG": lang}
    for name in ("PRAKERJA_API_URL", "PRAKERJA_API_TOKEN"):
        base.pop(name, None)
    homes = {"desk": home, "desk2": home / "meja-2", "hub": home / "hub"}
    envs = {where: {**base, "PRAKERJA_HOME": str(folder)} for where, folder in homes.items()}
    envs["desk2"]["PRAKERJA_OPERATOR"] = "Demo 2"
    envs["hub"]["PRAKERJA_OPERATOR"] = "Supervisor"
    say(t("demo.home", home=home) + "\n")
    from prakerja_cli.samples import problem_rows, write_roster

    home.mkdir(parents=True, exist_ok=True)
    write_roster(home / "roster-gegerkalong.xlsx", problem_rows(), "DAFTAR USULAN PRAKERJA")
    steps = demo_steps(home)
    tokens: dict[str, str] = {}
    failures = _run_steps([s for s in steps if not s.central], envs, say, 1, tokens)
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
        envs["hub"].update(PRAKERJA_API_URL=url, PRAKERJA_API_TOKEN=token)
        with _running_hub(envs["hub"]) as hub_url:
            say("== " + t("demo.hub_up", url=hub_url))
            for where, desk in (("desk", "D01"), ("desk2", "D02")):
                envs[where].update(
                    PRAKERJA_API_URL=hub_url, PRAKERJA_API_TOKEN=tokens.get(desk, "")
                )
            start = len(steps) - len(central_steps) + 1
            failures += _run_steps(central_steps, envs, say, start, tokens)
    say("\n" + t("demo.done", home=home))
    return failures


@contextmanager
def _running_hub(env: dict[str, str]) -> Iterator[str]:
    """`prakerja hub serve` on loopback for the demo (forwarding is a step of its own, the
    supervisor's `prakerja sync`); yields its address."""
    import re
    import threading

    proc = subprocess.Popen(
        [sys.executable, "-m", "prakerja_cli", "hub", "serve", "--port", "0", "--log-level",
         "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stderr is not None
    url = None
    for line in proc.stderr:
        if found := re.search(r"listening on (http://\S+)", line):
            url = found.group(1)
            break
    try:
        if url is None:
            raise RuntimeError("the office hub did not start")
        # Keep reading its log: a full pipe would block the hub on its next line.
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def shown_command(args: list[str]) -> str:
    """Arguments as the clerk would type them: cmd.exe's quoting on Windows ("Siti Aminah"; a
    POSIX 'Siti Aminah' is two arguments there), the POSIX shell's elsewhere."""
    if sys.platform == "win32":
        return subprocess.list2cmdline(args)
    return shlex.join(args)


def _run_steps(
    steps: list[Step],
    envs: dict[str, dict[str, str]],
    say: Callable[[str], None],
    start: int,
    tokens: dict[str, str],
) -> int:
    failures = 0
    for number, step in enumerate(steps, start=start):
        say(f"\n== {number}. {t('demo.step.' + step.key)}\n$ prakerja {shown_command(step.args)}")
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "prakerja_cli", *step.args],
            env=envs[step.where], check=False,
            stdout=subprocess.PIPE if step.enrols else None, text=True,
        )  # fmt: skip
        if step.enrols and done.returncode == 0:
            import json

            # The token goes into the desk's settings for the demo; a real desk types it in once
            # (`prakerja config set api_token -`).
            tokens[step.enrols] = str(json.loads(done.stdout)["token"])
            say(t("demo.token_kept", desk=step.enrols))
        if done.returncode != step.expect:
            failures += 1
            say("!! " + t("demo.unexpected", expected=step.expect, got=done.returncode))
    return failures
