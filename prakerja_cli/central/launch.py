"""Start the reference central server as a child process (for the demo, tests and benchmarks)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def running_server(
    data_dir: Path, token: str, *options: str, port: int = 0, office: str = "3273"
) -> Iterator[str]:
    """Run `prakerja central serve` on loopback; yield its base URL; stop it afterwards."""
    import requests

    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "prakerja_cli", "central", "serve", "--port", str(port),
         "--data-dir", str(data_dir), "--log-level", "warning", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # The token in the environment, not in the process list every account can read.
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PRAKERJA_CENTRAL_TOKENS": f"{office}:{token}"},
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
        raise RuntimeError("the central server did not start")
    # Keep reading the server's log: a full pipe would block the server on its next log line.
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
