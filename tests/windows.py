"""Windows file semantics on Linux: a file this process holds open cannot be deleted or moved.

On Windows, `os.replace`, `os.rename` and `os.unlink` fail with PermissionError (WinError 32) while
any handle to the file is open, and an open SQLite connection holds its database, -wal and -shm.
POSIX allows all three, so code that forgets to close a connection before moving its file passes
every Linux test and fails at the first restore on a desk PC. `windows_files` makes it fail here.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from prakerja_cli.store.engine import dbapi as sqlite3

_SUFFIXES = ("", "-journal", "-wal", "-shm")


class _Tracked(sqlite3.Connection):
    """A connection that can be weakly referenced (sqlite3.Connection itself cannot)."""


def _key(path: Any) -> str:
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def _database_file(database: Any) -> str | None:
    name = os.fspath(database)
    if isinstance(name, bytes):
        name = name.decode()
    if name == ":memory:" or name == "":
        return None
    if name.startswith("file:"):
        name = name[5:].split("?", 1)[0]
        from urllib.parse import unquote

        name = unquote(name)
    return _key(name)


class WindowsFiles:
    """Tracks the SQLite connections this process opens; refuses to move or delete their files."""

    def __init__(self) -> None:
        self._open: list[tuple[str, weakref.ref[_Tracked]]] = []
        self.refused: list[str] = []

    def connect(self, real: Any) -> Any:
        def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
            kwargs.setdefault("factory", _Tracked)
            conn = real(database, *args, **kwargs)
            path = _database_file(database)
            if path is not None and isinstance(conn, _Tracked):
                self._open.append((path, weakref.ref(conn)))
            return conn  # type: ignore[no-any-return]

        return connect

    def held(self) -> set[str]:
        """Every file an open connection holds (the database and its journal files)."""
        files = set()
        for path, ref in self._open:
            conn = ref()
            if conn is None:
                continue
            try:
                conn.in_transaction  # noqa: B018 - raises once the connection is closed
            except sqlite3.ProgrammingError:
                continue
            files.update(path + suffix for suffix in _SUFFIXES)
        return files

    def guard(self, real: Any, *names: int) -> Any:
        """Wrap an os function whose arguments at `names` are paths that must not be held."""

        def guarded(*args: Any, **kwargs: Any) -> Any:
            held = self.held()
            for index in names:
                if index < len(args) and _key(args[index]) in held:
                    self.refused.append(os.fspath(args[index]))
                    exc = PermissionError(
                        13,
                        "The process cannot access the file because it is being used by another "
                        "process",
                        os.fspath(args[index]),
                    )
                    exc.winerror = 32  # type: ignore[attr-defined]
                    raise exc
            return real(*args, **kwargs)

        return guarded

    @contextmanager
    def active(self) -> Iterator[WindowsFiles]:
        """Windows rules for the block: connections opened in it are tracked, and their files
        cannot be moved or deleted while they are open."""
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sqlite3, "connect", self.connect(sqlite3.connect))
            patch.setattr(os, "replace", self.guard(os.replace, 0, 1))
            patch.setattr(os, "rename", self.guard(os.rename, 0, 1))
            patch.setattr(os, "unlink", self.guard(os.unlink, 0))
            patch.setattr(os, "remove", self.guard(os.remove, 0))
            yield self
