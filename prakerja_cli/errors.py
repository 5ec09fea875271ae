"""One error hierarchy, mapped to the documented exit codes."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes; documented in README.md and docs/exit-codes.md."""

    OK = 0
    ERROR = 1
    USAGE = 2
    REJECTED = 3
    UNREACHABLE = 4
    AUTH = 5
    CANCELLED = 130


class PrakerjaError(Exception):
    """An expected failure: shown as one localised line plus a hint, never a traceback.

    `key` names a message in the i18n catalogue; `params` fill it in. The English text
    is kept as the exception's str() so logs and tests stay readable.
    """

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, key: str, /, hint: str | None = None, **params: Any) -> None:
        self.key = key
        self.hint = hint
        self.params = params
        super().__init__(key)

    def __str__(self) -> str:
        from prakerja_cli.i18n import t

        return t(self.key, lang="en", **self.params)


class UsageError(PrakerjaError):
    """Bad options or arguments."""

    exit_code = ExitCode.USAGE


class ConfigError(PrakerjaError):
    """Missing or broken office configuration."""

    exit_code = ExitCode.USAGE


class StoreError(PrakerjaError):
    """The local database cannot be opened, read or written."""

    exit_code = ExitCode.ERROR


class NotFoundError(PrakerjaError):
    """A record asked for by id, registration number or NIK does not exist."""

    exit_code = ExitCode.ERROR


class RejectedError(PrakerjaError):
    """Validation refused the input; nothing was stored."""

    exit_code = ExitCode.REJECTED


class CancelledError(PrakerjaError):
    """The user stopped an interactive form; nothing was stored."""

    exit_code = ExitCode.CANCELLED
