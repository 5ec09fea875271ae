"""`prakerja central`: run the reference central server, and count what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from prakerja_cli.central.limits import MAX_BODY_BYTES
from prakerja_cli.cli.common import JsonOpt, emit_json, err, fail, out

if TYPE_CHECKING:
    from prakerja_cli.central.app import Faults, Settings

app = typer.Typer(
    no_args_is_help=True,
)

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        file_okay=False,
    ),
]

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", envvar="PRAKERJA_CENTRAL_DATABASE", show_envvar=False),
]

_EXTRA_HINT = 'pip install "prakerja-cli[central]"'
_POSTGRES_HINT = 'pip install "prakerja-cli[postgres]"'
#: Worker processes at most (each keeps up to --pool-size connections to PostgreSQL).
MAX_WORKERS = 64


def _usage(message: str, hint: str | None = None) -> NoReturn:
    """An expected failure of the server's set-up (exit 2), reported like every other one (also
    when `central_cmd.app` runs on its own). English text: this is an IT tool."""
    from prakerja_cli.errors import UsageError

    failure = UsageError("error.central_setup", hint="hint.central_setup" if hint else None,
                         message=message, advice=hint)  # fmt: skip
    raise fail(failure)


def _data_dir(value: Path | None) -> Path:
    from prakerja_cli.config import app_dir

    return value if value is not None else app_dir() / "central"


def _token_lines(path: Path | None) -> list[str]:
    """The tokens of a --token-file: one OFFICE:TOKEN (or TOKEN) per line; # starts a comment."""
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _usage(f"cannot read the token file {path}: {exc}")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _settings(
    data_dir: Path,
    tokens: list[str],
    regions: Path | None,
    registry: Path | None,
    wave: int,
    faults: Faults,
    max_batch_bytes: int,
    database: str | None = None,
    pool_size: int = 8,
) -> Settings:
    """Raises SetupError for an unusable token, registry or regions file."""
    from prakerja_cli.central.app import Settings, Tokens
    from prakerja_cli.central.registry import load_registry

    parsed = Tokens.from_options(tokens)
    if not parsed.entries:
        _usage(
            "no token: the server would refuse every request",
            "Set PRAKERJA_CENTRAL_TOKENS=OFFICE:TOKEN (e.g. 3273:rahasia; a bare TOKEN is for any "
            "office) or give --token-file FILE (one per line); --token on the command line is "
            "seen by every account's process list.",
        )
    return Settings(
        data_dir=data_dir,
        tokens=parsed,
        registry=load_registry(registry) if registry is not None else None,
        regions_csv=regions,
        wave=wave or None,
        faults=faults,
        max_body_bytes=max_batch_bytes,
        database=database,
        pool_size=pool_size,
    )


def _check_database(database: str | None, workers: int) -> None:
    """Refuse, in one line, what cannot work before anything starts."""
    from prakerja_cli.central.store import is_postgres_url

    if database is not None and not is_postgres_url(database):
        _usage(
            "--database takes a postgresql:// URL",
            "Leave it out for SQLite in --data-dir, or give e.g. "
            "postgresql://prakerja@dbhost/prakerja (the password in PGPASSWORD or ~/.pgpass, "
            "not in the URL: every account can read the process list).",
        )
    if database is not None:
        try:
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError:
            _usage("the PostgreSQL engine needs psycopg and psycopg-pool", _POSTGRES_HINT)
    if workers > 1 and database is None:
        _usage(
            "--workers needs --database postgresql://...: SQLite is one file that one process "
            "writes at a time",
            "Run one process on SQLite, or give several workers a PostgreSQL database.",
        )


