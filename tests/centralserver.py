"""Run the reference central server for real, on loopback, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prakerja_cli.central.launch import running_server

TOKEN = "rahasia-kantor-3273"


@contextmanager
def central(data_dir: Path, *options: str, port: int = 0) -> Iterator[str]:
    """Start `prakerja central serve` with this office's token; yield its base URL."""
    with running_server(data_dir, TOKEN, *options, port=port) as url:
        yield url


def stats(data_dir: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "prakerja_cli", "central", "stats", "--data-dir", str(data_dir), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))
