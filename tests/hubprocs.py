"""Real processes for the office hub's tests: desks and a hub, each its own PRAKERJA_HOME, running
the real CLI; the hub's `prakerja hub serve` on loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from prakerja_cli.demo import synthetic_nik


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli(home: Path, *args: str, timeout: float = 120) -> Done:
    """`prakerja ARGS` in a child process with this PRAKERJA_HOME."""
    env = {**os.environ, "PRAKERJA_HOME": str(home), "PRAKERJA_LANG": "en"}
    env.pop("PRAKERJA_API_URL", None)
    env.pop("PRAKERJA_API_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "prakerja_cli", *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )  # fmt: skip
    return Done(done.returncode, done.stdout, done.stderr)


def make_home(template: Path, home: Path, desk: str, url: str = "", token: str = "") -> Path:
    """A copy of an initialised office as desk `desk`, pointed at `url` with `token`."""
    shutil.copytree(template, home)
    for key, value in (("desk", desk), ("api_url", url), ("api_token", token)):
        if value:
            done = cli(home, "config", "set", key, value)
            assert done.code == 0, done.stderr
    return home


def nik(serial: int, birth: str = "1990-08-17", gender: str = "P") -> str:
    return synthetic_nik("327301", date.fromisoformat(birth), gender, serial)


def register(home: Path, serial: int, name: str = "Siti Aminah") -> str:
    """Register one synthetic applicant at this desk; returns the registration number."""
    done = cli(
        home, "register", "--nik", nik(serial), "--kk", f"327301010110{serial % 10000:04d}", "--name", name,
        "--birth-date", "1990-08-17", "--gender", "P", "--phone", "0812-3456-7890",
        "--address", "Jl. Merdeka 1", "--village", "Gegerkalong", "--district", "Sukasari",
        "--education", "SMA", "--employment", "KORBAN_PHK", "--not-in-school", "--yes",
        "--json",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    return str(done.json()["registration_number"])


def _drain(stream: Any, log: Path | None) -> None:
    for line in stream:
        if log is not None:
            with log.open("a", encoding="utf-8") as file:
                file.write(f"{time.monotonic():.2f} {line}")


@dataclass
class Hub:
    proc: subprocess.Popen[str]
    url: str

    def kill(self) -> None:
        """SIGKILL (TerminateProcess on Windows): no clean-up runs."""
        self.proc.send_signal(signal.SIGKILL if os.name != "nt" else signal.SIGTERM)
        self.proc.wait(timeout=10)


@contextmanager
def hub_serving(home: Path, *options: str, port: int = 0, log: Path | None = None) -> Iterator[Hub]:
    """`prakerja hub serve` on loopback with this PRAKERJA_HOME; stopped afterwards. Its log
    (stderr) is appended to `log` if given."""
    import requests

    env = {**os.environ, "PRAKERJA_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "prakerja_cli", "hub", "serve", "--port", str(port),
         "--log-level", "warning", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    url = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        proc.kill()
        proc.wait()
        raise RuntimeError("the hub did not start")
    threading.Thread(target=_drain, args=(proc.stderr, log), daemon=True).start()
    for _ in range(100):
        try:
            if requests.get(f"{url}/v1/health", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.05)
    try:
        yield Hub(proc, url)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
