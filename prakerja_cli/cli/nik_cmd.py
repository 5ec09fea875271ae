"""`prakerja nik`: decode and check NIKs without storing anything."""

from __future__ import annotations

from typing import Annotated

import typer

from prakerja_cli.cli.common import (
    JsonOpt,
    emit_json,
    err,
    findings_json,
    out,
    render_findings,
)


def nik(
    niks: Annotated[list[str], typer.Argument()],
    json_output: JsonOpt = False,
) -> None:
    """Decode and check NIKs: region, birth date, gender, age against the office's rule set, and
    findings. Stores nothing."""
    from prakerja_cli.cli.common import escape
    from prakerja_cli.config import db_path
    from prakerja_cli.desk import check_niks, nik_rule_set, region_lookup
    from prakerja_cli.errors import ExitCode
    from prakerja_cli.i18n import t
    from prakerja_cli.i18n.format import day, place
    from prakerja_cli.store.db import open_db

    db = open_db(db_path()) if db_path().exists() else None
    rules, of_office = nik_rule_set()
    results = check_niks(niks, region_lookup(db), rules)
    if json_output:
        emit_json(
            [
                {
                    "nik": r.info.nik or r.raw,
                    "valid": r.info.valid,
                    "province": r.province,
                    "regency": r.regency,
                    "district": r.district,
                    "birth_date": r.info.birth_date.isoformat() if r.info.birth_date else None,
                    "gender": r.info.gender,
                    "age": r.age,
                    "serial": r.info.serial,
                    "findings": findings_json(r.info.findings),
                    "eligible": r.eligible,
                    "eligibility": findings_json(r.eligibility),
                    "rules": rules.name,
                    "rules_from": "office" if of_office else "default",
                }
                for r in results
            ]
        )
    else:
        for r in results:
            verdict = t("nik.valid") if r.info.valid else t("nik.invalid")
            style = "green" if r.info.valid else "bold red"
            if r.info.valid and not r.eligible:
                verdict, style = t("nik.valid_not_eligible"), "bold yellow"
            out.print(f"[bold]{escape(r.info.nik or r.raw)}[/]  [{style}]{escape(verdict)}[/]")
            if r.info.birth_date:
                out.print("  " + t("nik.summary", gender=t(f"gender.{r.info.gender}"),
                                  birth=day(r.info.birth_date), age=r.age),
                          markup=False)  # fmt: skip
            if r.province:
                out.print("  " + place(r.district, r.regency, r.province), markup=False)
            render_findings(r.info.findings + r.eligibility, out)
        if not of_office:
            err.print(t("msg.nik_default_rules", rules=rules.name), markup=False)
    if not all(r.info.valid for r in results):
        raise typer.Exit(int(ExitCode.REJECTED))
