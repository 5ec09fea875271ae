"""`prakerja handover`: the Permenaker 17/2020 package for a period (recap, BAST, manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out
from prakerja_cli.cli.report_cmd import DateOpt, FromOpt, MonthOpt, ToOpt, WeekOpt


def handover(
    target: Annotated[Path, typer.Argument()],
    on: DateOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    week: WeekOpt = None,
    month: MonthOpt = None,
    force: Annotated[bool, typer.Option("--force")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Write the handover package of a period: recap xlsx, BAST PDF, manifest; folder or .zip."""
    from prakerja_cli.i18n import t
    from prakerja_cli.i18n.format import number
    from prakerja_cli.office import open_workspace
    from prakerja_cli.paper.handover import check_target, make_handover
    from prakerja_cli.paper.period import parse_period

    period = parse_period(on=on, first=from_, last=to, week=week, month=month)
    check_target(target, force=force)
    ws = open_workspace()
    result = make_handover(ws, period, target)
    if json_output:
        emit_json(result.to_json())
        return
    out.print(t("msg.handover_written", path=str(target), period=period.label()), markup=False)
    for name, digest in result.files.items():
        out.print(f"  {name}  SHA-256 {digest}", markup=False)
    out.print(t("msg.handover_plain"), markup=False)
    out.print(t("msg.handover_counts", registered=number(result.registered),
                withdrawn=number(result.withdrawn), unsent=number(result.unsent)), markup=False)  # fmt: skip
    if result.unsent:
        out.print(f"[yellow]{t('msg.handover_unsent', unsent=number(result.unsent))}[/]")
    if result.previous:
        if result.changed or result.added or result.removed:
            for key, numbers in (("msg.handover_changed", result.changed),
                                 ("msg.handover_added", result.added),
                                 ("msg.handover_removed", result.removed)):  # fmt: skip
                if numbers:
                    out.print(f"[bold yellow]{t(key, numbers=', '.join(numbers))}[/]")
        else:
            out.print(t("msg.handover_unchanged"), markup=False)
