"""`prakerja register`: the walk-in desk form, interactive or driven by options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prakerja_cli.cli.common import (
    JsonOpt,
    emit_json,
    err,
    err_console,
    escape,
    findings_json,
    out,
    render_findings,
)

if TYPE_CHECKING:
    from prakerja_cli.core.validate import ValidationContext
    from prakerja_cli.office import Workspace


def _opt(help_text: str) -> Any:
    return typer.Option(show_default=False)


def register(
    nik: Annotated[str | None, _opt("NIK, 16 digits.")] = None,
    kk: Annotated[str | None, _opt("Family card (KK) number, 16 digits.")] = None,
    name: Annotated[str | None, _opt("Full name exactly as on the KTP.")] = None,
    birth_place: Annotated[str | None, _opt("Place of birth.")] = None,
    birth_date: Annotated[str | None, _opt("Date of birth, YYYY-MM-DD.")] = None,
    gender: Annotated[str | None, _opt("L (laki-laki) or P (perempuan).")] = None,
    phone: Annotated[str | None, _opt("Mobile number, e.g. 0812-3456-7890.")] = None,
    email: Annotated[str | None, _opt("E-mail address (optional).")] = None,
    address: Annotated[str | None, _opt("Street address of domicile.")] = None,
    rt: Annotated[str | None, _opt("RT.")] = None,
    rw: Annotated[str | None, _opt("RW.")] = None,
    village: Annotated[str | None, _opt("Kelurahan/desa.")] = None,
    district: Annotated[str | None, _opt("Kecamatan.")] = None,
    education: Annotated[
        str | None, _opt("Last education: SD, SMP, SMA, D1-D4, S1-S3, TIDAK_SEKOLAH.")
    ] = None,
    employment: Annotated[
        str | None, _opt("PENCARI_KERJA, PEKERJA, KORBAN_PHK, DIRUMAHKAN or USAHA_MIKRO.")
    ] = None,
    occupation: Annotated[str | None, _opt("Occupation (optional).")] = None,
    in_school: Annotated[
        bool | None, typer.Option("--in-school/--not-in-school", show_default=False)
    ] = None,
    social_assistance: Annotated[
        bool | None,
        typer.Option(
            "--social-assistance/--no-social-assistance",
            show_default=False,
        ),
    ] = None,
    training: Annotated[str | None, _opt("Desired training (optional).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
    receipt_file: Annotated[Path | None, typer.Option("--receipt")] = None,
    print_: Annotated[bool, typer.Option("--print")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Register a walk-in applicant. Without field options it asks for each field in turn.

    Exit code 3 when validation refuses the applicant (nothing is stored).
    Example: prakerja register --nik 3273015708900001 --kk 3273010101100002 --name "Siti Aminah"
    --birth-date 1990-08-17 --gender P --phone 081234567890 --address "Jl. Merdeka 1" --village
    Gegerkalong --district Sukasari --education SMA --employment KORBAN_PHK --not-in-school --yes
    """
    from prakerja_cli.desk import validation_context
    from prakerja_cli.office import open_workspace

    if receipt_file is not None:  # refused before the applicant is stored, not after
        from prakerja_cli.paper.documents import check_pdf

        check_pdf(receipt_file, force=False)
    ws = open_workspace()
    given = {
        "nik": nik, "kk": kk, "name": name, "birth_place": birth_place, "birth_date": birth_date,
        "gender": gender, "phone": phone, "email": email, "address": address, "rt": rt, "rw": rw,
        "village": village, "district": district, "education": education,
        "employment": employment, "occupation": occupation, "in_school": in_school,
        "social_assistance": social_assistance, "training": training,
    }  # fmt: skip
    if all(v is None for v in given.values()):
        form = DeskForm(ws, validation_context(ws)).run()
    else:
        form = given
        if not yes:
            _confirm_options(ws, form)
    _store(ws, form, json_output, receipt_file, print_)


def _confirm_options(ws: Workspace, form: dict[str, Any]) -> None:
    from prakerja_cli.cli.common import confirm, require_terminal
    from prakerja_cli.cli.render import record_table
    from prakerja_cli.core.validate import validate_applicant
    from prakerja_cli.desk import validation_context
    from prakerja_cli.errors import CancelledError
    from prakerja_cli.i18n import t

    # Before the summary: one refusal (and its hint) under Task Scheduler.
    require_terminal("--yes", hint="hint.register_no_terminal")
    validated = validate_applicant(form, validation_context(ws))
    err.print(record_table(validated.values, reveal=True))
    render_findings(validated.findings)
    if validated.rejected:
        return  # _store reports the refusal
    if not confirm(t("prompt.confirm_save")):
        raise CancelledError("msg.cancelled")


