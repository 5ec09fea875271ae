"""`prakerja hub`: the office hub on the supervisor's PC (docs/office.md): serve the office's
desks over the LAN, enrol and revoke desks, and show what each desk has sent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, err, out

app = typer.Typer(no_args_is_help=True)


@app.command("enrol")
def enrol(
    desk: Annotated[str, typer.Argument()],
    desk_key: Annotated[Path | None, typer.Option("--desk-key")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Enrol a desk; its token is shown once. With --desk-key, for USB bundles too."""
    from prakerja_cli.hub.store import enrol as enrol_desk
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    ws = open_workspace()
    bundle_key = None
    if desk_key is not None:
        from prakerja_cli.bundle.keys import read_public

        bundle_key = read_public(desk_key)
    token = enrol_desk(ws.db, ws.office, desk, bundle_key)
    name = token.split(".", 1)[0]
    document: dict[str, Any] = {"desk": name, "token": token}
    lines = [t("msg.hub_enrolled", desk=name), token]
    if bundle_key is not None and desk_key is not None:
        from prakerja_cli.bundle.exchange import write_public

        # The hub's own key goes back on the same USB stick, beside the desk's.
        path, hub_key = write_public(ws, desk_key.parent)
        document.update(desk_fingerprint=bundle_key.fingerprint, hub_key_file=str(path),
                        hub_fingerprint=hub_key.fingerprint)  # fmt: skip
        lines.append(t("msg.hub_enrolled_key", desk=name, fingerprint=bundle_key.fingerprint,
                       file=str(path), hub_fingerprint=hub_key.fingerprint))  # fmt: skip
    if json_output:
        emit_json(document)
        return
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)


@app.command("revoke")
def revoke(desk: Annotated[str, typer.Argument()], json_output: JsonOpt = False) -> None:
    """Revoke a desk's token: the hub refuses it from now on."""
    from prakerja_cli.hub.store import revoke as revoke_desk
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    ws = open_workspace()
    revoke_desk(ws.db, ws.office, desk)
    if json_output:
        emit_json({"desk": desk.strip().upper(), "revoked": True})
        return
    out.print(t("msg.hub_revoked", desk=desk.strip().upper()), markup=False)


@app.command("desks")
def desks(json_output: JsonOpt = False) -> None:
    """The enrolled desks: records held, their central states, duplicates answered, possible
    duplicates warned of."""
    from prakerja_cli.hub.store import desks as list_desks
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    rows = list_desks(open_workspace().db)
    if json_output:
        emit_json({"desks": rows})
        return
    if not rows:
        out.print(t("msg.hub_no_desks"), markup=False)
    for row in rows:
        states = ", ".join(f"{t('central.' + k)} {v}" for k, v in sorted(row["states"].items()))
        key = "msg.hub_desk_revoked" if row["revoked_at"] else "msg.hub_desk_line"
        out.print(t(key, desk=row["desk"], records=row["records"], states=states or "-",
                    duplicates=row["duplicates"], possible=row["possible_duplicates"]),
                  markup=False)  # fmt: skip


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8710,
    forward: Annotated[bool, typer.Option("--forward")] = False,
    forward_every: Annotated[float, typer.Option("--forward-every", min=1.0)] = 60.0,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Serve the central API to the office's desks until Ctrl+C. Logs go to stderr."""
    import threading

    from prakerja_cli.central.app import build_server, listen
    from prakerja_cli.config import db_path
    from prakerja_cli.errors import UsageError
    from prakerja_cli.hub.app import HubSettings, create_hub_app, forward_loop
    from prakerja_cli.office import open_workspace

    if log_level not in ("debug", "info", "warning", "error"):
        raise UsageError("error.hub_log_level", hint="hint.hub_log_level", level=log_level)
    ws = open_workspace()
    path = db_path()
    ws.db.conn.close()
    asgi = create_hub_app(HubSettings(db_path=path, office=ws.office))
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise UsageError(
            "error.hub_listen", hint="hint.hub_listen", address=f"{host}:{port}",
            reason=exc.strerror or str(exc),
        ) from None  # fmt: skip
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    err.print(f"prakerja hub: listening on http://{shown}:{bound_port}", markup=False)
    import ipaddress

    if not ipaddress.ip_address(bound_host).is_loopback:
        err.print(
            f"prakerja hub: warning: {host} is reachable from other computers over plain HTTP "
            "(desk tokens and records unencrypted on the LAN); put a TLS-terminating proxy in "
            "front of it (docs/office.md)",
            markup=False,
        )
    err.print(
        f"  office {ws.office.office_code}, hub desk {ws.office.desk}; "
        f"forward {'every ' + format(forward_every, 'g') + ' s' if forward else 'off'}",
        markup=False,
    )
    stop = threading.Event()
    if forward:
        forward_loop(forward_every, stop, lambda line: err.print(line, markup=False))
    try:
        build_server(asgi, log_level=log_level).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        asgi.state.hub.close()
    err.print("prakerja hub: stopped", markup=False)
