"""`prakerja nik`: decode and check NIKs without storing anything."""

from __future__ import annotations

from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out, render_findings


def nik(
    niks: Annotated[list[str], typer.Argument()],
    json_output: JsonOpt = False,
) -> None:
    """Decode and check NIKs: region, birth date, gender, age and findings. Stores nothing."""
    from prakerja_cli.cli.common import escape
    from prakerja_cli.config import db_path
    from prakerja_cli.desk import check_niks, region_lookup
    from prakerja_cli.errors import ExitCode
    from prakerja_cli.i18n import t
    from prakerja_cli.i18n.format import day, place
    from prakerja_cli.store.db import open_db

    db = open_db(db_path()) if db_path().exists() else None
    results = check_niks(niks, region_lookup(db))
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
                    "findings": [
                        {**f.to_dict(), "code": str(f.code), "severity": str(f.severity)}
                        for f in r.info.findings
                    ],
                }
                for r in results
            ]
        )
    else:
        for r in results:
            verdict = t("nik.valid") if r.info.valid else t("nik.invalid")
            style = "green" if r.info.valid else "bold red"
            out.print(f"[bold]{escape(r.info.nik or r.raw)}[/]  [{style}]{escape(verdict)}[/]")
            if r.info.birth_date:
                out.print("  " + t("nik.summary", gender=t(f"gender.{r.info.gender}"),
                                  birth=day(r.info.birth_date), age=r.age),
                          markup=False)  # fmt: skip
            if r.province:
                out.print("  " + place(r.district, r.regency, r.province), markup=False)
            render_findings(r.info.findings, out)
    if not all(r.info.valid for r in results):
        raise typer.Exit(int(ExitCode.REJECTED))