def _open_failure(database: str | None, folder: Path, exc: Exception) -> str:
    from prakerja_cli.central.postgres_store import masked

    where = f"at {masked(database)}" if database else f"in {folder}"
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return f"cannot open the central database {where}: {detail}"


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8700,
    data_dir: DataDirOpt = None,
    token: Annotated[
        list[str] | None,
        typer.Option(
            "--token",
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", dir_okay=False),
    ] = None,
    regions: Annotated[
        Path | None,
        typer.Option(
            "--regions",
            dir_okay=False,
        ),
    ] = None,
    registry: Annotated[
        Path | None,
        typer.Option(
            "--registry",
            dir_okay=False,
        ),
    ] = None,
    wave: Annotated[int, typer.Option("--wave", min=0)] = 1,
    latency: Annotated[float, typer.Option("--latency", min=0.0)] = 0.0,
    error_rate: Annotated[float, typer.Option("--error-rate", min=0.0, max=1.0)] = 0.0,
    throttle_rate: Annotated[float, typer.Option("--throttle-rate", min=0.0, max=1.0)] = 0.0,
    drop_rate: Annotated[
        float,
        typer.Option(
            "--drop-rate",
            min=0.0,
            max=1.0,
        ),
    ] = 0.0,
    retry_after: Annotated[int, typer.Option("--retry-after", min=0)] = 1,
    fault_seed: Annotated[int | None, typer.Option("--fault-seed")] = None,
    max_batch_bytes: Annotated[
        int,
        typer.Option(
            "--max-batch-bytes",
            min=1000,
            max=MAX_BODY_BYTES,
        ),
    ] = MAX_BODY_BYTES,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
    database: DatabaseOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=MAX_WORKERS)] = 1,
    pool_size: Annotated[int, typer.Option("--pool-size", min=1, max=100)] = 8,
) -> None:
    """Run the reference central server on HTTP until Ctrl+C. Logs go to stderr."""
    try:
        from prakerja_cli.central.app import Faults, build_server, create_app, listen
    except ImportError:
        _usage("the central server needs Starlette and uvicorn", _EXTRA_HINT)
    if log_level not in ("debug", "info", "warning", "error"):
        _usage(f"--log-level {log_level}: use debug, info, warning or error")
    faults = Faults(
        latency=latency,
        error_rate=error_rate,
        throttle_rate=throttle_rate,
        drop_rate=drop_rate,
        retry_after=retry_after,
        seed=fault_seed,
    )
    import ipaddress

    from prakerja_cli.central.contract import SetupError
    from prakerja_cli.central.store import database_errors

    _check_database(database, workers)
    folder = _data_dir(data_dir)
    try:
        tokens = [*(token or []), *_token_lines(token_file)]
        settings = _settings(
            folder, tokens, regions, registry, wave, faults, max_batch_bytes, database, pool_size
        )
        # Made here also with several workers: the schema is migrated once, and a wrong URL or
        # an unreachable database is one line before anything listens.
        asgi = create_app(settings)
    except SetupError as exc:
        _usage(str(exc))
    except database_errors(database) as exc:
        _usage(_open_failure(database, folder, exc))
    try:
        sock = listen(host, port)
    except OSError as exc:
        _usage(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    registry_text = (
        f"{settings.registry.source} ({len(settings.registry)} people)"
        if settings.registry
        else "none (every well-formed record is verified)"
    )
    err.print(f"prakerja central: listening on http://{shown}:{bound_port}", markup=False)
    if not ipaddress.ip_address(bound_host).is_loopback:
        # The server speaks plain HTTP: beyond this computer, tokens and records cross the
        # network in clear unless something in front of it terminates TLS.
        err.print(
            f"prakerja central: warning: {host} is reachable from other computers over plain "
            "HTTP (tokens and records unencrypted); put a TLS-terminating proxy in front of it "
            "(docs/central-server.md#over-a-network)",
            markup=False,
        )
    store = asgi.state.central.store
    err.print(
        f"  data {store.describe()}; {settings.tokens.describe()}; registry {registry_text}; "
        f"regions {asgi.state.central.region_list.source}; faults {faults.describe()}"
        + (f"; {workers} worker processes" if workers > 1 else ""),
        markup=False,
    )
    if workers > 1:
        from prakerja_cli.central.workers import serve_workers

        store.close()
        status = serve_workers(settings, sock, workers, log_level)
        err.print("prakerja central: stopped", markup=False)
        if status:
            raise typer.Exit(1)
        return
    try:
        build_server(asgi, log_level=log_level).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn stops gracefully on Ctrl+C, then raises it again; for a server it is the way out.
        pass
    finally:
        asgi.state.central.store.close()
    err.print("prakerja central: stopped", markup=False)


@app.command("stats")
def stats(
    data_dir: DataDirOpt = None, database: DatabaseOpt = None, json_output: JsonOpt = False
) -> None:
    """Count the server's registrations (= distinct NIKs), per office, per outcome."""
    from prakerja_cli.central.store import StoreMissingError, database_errors, open_store

    _check_database(database, 1)
    folder = _data_dir(data_dir)
    try:
        store = open_store(folder, database, create=False, pool_size=1)
        try:
            counts = store.stats()
        finally:
            store.close()
    except StoreMissingError:
        where = "at that --database" if database else f"in {folder}"
        _usage(f"no central database {where}", "Start `prakerja central serve` there first.")
    except database_errors(database) as exc:
        _usage(_open_failure(database, folder, exc).replace("open", "read", 1))
    if json_output:
        emit_json(counts)
        return
    _render(counts)


def _render(counts: dict[str, Any]) -> None:
    out.print(
        f"registrations {counts['registrations']} (distinct NIK {counts['distinct_nik']}), "
        f"batches {counts['batches']}",
        markup=False,
    )
    for title in ("offices", "outcomes", "reasons", "events", "registry_reasons"):
        values = counts[title]
        if values:
            out.print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in values.items()), markup=False)