def _store(
    ws: Workspace, form: dict[str, Any], json_output: bool, receipt_file: Path | None = None,
    print_: bool = False,
) -> None:  # fmt: skip
    from prakerja_cli.cli.render import receipt
    from prakerja_cli.desk import register as register_applicant
    from prakerja_cli.errors import ExitCode
    from prakerja_cli.i18n import t

    result = register_applicant(ws, form)
    findings = result.validated.findings
    paper = None
    if result.row is not None and (receipt_file is not None or print_):
        from prakerja_cli.paper.receipt import default_name, print_file, write_receipt_file

        paper = receipt_file or default_name(result.row)
        write_receipt_file(result.row, ws.config.office_name, paper, force=False)
        printed = print_file(paper) if print_ else None
    if json_output:
        row = result.row or {}
        document = {
            "stored": result.stored,
            "id": row.get("id"),
            "registration_number": row.get("registration_number"),
            "status": result.validated.status,
            "findings": findings_json(findings),
        }
        if paper is not None:
            document["receipt"] = str(paper.resolve())
            document["printed"] = printed is not None
        emit_json(document)
    elif result.row is not None:
        out.print(receipt(result.row, ws.config.office_name))
        render_findings(findings, out)
        if paper is not None:
            out.print(t("msg.receipt_written", file=str(paper)), markup=False)
            if print_:
                out.print(t("msg.receipt_printed" if printed else "msg.receipt_no_printer"),
                          markup=False)  # fmt: skip
    else:
        err.print(f"[bold red]{escape(t('msg.not_stored'))}[/]")
        render_findings(findings)
    if not result.stored:
        raise typer.Exit(int(ExitCode.REJECTED))


