"""Files the toolkit writes for people (templates, exports, error reports): checked up front,
replaced whole, and no cell in them runs as a formula."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prakerja_cli.errors import StoreError, UsageError, check_new_file

#: A text cell starting with one of these is a formula to Excel or LibreOffice (on opening a csv,
#: or once a clerk edits the cell): the OWASP "CSV injection" list.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Control characters openpyxl refuses to write (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE) and Excel
#: would call the file corrupt for; none of them is data.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(text: str) -> str:
    """Defuse a text that a spreadsheet would run as a formula, by a leading '; anything else is
    written exactly as it is. The one rule for every workbook and csv the toolkit writes.

    Only a formula gets the ': a NIK, a phone number or RT 003 is digits, which no spreadsheet
    runs, and a ' in front of them would stay part of the value for every program but Excel
    (LibreOffice, the ministry's systems). The import takes the ' off again (fields.normalise_text)."""
    text = _CONTROL.sub("", text)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def neutralised(values: Iterable[Any]) -> list[Any]:
    """A row of cells with every text neutralised; numbers, dates and None as they are."""
    return [neutralise(v) if isinstance(v, str) else v for v in values]


def check_output(
    path: Path, suffixes: tuple[str, ...], *, hint: str, example: str, force: bool
) -> str:
    """The file's suffix (lower case) when it is one of `suffixes` and its folder exists.

    `example` is a file name the fix for a folder given as the file suggests ("rekap.xlsx").
    Without `force` an existing file is refused (add --force)."""
    if path.is_dir():  # before the suffix: "/tmp has no .xlsx suffix" would miss the point
        raise UsageError(
            "error.output_is_folder", hint="hint.output_is_folder", file=str(path),
            example=str(path / example),
        )  # fmt: skip
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise UsageError(
            "error.output_suffix", hint=hint, file=str(path), suffix=path.suffix or "-"
        )
    folder = path.parent
    if not folder.is_dir():
        raise UsageError("error.output_folder_missing", hint="hint.check_path", folder=str(folder))
    check_new_file(path, force=force)
    _check_writable(folder, path)
    if path.exists():
        try:  # Excel on Windows holds the files it has open against writing
            with path.open("r+b"):
                pass
        except PermissionError as exc:
            raise StoreError(
                "error.output_locked", hint="hint.output_locked", file=str(path)
            ) from exc
    return suffix


def _check_writable(folder: Path, path: Path) -> None:
    """The folder takes a new file: a read-only folder, a write-protected USB stick or a share
    without write access is refused now (an import's --errors before anything is stored), not
    after the work. Tried by making and removing the very kind of file `replacing` writes:
    permission bits and os.access() do not tell (Windows ACLs, root, read-only mounts)."""
    from prakerja_cli.errors import os_reason
    from prakerja_cli.files import private_temp

    try:
        private_temp(path).unlink()
    except OSError as exc:
        raise UsageError(
            "error.output_folder_readonly", hint="hint.output_folder_readonly",
            folder=str(folder), reason=os_reason(exc),
        ) from exc  # fmt: skip


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` that replaces it only once fully written.

    A failure half-way (disk full, Ctrl-C) leaves the old file as it was and no half-written one
    that a clerk might send on. On Windows the replace fails while Excel has the file open.
    """
    from prakerja_cli.files import private_temp

    # Owner-only under an unpredictable name: what is written holds whole NIKs (--reveal, the
    # error report), and a predictable name could be a link planted by another account.
    tmp = private_temp(path)
    try:
        try:
            yield tmp
        except OSError as exc:
            if exc.filename is None:  # a library's write (zipfile's) names no file: ours it is
                exc.filename = str(path)
            raise
        try:
            tmp.replace(path)
        except PermissionError as exc:
            raise StoreError(
                "error.output_locked", hint="hint.output_locked", file=str(path)
            ) from exc
    finally:
        tmp.unlink(missing_ok=True)
