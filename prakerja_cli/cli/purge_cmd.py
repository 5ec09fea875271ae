"""`prakerja purge`: remove the personal fields of records the central system has verified."""

from __future__ import annotations

from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, err, out


def purge(
    verified_before: Annotated[
        str,
        typer.Option(
            "--verified-before",
            metavar="DATE",
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Remove NIK, KK, name, birth date, phone, e-mail and address of registrations the central
    system verified before a day. The NIK's keyed hash is kept, so it is still refused as a
    duplicate; region, gender, education, statuses and dates stay for the statistics. Cannot be
    undone; backups made earlier still hold the data."""
    from datetime import date, timedelta

    from prakerja_cli.cli.common import confirm, parse_day
    from prakerja_cli.errors import CancelledError, UsageError
    from prakerja_cli.i18n import format as fmt
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.purge import purge as purge_records

    day = parse_day(verified_before, "--verified-before")
    assert day is not None
    tomorrow = date.today() + timedelta(days=1)
    if day > tomorrow:  # a mistyped year would purge everything verified so far
        raise UsageError("error.purge_future", hint="hint.purge_future",
                         value=verified_before, tomorrow=fmt.day(tomorrow))  # fmt: skip
    ws = open_workspace()
    if not dry_run and not yes:
        preview = purge_records(ws.db, ws.office, day, dry_run=True)
        question = t("prompt.confirm_purge", count=preview.records, date=fmt.day(day))
        if preview.records and not confirm(question):
            raise CancelledError("msg.cancelled_unchanged")
    result = purge_records(ws.db, ws.office, day, dry_run=dry_run)
    if json_output:
        emit_json(result.to_json())
        return
    when = fmt.day(day)
    if not result.records:
        out.print(t("msg.purge_nothing", date=when), markup=False)
    else:
        key = "msg.purge_dry_run" if dry_run else "msg.purged"
        out.print(t(key, count=result.records, date=when), markup=False)
        for month, count in result.by_month.items():
            out.print(t("msg.purge_month", month=fmt.month(month), count=count), markup=False)
        if result.withdrawn:
            out.print(t("msg.purge_withdrawn", count=result.withdrawn), markup=False)
    if dry_run:
        return
    if not result.vacuumed:
        err.print(t("msg.purge_not_vacuumed", date=when), markup=False)
    if result.records:
        err.print(t("msg.purge_backups"), markup=False)
