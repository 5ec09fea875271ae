"""`prakerja applicants`: list, show, search, edit and withdraw stored registrations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from prakerja_cli.cli.common import (
    JsonOpt,
    RevealOpt,
    SinceOpt,
    UntilOpt,
    data_row,
    emit_json,
    err,
    escape,
    out,
    parse_day,
    print_wide,
    render_findings,
)

app = typer.Typer(no_args_is_help=True)

RefArg = Annotated[str, typer.Argument()]


def _audit_reveal(ws: Any, rows: list[dict[str, Any]], reveal: bool, command: str) -> None:
    if reveal and rows:
        from prakerja_cli.desk import note_access

        note_access(ws, "reveal", rows, {"command": command})


def _print_rows(rows: list[dict[str, Any]], reveal: bool, json_output: bool) -> None:
    from rich.table import Table

    from prakerja_cli.cli.render import applicant_json, display_value, list_name
    from prakerja_cli.i18n import field_label, t
    from prakerja_cli.i18n.format import day

    if json_output:
        emit_json([applicant_json(r, reveal=reveal) for r in rows])
        return
    if not rows:
        err.print(t("msg.no_applicants"))
        return
    # An 80-column console must show the registration number, the NIK and the date whole: those
    # never wrap and keep their width; name, kecamatan and status wrap into what is left.
    table = Table(box=None, pad_edge=False, header_style="bold underline")
    whole = {t("label.registration_number"), field_label("nik"), t("label.created_at")}
    for header in (t("label.registration_number"), field_label("nik"), t("label.name"),
                   field_label("district"), t("label.status"), t("label.created_at")):  # fmt: skip
        if header in whole:
            table.add_column(header, no_wrap=True, min_width=len(header), overflow="fold")
        else:
            ratio = 2 if header == t("label.name") else 1
            table.add_column(header, ratio=ratio, min_width=len(header), overflow="fold")
    for r in rows:
        data_row(
            table, r["registration_number"], display_value("nik", r["nik"], reveal=reveal),
            list_name(r), r["district"], t(f"status.{r['status']}"), day(r["created_at"]),
        )  # fmt: skip
    print_wide(table)
    err.print(t("msg.count", count=len(rows)))


#: What `applicants list` shows without --all or --limit: a screenful, newest first.
DEFAULT_LIMIT = 50


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option()] = None,
    central: Annotated[
        str | None,
        typer.Option(),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    today: Annotated[
        bool,
        typer.Option("--today"),
    ] = False,
    desk: Annotated[str | None, typer.Option()] = None,
    operator: Annotated[str | None, typer.Option()] = None,
    district: Annotated[str | None, typer.Option()] = None,
    village: Annotated[str | None, typer.Option()] = None,
    finding: Annotated[str | None, typer.Option()] = None,
    gender: Annotated[str | None, typer.Option()] = None,
    age: Annotated[str | None, typer.Option()] = None,
    education: Annotated[str | None, typer.Option()] = None,
    employment: Annotated[str | None, typer.Option()] = None,
    priority: Annotated[str | None, typer.Option()] = None,
    social_assistance: Annotated[
        bool | None, typer.Option("--social-assistance/--no-social-assistance")
    ] = None,
    limit: Annotated[int | None, typer.Option()] = None,
    all_: Annotated[bool, typer.Option("--all")] = False,
    reveal: RevealOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """List registrations, newest first: the newest 50 unless --all or --limit; --today for
    the day's work. Each breakdown of `prakerja report` has its filter here.
    """
    from datetime import date

    from prakerja_cli.cli.common import parse_choice
    from prakerja_cli.core import fields
    from prakerja_cli.errors import UsageError
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.applicants import (
        CENTRAL_STATES,
        PRIORITIES,
        STATUS_FILTERS,
        count_applicants,
        list_applicants,
    )

    if all_ and limit is not None:
        raise UsageError("error.all_and_limit", hint="hint.all_and_limit")
    if today and (since or until):
        raise UsageError("error.today_and_dates", hint="hint.today_and_dates")
    if limit is not None:
        _check_limit(limit)
    filters: dict[str, Any] = {
        "status": parse_choice(status, STATUS_FILTERS, "status", "--status") if status else None,
        "central": parse_choice(central, CENTRAL_STATES, "central", "--central") if central else None,
        "since": date.today() if today else parse_day(since, "--since"),
        "until": date.today() if today else parse_day(until, "--until"),
        "desk": desk, "operator": operator, "district": district, "village": village,
        "finding": finding, "age": _age_band(age) if age else None,
        "gender": _field_choice(gender, fields.GENDERS, "--gender") if gender else None,
        "education": _field_choice(education, fields.EDUCATION, "--education") if education else None,
        "employment": _field_choice(employment, fields.EMPLOYMENT, "--employment") if employment else None,
        "priority": parse_choice(priority, PRIORITIES, "report.priority", "--priority") if priority else None,
        "social_assistance": social_assistance,
    }  # fmt: skip
    shown = None if all_ else (limit or DEFAULT_LIMIT)
    ws = open_workspace()
    rows = list_applicants(ws.db, limit=shown, **filters)
    _audit_reveal(ws, rows, reveal, "applicants list")
    _print_rows(rows, reveal, json_output)
    if shown is not None and len(rows) == shown:
        total = count_applicants(ws.db, **filters)
        if total > shown:
            err.print(
                t("msg.list_more", shown=shown, total=total, more=total - shown), markup=False
            )


def _field_choice(value: str, choices: Any, option: str) -> str:
    """The code of a form's choice (gender, education, employment) from its code, its label or
    any spelling the form accepts (`SMA`, `sma/smk`, `Korban PHK`, `pria`)."""
    from prakerja_cli.core.fields import normalise_choice
    from prakerja_cli.errors import UsageError

    code, _ = normalise_choice(value, choices, option)
    if code is None:
        raise UsageError("error.choice_unknown", hint="hint.choice", option=option, value=value,
                         known=", ".join(choices))  # fmt: skip
    return code


def _age_band(value: str) -> str:
    """One of the recap's age bands: `25-34`, also as the recap labels it (`25-34 tahun`)."""
    from prakerja_cli.errors import UsageError
    from prakerja_cli.i18n import LANGUAGES, t
    from prakerja_cli.store.applicants import AGE_BANDS

    wanted = " ".join(value.split()).casefold()
    for band in AGE_BANDS:
        names = {band, *(t("report.age_band", lang, band=band) for lang in LANGUAGES)}
        if band == "unknown":
            names |= {t("value.unknown", lang) for lang in LANGUAGES}
        if wanted in {name.casefold() for name in names}:
            return band
    raise UsageError("error.choice_unknown", hint="hint.choice", option="--age", value=value,
                     known=", ".join(AGE_BANDS))  # fmt: skip


