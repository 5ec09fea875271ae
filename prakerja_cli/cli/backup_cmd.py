"""`prakerja backup` and `prakerja restore`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out


def backup(
    dest: Annotated[
        Path | None,
        typer.Argument(help="Folder for backups (default: backups/ in the data folder)."),
    ] = None,
    keep: Annotated[int, typer.Option(help="How many backups to keep in that folder.")] = 7,
    json_output: JsonOpt = False,
) -> None:
    """Copy the database while desks keep working, verify the copy, keep the last N.

    Example: prakerja backup D:\\cadangan --keep 14
    """
    from prakerja_cli.config import app_dir, db_path, load_config
    from prakerja_cli.i18n import t
    from prakerja_cli.store.backup import backup as make_backup

    load_config()
    folder = dest or app_dir() / "backups"
    result = make_backup(db_path(), folder, keep=max(1, keep))
    if json_output:
        emit_json({"file": str(result.path), "counts": result.counts,
                   "removed": [str(p) for p in result.removed]})  # fmt: skip
        return
    out.print(
        t("msg.backup_done", file=str(result.path), applicants=result.counts["applicants"]),
        markup=False,
    )


def restore(
    file: Annotated[Path, typer.Argument(help="A backup made by `prakerja backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Replace the database with a verified backup of this office; the current one is kept aside.

    Example: prakerja restore D:\\cadangan\\prakerja-20261123-013000-000000.db
    """
    from prakerja_cli.cli.common import confirm
    from prakerja_cli.config import db_path, load_config
    from prakerja_cli.errors import CancelledError
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store import audit
    from prakerja_cli.store.backup import check_backup
    from prakerja_cli.store.backup import restore as restore_backup
    from prakerja_cli.store.db import write

    config = load_config()
    counts = check_backup(file, config.office_code)
    if not yes and not confirm(t("prompt.confirm_restore", applicants=counts["applicants"])):
        raise CancelledError("msg.cancelled")
    aside, counts = restore_backup(file, db_path(), config.office_code)
    ws = open_workspace()  # applies any newer migrations to the restored copy
    with write(ws.db):
        audit.record(
            ws.db, ws.office, "restore", None, {"file": file.name, "set_aside": aside.name}
        )
    if json_output:
        emit_json({"restored": str(file), "set_aside": str(aside), "counts": counts})
        return
    out.print(t("msg.restored", file=file.name, aside=str(aside)), markup=False)
