"""`prakerja demo`: run the main job end to end on a demo office in a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    home: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Set up a demo office in a temporary folder, register applicants, list and show them."""
    from prakerja_cli.cli.common import err
    from prakerja_cli.demo import run_demo

    failures = run_demo(lambda text: err.print(text, markup=False, highlight=False), home)
    if failures:
        raise typer.Exit(1)
