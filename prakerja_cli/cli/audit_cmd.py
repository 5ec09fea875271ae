"""`prakerja audit`: read and verify the tamper-evident audit trail."""

from __future__ import annotations

from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, data_row, emit_json, err, out, print_wide

app = typer.Typer(no_args_is_help=True)


@app.command("verify")
def verify(
    anchor: Annotated[str | None, typer.Option("--anchor")] = None, json_output: JsonOpt = False
) -> None:
    """Check the whole chain; name the first edited, inserted or deleted entry (exit 1)."""
    from dataclasses import replace

    from prakerja_cli.errors import ExitCode
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.audit import holds, parse_anchor
    from prakerja_cli.store.audit import verify as verify_chain

    written = parse_anchor(anchor) if anchor is not None else None
    ws = open_workspace()
    result = verify_chain(ws.db)
    if written is not None and not holds(ws.db, *written) and result.anchor_lost is None:
        result = replace(result, anchor_lost=f"{written[0]}:{written[1]}")
    if json_output:
        emit_json({"entries": result.entries, "intact": result.intact,
                   "broken_at": result.broken_at, "problem": result.problem,
                   "changed": list(result.changed), "anchor_lost": result.anchor_lost})  # fmt: skip
    elif result.broken_at is None and result.intact:
        out.print(t("msg.audit_ok", count=result.entries), markup=False)
    elif result.problem == "key":
        err.print(t("msg.audit_key", seq=result.broken_at), markup=False)
        err.print(f"{t('label.hint')}: {t('fix.audit_key')}", markup=False)
    elif result.broken_at is not None:
        problem = t(f"audit.{result.problem}")
        err.print(t("msg.audit_broken", seq=result.broken_at, problem=problem), markup=False)
    if result.broken_at is None and not result.intact and not json_output:
        if result.anchor_lost:
            seq, _, anchor = result.anchor_lost.partition(":")
            err.print(t("msg.audit_anchor_lost", seq=seq, anchor=anchor[:12]), markup=False)
        if result.changed:
            err.print(t("msg.audit_changed", count=len(result.changed),
                        numbers=", ".join(result.changed)), markup=False)  # fmt: skip
        fix = "fix.audit_changed" if result.changed else "fix.audit"
        err.print(f"{t('label.hint')}: {t(fix)}", markup=False)
    if not result.intact:
        raise typer.Exit(int(ExitCode.ERROR))


@app.command("log")
def log(
    applicant: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int | None, typer.Option()] = None,
    json_output: JsonOpt = False,
) -> None:
    """Show audit entries, oldest first (NIK, KK and phone are masked in them)."""
    from rich.table import Table

    from prakerja_cli.cli.common import parse_day
    from prakerja_cli.cli.render import audit_action, audit_summary
    from prakerja_cli.i18n import t
    from prakerja_cli.i18n.format import moment
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.applicants import get_applicant
    from prakerja_cli.store.audit import entries

    ws = open_workspace()
    applicant_id = get_applicant(ws.db, applicant)["id"] if applicant else None
    day = parse_day(since, "--since")
    rows = entries(
        ws.db, applicant_id=applicant_id, since=day.isoformat() if day else None, limit=limit
    )
    if json_output:
        emit_json(rows)
        return
    table = Table()
    for header in ("#", t("label.at"), t("label.desk"), t("label.action"), t("label.details")):
        details = header == t("label.details")
        table.add_column(
            header, ratio=3 if details else None, no_wrap=header in ("#", t("label.at"))
        )
    for row in rows:
        data_row(table, row["seq"], moment(row["at"]), f"{row['desk']} / {row['operator']}",
                 audit_action(row["action"]), audit_summary(row["action"], row["details"]))  # fmt: skip
    print_wide(table)
