"""`prakerja refdata`: add region codes (e.g. codes retired since 2016) to the office's table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out

app = typer.Typer(no_args_is_help=True)


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument()],
    json_output: JsonOpt = False,
) -> None:
    """Add region codes from a CSV (dotted codes: 32, 32.73, 32.73.01)."""
    from prakerja_cli.config import db_path, load_config
    from prakerja_cli.i18n import t
    from prakerja_cli.store.db import open_db
    from prakerja_cli.store.regions import load_regions_csv

    load_config()
    result = load_regions_csv(open_db(db_path()), file)
    if json_output:
        emit_json({"file": str(file), "read": result.read, "added": result.added})
        return
    out.print(
        t("msg.refdata_loaded", read=result.read, added=result.added, file=file.name), markup=False
    )
