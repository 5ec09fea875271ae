"""`prakerja audit`: read and verify the tamper-evident audit trail."""

from __future__ import annotations

from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, data_row, emit_json, err, out, print_wide

app = typer.Typer(no_args_is_help=True, help="The audit trail: who did what, hash-chained.")


@app.command("verify")
def verify(json_output: JsonOpt = False) -> None:
    """Check the whole chain; name the first edited, inserted or deleted entry (exit 1).

    Example: prakerja audit verify
    """
    from prakerja_cli.errors import ExitCode
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.audit import verify as verify_chain

    result = verify_chain(open_workspace().db)
    if json_output:
        emit_json({"entries": result.entries, "intact": result.broken_at is None,
                   "broken_at": result.broken_at, "problem": result.problem})  # fmt: skip
    elif result.broken_at is None:
        out.print(t("msg.audit_ok", count=result.entries), markup=False)
    elif result.problem == "key":
        err.print(t("msg.audit_key", seq=result.broken_at), markup=False)
        err.print(f"{t('label.hint')}: {t('fix.audit_key')}", markup=False)
    else:
        problem = t(f"audit.{result.problem}")
        err.print(t("msg.audit_broken", seq=result.broken_at, problem=problem), markup=False)
    if result.broken_at is not None:
        raise typer.Exit(int(ExitCode.ERROR))


@app.command("log")
def log(
    applicant: Annotated[
        str | None, typer.Option(help="Only this applicant (registration number, id or NIK).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this day (31-12-2026, 2026-12-31).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many entries.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Show audit entries, oldest first (NIK, KK and phone are masked in them).

    Example: prakerja audit log --applicant 3273-D01-000001
    """
    import json

    from rich.table import Table

    from prakerja_cli.cli.common import parse_day
    from prakerja_cli.i18n import t
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
    for header in (
        "#",
        t("label.created_at"),
        t("label.desk"),
        t("label.action"),
        t("label.details"),
    ):
        table.add_column(header)
    for row in rows:
        details = json.dumps(row["details"], ensure_ascii=False)
        data_row(table, row["seq"], row["at"][:19].replace("T", " "),
                 f"{row['desk']} / {row['operator']}", row["action"], details)  # fmt: skip
    print_wide(table)
