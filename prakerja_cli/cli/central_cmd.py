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

_EXTRA_HINT = 'pip install "prakerja-cli[central]"'


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
    )


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
    import sqlite3

    from prakerja_cli.central.contract import SetupError

    folder = _data_dir(data_dir)
    try:
        tokens = [*(token or []), *_token_lines(token_file)]
        settings = _settings(folder, tokens, regions, registry, wave, faults, max_batch_bytes)
        asgi = create_app(settings)
    except SetupError as exc:
        _usage(str(exc))
    except (sqlite3.Error, OSError) as exc:
        _usage(f"cannot open the central database in {folder}: {exc}")
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
    err.print(
        f"  data {folder}; {settings.tokens.describe()}; registry {registry_text}; "
        f"regions {asgi.state.central.region_list.source}; faults {faults.describe()}",
        markup=False,
    )
    try:
        build_server(asgi, log_level=log_level).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn stops gracefully on Ctrl+C, then raises it again; for a server it is the way out.
        pass
    finally:
        asgi.state.central.store.close()
    err.print("prakerja central: stopped", markup=False)


@app.command("stats")
def stats(data_dir: DataDirOpt = None, json_output: JsonOpt = False) -> None:
    """Count the server's registrations (= distinct NIKs), per office, per outcome."""
    import sqlite3

    from prakerja_cli.central.store import CentralStore, StoreMissingError

    folder = _data_dir(data_dir)
    try:
        store = CentralStore(folder, create=False)
        try:
            counts = store.stats()
        finally:
            store.close()
    except StoreMissingError:
        _usage(f"no central database in {folder}", "Start `prakerja central serve` there first.")
    except (sqlite3.Error, OSError) as exc:
        _usage(f"cannot read the central database in {folder}: {exc}")
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
