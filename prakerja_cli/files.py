"""Private files and folders: created owner-only in the same call that makes them.

A file created with the default mode and chmod-ed afterwards is readable by everyone for a
moment; another account that opens it then keeps reading through its handle after the chmod
(the API token and the office key leaked that way). On Windows the mode bits do nothing: the
folder's ACL decides (docs/security.md).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_PRIVATE_FILE = 0o600
_PRIVATE_FOLDER = 0o700


def private_folder(path: Path, *, tighten: bool = True) -> None:
    """Make `path` (and missing parents) owner-only. With `tighten`, an existing folder of this
    user is made owner-only too (the app directory is ours alone); a folder someone else owns,
    or a user's own chosen backup folder (`tighten=False`), is left as it is."""
    path.mkdir(mode=_PRIVATE_FOLDER, parents=True, exist_ok=True)
    if os.name == "nt" or not tighten:
        return
    stat = path.stat()
    if stat.st_uid == os.geteuid() and stat.st_mode & 0o077:
        path.chmod(_PRIVATE_FOLDER)


def private_temp(beside: Path) -> Path:
    """A new, empty, owner-only file with an unpredictable name in `beside`'s folder, to be
    written and then moved onto `beside`. O_EXCL: never an existing file or a planted link."""
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    while True:
        tmp = beside.with_name(f".{beside.name}.{secrets.token_hex(8)}.tmp")
        try:
            os.close(os.open(tmp, flags, _PRIVATE_FILE))
            return tmp
        except FileExistsError:  # 2**64 names: only a planted file gets here
            continue
