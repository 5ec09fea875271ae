"""`prakerja register`: the walk-in desk form, interactive or driven by options."""

from __future__ import annotations

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
    return typer.Option(help=help_text, show_default=False)


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
        bool | None,
        typer.Option(
            "--in-school/--not-in-school", help="Still in school or university?", show_default=False
        ),
    ] = None,
    social_assistance: Annotated[
        bool | None,
        typer.Option(
            "--social-assistance/--no-social-assistance",
            help="Receives other social assistance?",
            show_default=False,
        ),
    ] = None,
    training: Annotated[str | None, _opt("Desired training (optional).")] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Store without asking to confirm.")
    ] = False,
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
    _store(ws, form, json_output)


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


def _store(ws: Workspace, form: dict[str, Any], json_output: bool) -> None:
    from prakerja_cli.cli.render import receipt
    from prakerja_cli.desk import register as register_applicant
    from prakerja_cli.errors import ExitCode
    from prakerja_cli.i18n import t

    result = register_applicant(ws, form)
    findings = result.validated.findings
    if json_output:
        row = result.row or {}
        emit_json(
            {
                "stored": result.stored,
                "id": row.get("id"),
                "registration_number": row.get("registration_number"),
                "status": result.validated.status,
                "findings": findings_json(findings),
            }
        )
    elif result.row is not None:
        out.print(receipt(result.row, ws.config.office_name))
        render_findings(findings, out)
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
            if not validated.rejected and confirm(t("prompt.confirm_save")):
                return self.form
            field_name = self.pick_field([x.field for x in validated.findings if x.blocking])
            if field_name is None:
                raise CancelledError("msg.cancelled")
            self.ask(field_name)

    def pick_field(self, suggested: list[str]) -> str | None:
        """Ask which field to correct; None means give up (nothing is stored)."""
        from prakerja_cli.cli.common import choose
        from prakerja_cli.core.validate import FIELDS
        from prakerja_cli.i18n import field_label, t

        names = list(FIELDS)
        for number, name in enumerate(names, start=1):
            mark = " *" if name in suggested else ""
            err.print(f"  {number:>2}. {field_label(name)}{mark}", markup=False)
        err.print(f"   0. {t('form.give_up')}", markup=False)
        default = str(names.index(suggested[0]) + 1) if suggested else "0"
        numbers = [str(i) for i in range(len(names) + 1)]
        choice = choose(t("prompt.fix_which"), numbers, default=default, option="--yes")
        return None if choice == "0" else names[int(choice) - 1]

    def ask(self, name: str) -> None:
        from rich.prompt import Prompt

        from prakerja_cli.core.nik import NikInfo
        from prakerja_cli.core.validate import FIELDS, check_duplicates, check_field
        from prakerja_cli.i18n import field_label, maybe, t

        default = self._default(name)
        while True:
            hint = maybe(f"choices.{name}")
            label = escape(field_label(name)) + ("" if FIELDS[name] else f" ({t('form.optional')})")
            if hint:
                label += f" [dim]{escape(hint)}[/]"
            raw = Prompt.ask(
                label, console=err_console(), default=default, show_default=default is not None
            )
            value, found = check_field(name, raw or "", self.ctx)
            if name == "nik" and isinstance(value, NikInfo) and value.nik:
                self._show_nik(value)
                found = found + check_duplicates(value.nik, None, self.ctx)
            if name == "kk" and value:
                found = found + [
                    x for x in check_duplicates("", value, self.ctx) if x.field == "kk"
                ]
            if name in ("village", "district") and self.ctx.places is not None:
                # A misspelt kecamatan or desa is named while the applicant is still here.
                where = {**self.form, name: raw}
                found = found + [
                    x
                    for x in self.ctx.places.check(where.get("district"), where.get("village"))
                    if name == "district" or x.field == name
                ]
            render_findings(found)
            if not any(x.blocking for x in found):
                self.form[name] = raw
                return

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

        if info.birth_date is not None:
            self.nik_birth = info.birth_date.strftime("%d-%m-%Y")
            self.nik_gender = info.gender
            regions = self.ctx.regions
            district = regions(info.district_code) if regions else None
            regency = regions(info.regency_code) if regions else None
            err.print(
                "  [cyan]"
                + escape(
                    t("form.nik_says", gender=t(f"gender.{info.gender}"), birth=self.nik_birth,
                      district=district or info.district_code, regency=regency or info.regency_code)
                )
                + "[/]"
            )  # fmt: skip
        existing: ExistingRecord | None = self.ctx.find_live_nik(info.nik)
        if existing is not None and existing.purged_at:
            err.print(
                "  [bold red]"
                + escape(
                    t("form.nik_purged", number=existing.registration_number,
                      date=existing.created_at[:10], purged=existing.purged_at[:10])
                )
                + "[/]"
            )  # fmt: skip
        elif existing is not None:
            err.print(
                "  [bold red]"
                + escape(
                    t("form.nik_exists", number=existing.registration_number, name=existing.name,
                      date=existing.created_at[:10])
                )
                + "[/]"
            )  # fmt: skip
