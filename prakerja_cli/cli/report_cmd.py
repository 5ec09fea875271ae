"""`prakerja report`: the recap of a day, week, month or range, on screen, as xlsx, PDF or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out

if TYPE_CHECKING:
    from prakerja_cli.paper.recap import Recap

DateOpt = Annotated[str | None, typer.Option("--date")]
FromOpt = Annotated[str | None, typer.Option("--from")]
ToOpt = Annotated[str | None, typer.Option("--to")]
WeekOpt = Annotated[str | None, typer.Option("--week")]
MonthOpt = Annotated[str | None, typer.Option("--month")]
#: Bars of the terminal chart: at most this many cells for the largest count (80 columns fit).
BAR_CELLS = 24


def report(
    on: DateOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    week: WeekOpt = None,
    month: MonthOpt = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf")] = None,
    force: Annotated[bool, typer.Option("--force")] = False,
    json_output: JsonOpt = False,
) -> None:
    """The recap of a period: by status, central state, desk, kecamatan, findings, profile."""
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.paper.period import parse_period
    from prakerja_cli.paper.recap import compute_recap

    period = parse_period(on=on, first=from_, last=to, week=week, month=month)
    if xlsx is not None:
        from prakerja_cli.paper.workbook import check_xlsx

        check_xlsx(xlsx, force=force)
    if pdf is not None:
        from prakerja_cli.paper.documents import check_pdf

        check_pdf(pdf, force=force)
    ws = open_workspace()
    recap = compute_recap(ws.db, period, office_code=ws.office.office_code,
                          office_name=ws.config.office_name)  # fmt: skip
    written: list[str] = []
    if xlsx is not None:
        from prakerja_cli.paper.workbook import write_recap_workbook

        write_recap_workbook(recap, xlsx)
        written.append(str(xlsx))
    if pdf is not None:
        from prakerja_cli.paper.documents import write_recap_pdf

        write_recap_pdf(recap, pdf)
        written.append(str(pdf))
    if json_output:
        emit_json({**recap.to_json(), "files": [str(Path(w).resolve()) for w in written]})
        return
    render_recap(recap)
    for name in written:
        out.print(t("msg.report_written", file=name), markup=False)


def render_recap(recap: Recap) -> None:
    """Tables with bar charts, each fitting an 80-column console."""
    from rich.table import Table

    from prakerja_cli.cli.common import escape
    from prakerja_cli.i18n import t
    from prakerja_cli.i18n.format import number
    from prakerja_cli.paper.recap import finding_explanation, label

    out.print(f"[bold]{escape(t('report.title', office=recap.office_name))}[/]")
    out.print(escape(t("report.period", period=recap.period.label())))
    out.print(escape(t("report.summary", total=number(recap.total), registered=number(recap.registered),
                       withdrawn=number(recap.withdrawn), unsent=number(recap.unsent))))  # fmt: skip
    for name, rows in recap.breakdowns.items():
        if not rows:
            continue
        top = max(n for _, n in rows) or 1
        table = Table(title=t(f"report.breakdown.{name}"), title_justify="left", box=None,
                      pad_edge=False, show_header=False, width=min(out.width, 80))  # fmt: skip
        table.add_column(ratio=3, overflow="fold")
        table.add_column(justify="right", no_wrap=True, min_width=6)
        table.add_column(ratio=2, no_wrap=True, overflow="crop")
        for code, count in rows:
            shown = label(name, code)
            if name == "finding" and code != "*":
                explanation = finding_explanation(code, recap.finding_fields.get(code))
                shown = f"{code}: {explanation}" if explanation else code
            bar = "█" * max(1, round(BAR_CELLS * count / top)) if count else ""
            table.add_row(escape(shown), number(count), f"[cyan]{bar}[/]")
        out.print()
        out.print(table)
