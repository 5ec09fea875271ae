"""`prakerja purge`: remove the personal fields of records the central system has verified, or
(`--retention`) of withdrawn and refused records past the office's retention period."""

from __future__ import annotations

from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, err, out


def purge(
    verified_before: Annotated[
        str | None,
        typer.Option(
            "--verified-before",
            metavar="DATE",
        ),
    ] = None,
    retention: Annotated[bool, typer.Option("--retention")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Remove NIK, KK, name, birth date, phone, e-mail and address of registrations the central
    system verified before a day. The NIK's keyed hash is kept, so it is still refused as a
    duplicate; region, gender, education, statuses and dates stay for the statistics. Cannot be
    undone; backups made earlier still hold the data. With --retention instead: the same for
    withdrawn and centrally refused records unchanged for the retention period."""
    from datetime import date, timedelta

    from prakerja_cli.cli.common import confirm, parse_day
    from prakerja_cli.errors import CancelledError, UsageError
    from prakerja_cli.i18n import format as fmt
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.purge import purge as purge_records

    if retention == (verified_before is not None):  # one of the two, not both
        raise UsageError("error.purge_mode", hint="hint.purge_mode")
    parsed = parse_day(verified_before, "--verified-before")
    tomorrow = date.today() + timedelta(days=1)
    if parsed is not None and parsed > tomorrow:  # a mistyped year would purge all verified so far
        raise UsageError("error.purge_future", hint="hint.purge_future",
                         value=verified_before, tomorrow=fmt.day(tomorrow))  # fmt: skip
    ws = open_workspace()
    # --retention: withdrawn and refused records unchanged for the office's retention period.
    day = parsed or date.today() - timedelta(days=ws.config.retention())
    mode = "retention" if retention else "purge"
    when = fmt.day(day)
    if not dry_run and not yes:
        preview = purge_records(ws.db, ws.office, day, dry_run=True, retention=retention)
        question = t(f"prompt.confirm_{mode}", count=preview.records, date=when)
        if preview.records and not confirm(question):
            raise CancelledError("msg.cancelled_unchanged")
    result = purge_records(ws.db, ws.office, day, dry_run=dry_run, retention=retention)
    if json_output:
        emit_json(result.to_json())
        return
    if not result.records:
        out.print(t(f"msg.{mode}_nothing", date=when), markup=False)
    else:
        key = (
            f"msg.{mode}_dry_run" if dry_run else f"msg.{mode}_done" if retention else "msg.purged"
        )
        out.print(t(key, count=result.records, date=when), markup=False)
        for month, count in result.by_month.items():
            out.print(t(f"msg.{mode}_month", month=fmt.month(month), count=count), markup=False)
        for kind, count in result.by_kind.items():
            out.print(t("msg.retention_kind", kind=t(f"label.retired.{kind}"), count=count),
                      markup=False)  # fmt: skip
        if result.withdrawn and not retention:
            out.print(t("msg.purge_withdrawn", count=result.withdrawn), markup=False)
    if dry_run:
        return
    if not result.vacuumed:
        again = "--retention" if retention else f"--verified-before {day.isoformat()}"
        err.print(t("msg.purge_not_vacuumed", again=again), markup=False)
    if result.records:
        err.print(t("msg.purge_backups"), markup=False)