class DeskForm:
    """The interactive form: asks each field, checks it at once, asks again on an error."""

    def __init__(self, ws: Workspace, ctx: ValidationContext) -> None:
        self.ws = ws
        self.ctx = ctx
        self.form: dict[str, Any] = {}
        self.nik_birth: str | None = None
        self.nik_gender: str | None = None

    def run(self) -> dict[str, Any]:
        from prakerja_cli.cli.common import confirm, require_terminal
        from prakerja_cli.cli.render import record_table
        from prakerja_cli.core.findings import Severity
        from prakerja_cli.core.validate import FIELDS, validate_applicant
        from prakerja_cli.errors import CancelledError
        from prakerja_cli.i18n import t

        require_terminal("--nik ... --yes", hint="hint.form_no_terminal")
        err.print(f"[bold]{escape(t('form.title', office=self.ws.config.office_name))}[/]")
        err.print(t("form.cancel_hint"), markup=False)
        for name in FIELDS:
            self.ask(name)
        while True:
            validated = validate_applicant(self.form, self.ctx)
            err.rule(t("form.summary"))
            err.print(record_table(validated.values, reveal=True))
            render_findings(validated.findings)
            # Enter stores; it never throws the form away (that is asked twice).
            if not validated.rejected and confirm(t("prompt.confirm_save")):
                return self.form
            # The fields to look at first: those refused, else those warned, in form order.
            worst = {x.field for x in validated.findings if x.blocking} or {
                x.field for x in validated.findings if x.severity is Severity.WARNING
            }
            field_name = self.pick_field([n for n in FIELDS if n in worst])
            if field_name is not None:
                self.ask(field_name)
            elif confirm(t("prompt.confirm_discard"), default=False):
                raise CancelledError("msg.cancelled")

    def pick_field(self, suggested: list[str]) -> str | None:
        """Ask which field to correct (Enter: the first suggested one); None means leave
        without storing."""
        from prakerja_cli.cli.common import choose
        from prakerja_cli.core.validate import FIELDS
        from prakerja_cli.i18n import field_label, t

        names = list(FIELDS)
        for number, name in enumerate(names, start=1):
            mark = " *" if name in suggested else ""
            err.print(f"  {number:>2}. {field_label(name)}{mark}", markup=False)
        err.print(f"   0. {t('form.give_up')}", markup=False)
        default = str(names.index(suggested[0]) + 1) if suggested else None
        numbers = [str(i) for i in range(len(names) + 1)]
        choice = choose(t("prompt.fix_which"), numbers, default=default, option="--yes")
        return None if choice == "0" else names[int(choice) - 1]

    def ask(self, name: str, keep: str | None = None) -> None:
        """Ask one field until its value is taken. What the value decides is shown at once
        (core.validate.validate_answered): a refusal (a typo, an applicant the NIK shows to be too
        young, still in school) asks the same field again, Ctrl-C stops; after a warning Enter
        keeps the value and anything typed replaces it, so a retyped kecamatan stays a kecamatan.
        `keep`: the value a warning was shown for."""
        from prakerja_cli.core.findings import Severity
        from prakerja_cli.core.validate import validate_answered

        others = {k: v for k, v in self.form.items() if k != name}
        before = validate_answered(others, self.ctx).findings
        mode = "new" if keep is None else "keep"
        default = self._default(name) if keep is None else keep
        while True:
            raw = self._prompt(name, mode, default)
            if mode == "keep" and raw == keep:
                return
            answered = validate_answered({**others, name: raw}, self.ctx)
            if name == "nik" and answered.nik_info is not None and answered.nik_info.nik:
                self._show_nik(answered.nik_info)
            new = [x for x in answered.findings if x not in before]
            render_findings(new)
            if any(x.blocking for x in new):
                mode, default = "refused", None
                continue
            self.form[name] = raw
            warned = [x.field for x in new if x.severity is Severity.WARNING]
            for field_name in dict.fromkeys(warned):
                self.ask(field_name, keep=str(self.form[field_name]))
            return

    def _prompt(self, name: str, mode: str, default: str | None) -> str:
        """The field's question; its brackets say what Enter does (`mode` "new": take the
        default or leave empty, "keep": keep the warned value, "refused": type it again)."""
        from rich.prompt import Prompt

        from prakerja_cli.core.validate import FIELDS
        from prakerja_cli.i18n import field_label, maybe, t

        hint = maybe(f"choices.{name}") or ""
        notes = [hint[1:-1] if hint.startswith("(") and hint.endswith(")") else hint]
        if mode == "refused":
            notes.append(t("form.retype_or_stop"))
        elif mode == "keep":
            notes.append(t("form.enter_keeps", value=default or ""))
        elif default is not None:
            notes.append(t("form.enter_takes", value=default))
        elif not FIELDS[name]:
            notes.append(t("form.optional"))
        said = "; ".join(note for note in notes if note)
        label = escape(field_label(name)) + (f" [dim]({escape(said)})[/]" if said else "")
        raw = Prompt.ask(label, console=err_console(), default=default, show_default=False)
        return raw or ""

    def _default(self, name: str) -> str | None:
        if name in self.form:
            value = self.form[name]
            return None if value is None else str(value)
        if name == "birth_date":
            return self.nik_birth
        if name == "gender":
            return self.nik_gender
        if name in ("in_school", "social_assistance"):
            from prakerja_cli.i18n import t

            return t("no")
        return None

    def _show_nik(self, info: Any) -> None:
        from prakerja_cli.core.validate import ExistingRecord
        from prakerja_cli.i18n import t
        from prakerja_cli.i18n.format import day, place

        if info.birth_date is not None:
            self.nik_birth = day(info.birth_date)
            self.nik_gender = info.gender
            regions = self.ctx.regions
            district = regions(info.district_code) if regions else None
            regency = regions(info.regency_code) if regions else None
            err.print(
                "  [cyan]"
                + escape(
                    t("form.nik_says", gender=t(f"gender.{info.gender}"), birth=self.nik_birth,
                      place=place(district, regency))
                )
                + "[/]"
            )  # fmt: skip
        existing: ExistingRecord | None = self.ctx.find_live_nik(info.nik)
        if existing is not None and existing.purged_at:
            err.print(
                "  [bold red]"
                + escape(
                    t("form.nik_purged", number=existing.registration_number,
                      date=day(existing.created_at), purged=day(existing.purged_at))
                )
                + "[/]"
            )  # fmt: skip
        elif existing is not None:
            err.print(
                "  [bold red]"
                + escape(
                    t("form.nik_exists", number=existing.registration_number, name=existing.name,
                      date=day(existing.created_at))
                )
                + "[/]"
            )  # fmt: skip
