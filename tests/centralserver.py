"""Run the reference central server for real, on loopback, in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

TOKEN = "rahasia-kantor-3273"


@contextmanager
def central(data_dir: Path, *options: str, port: int = 0) -> Iterator[str]:
    """Start `prakerja central serve`; yield its base URL; stop it at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "prakerja_cli", "central", "serve", "--port", str(port),
         "--data-dir", str(data_dir), "--token", f"3273:{TOKEN}", "--log-level", "warning", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
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
        raise RuntimeError("the central server did not start")
    # Keep reading the server's log: a full pipe would block the server on its next log line.
    import threading

    threading.Thread(target=proc.stderr.read, daemon=True).start()
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stats(data_dir: Path) -> dict[str, object]:
    import json

    done = subprocess.run(
        [sys.executable, "-m", "prakerja_cli", "central", "stats", "--data-dir", str(data_dir), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))
