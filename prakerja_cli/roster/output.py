"""Files the toolkit writes for people (templates, exports): checked up front, replaced whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prakerja_cli.errors import StoreError, UsageError


def check_output(
    path: Path, suffixes: tuple[str, ...], *, hint: str, example: str, overwrite: bool = True
) -> str:
    """The file's suffix (lower case) when it is one of `suffixes` and its folder exists.

    `example` is a file name the fix for a folder given as the file suggests ("rekap.xlsx").
    Without `overwrite` an existing file is refused (add --force)."""
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
    if path.exists() and not overwrite:
        raise UsageError("error.output_exists", hint="hint.output_force", file=str(path))
    if path.exists():
        try:  # Excel on Windows holds the files it has open against writing
            with path.open("r+b"):
                pass
        except PermissionError as exc:
            raise StoreError(
                "error.output_locked", hint="hint.output_locked", file=str(path)
            ) from exc
    return suffix


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` that replaces it only once fully written.

    A failure half-way (disk full, Ctrl-C) leaves the old file as it was and no half-written one
    that a clerk might send on. On Windows the replace fails while Excel has the file open.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        try:
            tmp.replace(path)
        except PermissionError as exc:
            raise StoreError(
                "error.output_locked", hint="hint.output_locked", file=str(path)
            ) from exc
    finally:
        tmp.unlink(missing_ok=True)
