"""The applicant's receipt (tanda terima): written for a stored record, and sent to the printer
where the operating system offers a way to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

SUFFIXES = (".pdf",)


def default_name(row: dict[str, Any]) -> Path:
    """`tanda-terima-3273-D01-000002.pdf` in the current folder."""
    return Path(f"tanda-terima-{row['registration_number']}.pdf")


def write_receipt_file(row: dict[str, Any], office_name: str, path: Path, *, force: bool) -> None:
    """The receipt of `row` as a one-page A6 PDF at `path` (an existing file only with force)."""
    from prakerja_cli.paper.documents import check_pdf, write_receipt

    check_pdf(path, force=force)
    write_receipt(row, office_name, path, moment=datetime.fromisoformat(str(row["created_at"])))


def print_file(path: Path) -> str | None:
    """Send `path` to the default printer: Windows' shell print verb (the PDF reader prints it),
    elsewhere CUPS' `lp`. Returns how it was sent, or None where this machine offers no way."""
    if sys.platform == "win32":
        startfile = getattr(os, "startfile", None)
        if startfile is None:
            return None
        try:
            startfile(str(path), "print")
        except OSError:  # no program is registered to print PDFs
            return None
        return "windows"
    lp = shutil.which("lp")
    if lp is None:
        return None
    done = subprocess.run([lp, str(path)], capture_output=True, check=False)  # noqa: S603
    return "lp" if done.returncode == 0 else None
