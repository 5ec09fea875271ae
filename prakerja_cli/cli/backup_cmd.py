"""`prakerja backup` and `prakerja restore`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out

if TYPE_CHECKING:
    from prakerja_cli.store.backup import Comparison


def backup(
    dest: Annotated[Path | None, typer.Argument()] = None,
    keep: Annotated[int, typer.Option()] = 7,
    force: Annotated[bool, typer.Option("--force")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Copy the database and the office key while desks keep working, verify the copy; in a folder
    keep the last N, or write exactly one FILE.db (an existing one only with --force)."""
    from prakerja_cli.config import app_dir, db_path, office_key
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.audit import head
    from prakerja_cli.store.backup import backup as make_backup

    ws = open_workspace()  # migrated first: the copy carries the store id a restore reads
    # The chain's head before the copy: the copy holds it. Written down (the handover, the
    # supervisor's book), it is an anchor outside the PC, as the one each sync sends.
    seq, digest = head(ws.db)
    ws.db.close()
    target = dest or app_dir() / "backups"
    result = make_backup(db_path(), target, key=office_key(), keep=keep, force=force)
    if json_output:
        emit_json({"file": str(result.path), "counts": result.counts,
                   "removed": [str(p) for p in result.removed],
                   "audit_head": f"{seq}:{digest}"})  # fmt: skip
        return
    out.print(
        t("msg.backup_done", file=str(result.path), applicants=result.counts["applicants"]),
        markup=False,
    )
    out.print(t("msg.backup_audit_head", seq=seq, head=digest[:16]), markup=False)


def restore(
    file: Annotated[Path, typer.Argument()],
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
    last_number: Annotated[
        str | None,
        typer.Option(
            "--last-number",
        ),
    ] = None,
    recovery_key: Annotated[bool, typer.Option("--recovery-key")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Replace the database and office key with a verified backup of this office; the current ones
    are kept aside. Registrations already sent to the central system are kept; numbering goes on
    after the highest number this desk gave."""
    from prakerja_cli.cli.common import confirm, err
    from prakerja_cli.config import load_config
    from prakerja_cli.errors import CancelledError
    from prakerja_cli.i18n import t
    from prakerja_cli.office import preview_restore, restore_office

    key = _backup_key() if recovery_key else None
    compared = preview_restore(file, key)
    if not yes and not confirm(_restore_question(compared), default=False):
        raise CancelledError("msg.cancelled_unchanged")
    result = restore_office(file, last_number, key)
    key_aside = str(result.key_set_aside) if result.key_set_aside else None
    if json_output:
        emit_json({"restored": str(file), "set_aside": str(result.set_aside),
                   "counts": result.counts, "key": result.key, "key_set_aside": key_aside,
                   "audit_key_mismatch": result.key_mismatch, "carried": result.carried,
                   "removed": result.compared.removed, "next_number": result.next_number,
                   "numbering_locked": result.numbering_locked})  # fmt: skip
        return
    out.print(t("msg.restored", file=file.name, aside=str(result.set_aside)), markup=False)
    if result.carried:
        out.print(t("msg.restore_carried", count=len(result.carried)), markup=False)
    if key_aside:
        out.print(t("msg.restore_key_aside", aside=key_aside), markup=False)
    if result.key_mismatch:
        err.print(t("msg.restore_no_key"), markup=False)
    if result.numbering_locked:
        config = load_config()
        err.print(t("msg.restore_numbering_locked", desk=config.desk), markup=False)
        err.print(t("hint.numbering_unknown", office=config.office_code, desk=config.desk),
                  markup=False)  # fmt: skip
    else:
        out.print(t("msg.restore_next_number", number=result.next_number), markup=False)


def _backup_key() -> bytes:
    """The recovery key of an encrypted backup made under another key (another PC of this
    office): asked at a terminal, else one line of stdin."""
    import sys

    from prakerja_cli import vault
    from prakerja_cli.cli.common import ask, stdin_is_terminal
    from prakerja_cli.errors import UsageError
    from prakerja_cli.i18n import t

    if stdin_is_terminal():
        text = ask(t("prompt.backup_recovery_key"), option="--recovery-key")
    else:
        text = sys.stdin.readline()
    key = vault.parse_key(text)
    if key is None:
        raise UsageError("error.recovery_key_format", hint="hint.recovery_key")
    return key


def _restore_question(compared: Comparison) -> str:
    """What a restore drops and keeps, then the question."""
    from prakerja_cli.i18n import t

    if compared.current is None:
        lines = [t("prompt.restore_no_current", backup=compared.backup)]
    else:
        lines = [t("prompt.restore_counts", current=compared.current, backup=compared.backup)]
        if compared.removed:
            lines.append(t("prompt.restore_removed", removed=compared.removed))
        else:
            lines.append(t("prompt.restore_nothing_lost"))
        if compared.carried:
            lines.append(t("prompt.restore_carried", carried=len(compared.carried)))
    return "\n".join([*lines, t("prompt.confirm_restore")])
