"""`prakerja roster template`: the blank roster workbook the office hands to villages and companies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out


def template(
    out_file: Annotated[Path, typer.Argument()],
    force: Annotated[bool, typer.Option("--force")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Write the roster template: the import's columns, Text cells for NIK/KK/phone, drop-down
    lists, and a Petunjuk sheet explaining every column in Indonesian."""
    from prakerja_cli.i18n import t
    from prakerja_cli.roster.template import write_template

    write_template(out_file, force=force)
    if json_output:
        emit_json({"file": str(out_file.resolve())})
        return
    out.print(t("msg.template_written", file=str(out_file)), markup=False)
