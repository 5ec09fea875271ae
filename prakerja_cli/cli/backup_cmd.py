"""`prakerja backup` and `prakerja restore`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out


def backup(
    dest: Annotated[Path | None, typer.Argument()] = None,
    keep: Annotated[int, typer.Option()] = 7,
    json_output: JsonOpt = False,
) -> None:
    """Copy the database and the office key while desks keep working, verify the copy; in a folder
    keep the last N, or write exactly one new FILE.db."""
    from prakerja_cli.config import app_dir, db_path, load_config, office_key
    from prakerja_cli.i18n import t
    from prakerja_cli.store.backup import backup as make_backup

    load_config()
    target = dest or app_dir() / "backups"
    result = make_backup(db_path(), target, key=office_key(), keep=keep)
    if json_output:
        emit_json({"file": str(result.path), "counts": result.counts,
                   "removed": [str(p) for p in result.removed]})  # fmt: skip
        return
    out.print(
        t("msg.backup_done", file=str(result.path), applicants=result.counts["applicants"]),
        markup=False,
    )


def restore(
    file: Annotated[Path, typer.Argument()],
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Replace the database and office key with a verified backup of this office; the current ones
    are kept aside."""
    from prakerja_cli.cli.common import confirm, err
    from prakerja_cli.config import load_config
    from prakerja_cli.errors import CancelledError
    from prakerja_cli.i18n import t
    from prakerja_cli.office import restore_office
    from prakerja_cli.store.backup import check_backup

    info = check_backup(file, load_config().office_code)
    if not yes and not confirm(t("prompt.confirm_restore", applicants=info.counts["applicants"])):
        raise CancelledError("msg.cancelled")
    result = restore_office(file)
    key_aside = str(result.key_set_aside) if result.key_set_aside else None
    if json_output:
        emit_json({"restored": str(file), "set_aside": str(result.set_aside),
                   "counts": result.counts, "key": result.key, "key_set_aside": key_aside,
                   "audit_key_mismatch": result.key_mismatch})  # fmt: skip
        return
    out.print(t("msg.restored", file=file.name, aside=str(result.set_aside)), markup=False)
    if key_aside:
        out.print(t("msg.restore_key_aside", aside=key_aside), markup=False)
    if result.key_mismatch:
        err.print(t("msg.restore_no_key"), markup=False)
