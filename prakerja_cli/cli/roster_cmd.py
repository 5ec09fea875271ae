"""`prakerja roster`: import applicant spreadsheets (and write the office template)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, err, out, print_wide, progress_bar

if TYPE_CHECKING:
    from prakerja_cli.roster.importer import ImportResult

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument()],
    sheet: Annotated[str | None, typer.Option()] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    update: Annotated[bool, typer.Option("--update")] = False,
    errors: Annotated[Path | None, typer.Option("--errors")] = None,
    force: Annotated[bool, typer.Option("--force")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1)] = None,
    json_output: JsonOpt = False,
) -> None:
    """Import a roster: validate every row, store the valid ones, report the rest by row."""
    from prakerja_cli.errors import CancelledError, ExitCode
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.roster.importer import import_roster, paused_gc

    ws = open_workspace()
    if errors is not None:
        from prakerja_cli.roster.report import check_report_path

        check_report_path(errors, file, force=force)  # before anything is stored
    with paused_gc():
        with progress_bar(t("progress.roster"), {"store": t("progress.roster_store")}) as progress:
            result = import_roster(ws, file, sheet=sheet, mapping=map_, dry_run=dry_run,
                                   update=update, progress=progress, jobs=jobs)  # fmt: skip
        try:
            report_rows = None
            if errors is not None:
                from prakerja_cli.roster.report import write_error_report

                report_rows = write_error_report(result, errors, force=force)
            if json_output:
                emit_json(_summary(result, errors, report_rows))
            else:
                _render(result, errors, report_rows)
        except KeyboardInterrupt:
            if result.dry_run or not result.stored:
                raise
            raise CancelledError("msg.cancelled_shown", stored=result.stored) from None
        rejected = result.rejected
        del result  # its million cells go now, while the collector is still paused
    if rejected:
        raise typer.Exit(int(ExitCode.REJECTED))


def _summary(result: ImportResult, errors: Path | None, report_rows: int | None) -> dict[str, Any]:
    return {
        "file": result.file,
        "sheet": result.sheet,
        "sha256": result.sha256,
        "dry_run": result.dry_run,
        "rows": len(result.rows),
        "stored": result.stored,
        "warned": result.warned,
        "rejected": result.rejected,
        "skipped": result.skipped,
        "unchanged": result.count("unchanged"),
        "updated": result.updated,
        "rejected_by_code": result.rejected_by_code(),
        "unknown_columns": result.header.unknown,
        "errors_file": str(errors) if errors else None,
        "errors_rows": report_rows,
        # Field names only: an update's values (NIK, KK, phone...) are in the store, not here.
        "updated_rows": [
            {"row": r.row, "registration_number": r.registration_number, "fields": r.changed}
            for r in result.rows
            if r.outcome == "updated"
        ],
        "findings": [
            {"row": r.row, **f.to_dict()}
            for r in result.rows
            for f in r.findings
            if r.outcome in ("rejected", "warned", "updated", "skipped") or f.blocking
        ],
    }


def _render(result: ImportResult, errors: Path | None, report_rows: int | None) -> None:
    from rich.table import Table

    from prakerja_cli.cli.common import SEVERITY_STYLE, escape
    from prakerja_cli.i18n import t

    key = "roster.summary_dry" if result.dry_run else "roster.summary"
    out.print(
        t(key, file=result.file, sheet=result.sheet, rows=len(result.rows), stored=result.stored,
          warned=result.warned, updated=result.updated, rejected=result.rejected,
          skipped=result.skipped),
        markup=False,
    )  # fmt: skip
    if not result.rows:  # a header and nothing under it: the wrong file, or the wrong sheet
        err.print(t("roster.no_rows", sheet=result.sheet, row=result.first_row - 1), markup=False)
    for code, count in result.rejected_by_code().items():
        out.print(f"  {code}: {count}", markup=False)
    if result.header.unknown:
        out.print(
            t("roster.unknown_columns", columns=", ".join(result.header.unknown)), markup=False
        )
    table = Table(show_header=True)
    for header in (t("label.row_title"), t("label.field"), t("label.finding")):
        table.add_column(header)
    shown = 0
    for r in result.rows:
        for f in r.findings:
            if r.outcome not in ("rejected", "warned", "skipped") and not f.blocking:
                continue
            if shown < 50:
                style = SEVERITY_STYLE[str(f.severity)]
                table.add_row(str(r.row), escape(str(f.code)), f"[{style}]{escape(f.message())}[/]")
            shown += 1
    if shown:
        print_wide(table)
        if shown > 50:
            out.print(t("roster.more_findings", count=shown - 50), markup=False)
    if result.count("rejected") and any(
        f.code == "NIK_DUPLICATE" and f.params.get("fields")
        for r in result.rows
        for f in r.findings
    ):
        err.print(t("roster.hint_update"), markup=False)
    if errors is not None:
        out.print(t("roster.errors_written", file=str(errors), count=report_rows), markup=False)