def _check_limit(limit: int, hint: str = "hint.limit_min") -> None:
    from prakerja_cli.errors import UsageError

    if limit < 1:  # 0 or below would mean "no limit" to SQLite
        raise UsageError("error.limit_min", hint=hint, value=limit)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument()],
    limit: Annotated[int, typer.Option()] = 50,
    reveal: RevealOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Find registrations by name fragment, NIK, KK number or phone number."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.applicants import list_applicants

    _check_limit(limit, "hint.limit_min_search")
    ws = open_workspace()
    rows = list_applicants(ws.db, query=query, limit=limit)
    _audit_reveal(ws, rows, reveal, "applicants search")
    _print_rows(rows, reveal, json_output)


@app.command("show")
def show(ref: RefArg, reveal: RevealOpt = False, json_output: JsonOpt = False) -> None:
    """Show one registration in full, with its findings."""
    from prakerja_cli.cli.render import applicant_json, masked_finding, print_record
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.applicants import get_applicant, stored_findings
    from prakerja_cli.sync.amendments import latest

    ws = open_workspace()
    row = get_applicant(ws.db, ref)
    _audit_reveal(ws, [row], reveal, "applicants show")
    row["amendment"] = latest(ws.db, row["id"])
    if json_output:
        emit_json(applicant_json(row, reveal=reveal))
        return
    print_record(out, row, reveal=reveal)
    findings = stored_findings(row)
    render_findings(findings if reveal else [masked_finding(x) for x in findings], out)


