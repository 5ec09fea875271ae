"""`prakerja export`: stored registrations to .xlsx or .csv, the recap handed to the ministry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, SinceOpt, UntilOpt, emit_json, out

#: Without --status the recap holds the live registrations: a withdrawn one is not handed over.
DEFAULT_STATUSES = ("valid", "flagged")


def export(
    out_file: Annotated[Path, typer.Argument()],
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            show_default=False,
        ),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    reveal: Annotated[
        bool,
        typer.Option("--reveal"),
    ] = False,
    force: Annotated[bool, typer.Option("--force")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Export registrations, oldest first, in the roster's columns (the file imports again)."""
    from prakerja_cli.cli.common import parse_choice, parse_day
    from prakerja_cli.desk import export_registrations
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.applicants import STATUSES

    chosen = [parse_choice(s, STATUSES, "status", "--status") for s in status or DEFAULT_STATUSES]
    wanted = tuple(dict.fromkeys(chosen))
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    ws = open_workspace()
    count = export_registrations(ws, out_file, statuses=wanted, since=first, until=last,
                                 reveal=reveal, force=force)  # fmt: skip
    if json_output:
        emit_json({"file": str(out_file.resolve()), "rows": count, "revealed": reveal})
        return
    key = "msg.exported_revealed" if reveal else "msg.exported"
    out.print(t(key, rows=count, file=str(out_file)), markup=False)