@app.command("edit")
def edit(
    ref: RefArg,
    set_: Annotated[list[str], typer.Option("--set")],
    json_output: JsonOpt = False,
) -> None:
    """Correct fields of a registration; the whole record is validated again."""
    from prakerja_cli.cli.common import findings_json
    from prakerja_cli.desk import edit as edit_applicant
    from prakerja_cli.errors import ExitCode, UsageError
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    changes: dict[str, Any] = {}
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError("error.set_format", hint="hint.fields", item=item)
        changes[key.strip().replace("-", "_")] = value
    ws = open_workspace()
    result = edit_applicant(ws, ref, changes)
    central = result.central
    notice = None
    if central.resend:
        notice = t("msg.edit_resend")
    elif central.amendment is not None:
        notice = t("msg.edit_amendment")
    elif central.central_unchanged is not None:
        notice = t("msg.edit_central_unchanged", central_id=central.central_unchanged)
    if json_output:
        row = result.row or {}
        emit_json(
            {
                "stored": result.stored,
                "id": row.get("id"),
                "registration_number": row.get("registration_number"),
                "status": result.validated.status,
                "findings": findings_json(result.validated.findings),
                "resend": central.resend,
                "central_unchanged": central.central_unchanged,
                "amendment": central.amendment,
                "notice": notice,
            }
        )
    elif result.row is not None:
        number, status = result.row["registration_number"], t(f"status.{result.row['status']}")
        out.print(t("msg.edited", number=number, status=status), markup=False)
        if notice is not None:
            out.print(f"[bold yellow]{escape(notice)}[/]")
        render_findings(result.validated.findings, out)
    else:
        err.print(f"[bold red]{escape(t('msg.not_stored'))}[/]")
        render_findings(result.validated.findings)
    if not result.stored:
        raise typer.Exit(int(ExitCode.REJECTED))


@app.command("withdraw")
def withdraw(
    ref: RefArg,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
        ),
    ] = None,
    undo: Annotated[
        bool,
        typer.Option("--undo"),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Withdraw a registration; it is kept, with the reason, and its NIK may register again.
    Asks to confirm (--yes for scripts). --undo brings it back while it has not gone to the
    central system.
    """
    from prakerja_cli.cli.common import confirm
    from prakerja_cli.desk import to_withdraw, undo_withdraw
    from prakerja_cli.desk import withdraw as withdraw_applicant
    from prakerja_cli.errors import CancelledError
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    ws = open_workspace()
    if undo:
        row = undo_withdraw(ws, ref, reason)
        message = t("msg.withdraw_undone", number=row["registration_number"],
                    status=t(f"status.{row['status']}"))  # fmt: skip
    else:
        if not yes:
            shown = to_withdraw(ws, ref, reason)
            question = t("prompt.confirm_withdraw", number=shown["registration_number"],
                         name=shown["name"] or "-")  # fmt: skip
            if not confirm(question, default=False):
                raise CancelledError("msg.cancelled_unchanged")
        row = withdraw_applicant(ws, ref, reason)
        message = t("msg.withdrawn", number=row["registration_number"])
        if row.get("amendment"):
            message += " " + t("msg.withdraw_amendment")
    if json_output:
        emit_json({"id": row["id"], "registration_number": row["registration_number"], "status": row["status"],
                   "withdrawn_reason": row["withdrawn_reason"],
                   "amendment": row.get("amendment")})  # fmt: skip
        return
    out.print(message, markup=False)


@app.command("receipt")
def receipt(
    ref: RefArg,
    out_file: Annotated[Path | None, typer.Option("--out")] = None,
    print_: Annotated[bool, typer.Option("--print")] = False,
    force: Annotated[bool, typer.Option("--force")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Write the applicant's receipt (one-page A6 PDF with the number's QR code); --print sends
    it to the default printer."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.paper.receipt import default_name, write_receipt_file
    from prakerja_cli.store.applicants import get_applicant

    ws = open_workspace()
    row = get_applicant(ws.db, ref)
    path = out_file or default_name(row)
    write_receipt_file(row, ws.config.office_name, path, force=force)
    tell_receipt(path, print_, json_output, row["registration_number"])


def tell_receipt(path: Path, print_: bool, json_output: bool, number: str) -> None:
    """Say where the receipt is and whether it went to the printer (where the OS offers that)."""
    from prakerja_cli.i18n import t
    from prakerja_cli.paper.receipt import print_file

    printed = print_file(path) if print_ else None
    if json_output:
        emit_json({"registration_number": number, "file": str(path.resolve()),
                   "printed": printed is not None})  # fmt: skip
        return
    target = err if json_output else out
    target.print(t("msg.receipt_written", file=str(path)), markup=False)
    if print_:
        target.print(
            t("msg.receipt_printed" if printed else "msg.receipt_no_printer"), markup=False
        )
