"""One error hierarchy, mapped to the documented exit codes."""

from __future__ import annotations

import errno
import re
from enum import IntEnum
from pathlib import Path
from typing import Any


def check_input_file(path: Path, error: type[PrakerjaError] | None = None) -> None:
    """A file to read: a missing one and a folder are refused, each saying which it is."""
    kind = error or UsageError
    if path.is_dir():
        raise kind("error.input_is_folder", hint="hint.input_is_folder", file=str(path))
    if not path.is_file():
        if path.exists():  # a FIFO, a device (/dev/zero), a socket: nothing to read to an end
            raise kind("error.input_not_file", hint="hint.input_not_file", file=str(path))
        raise kind("error.file_missing", hint="hint.check_path", file=str(path))


def same_file(a: Path, b: Path) -> bool:
    """Whether two names are one file: the OS decides (case, 8.3 short names, '..', links)."""
    try:
        return a.samefile(b)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def check_new_file(path: Path, *, force: bool) -> None:
    """A file to write: one rule for every command that writes a file (export, --errors, template,
    backup). An existing file is never replaced silently, only with `--force` (`force`): a clerk
    may have named yesterday's recap, or a template that came back filled in."""
    if not force and path.exists():
        raise UsageError("error.output_exists", hint="hint.output_force", file=str(path))


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

    @property
    def code(self) -> str:
        """A stable name for scripts (the `error` of the --json document): the key's last part."""
        return self.key.rpartition(".")[2]


class UsageError(PrakerjaError):
    """Bad options or arguments."""

    exit_code = ExitCode.USAGE


class ParserError(UsageError):
    """A command line the parser refused (an unknown option, a missing value...), in the
    clerk's language. Its --json code stays `usage`, whatever the message."""

    @property
    def code(self) -> str:
        return "usage"


class ConfigError(PrakerjaError):
    """Missing or broken office configuration."""

    exit_code = ExitCode.USAGE


class StoreError(PrakerjaError):
    """The local database cannot be opened, read or written."""

    exit_code = ExitCode.ERROR


class NotFoundError(PrakerjaError):
    """A record asked for by id, registration number or NIK does not exist."""

    exit_code = ExitCode.ERROR


class BundleError(PrakerjaError):
    """A USB bundle refused (damaged, cut short, altered, not signed by a known PC, not for this
    one), or bundle keys missing; nothing was stored."""

    exit_code = ExitCode.ERROR


class RejectedError(PrakerjaError):
    """Validation refused the input; nothing was stored."""

    exit_code = ExitCode.REJECTED


class CancelledError(PrakerjaError):
    """The user stopped a command (Ctrl+C, or "no" to a question); its message says what was kept."""

    exit_code = ExitCode.CANCELLED


#: OS failures a clerk meets, by errno, as the reason the catalogue gives (`oserror.*`).
_ERRNO_REASONS = {
    errno.EACCES: "permission", errno.EPERM: "permission", errno.EROFS: "read_only",
    errno.ENOSPC: "disk_full", errno.EDQUOT: "disk_full", errno.ENOENT: "missing",
    errno.EISDIR: "is_folder", errno.ENOTDIR: "not_folder", errno.EBUSY: "in_use",
}  # fmt: skip
#: Windows error numbers that come without a telling errno: 32/33 are a file another program
#: (Excel) holds open; 39/112 a full disk; 19 a write-protected and 21 an absent disk (a USB stick
#: not plugged in; errno says EACCES); 123 a name with \ / : * ? " < > | (errno EINVAL, which
#: would otherwise end in a traceback); 206 a path too long (errno says ENOENT).
_WINERROR_REASONS = {
    5: "permission", 19: "read_only", 21: "not_ready", 32: "in_use", 33: "in_use",
    39: "disk_full", 112: "disk_full", 123: "invalid_name", 206: "too_long",
}  # fmt: skip


def _reason_key(exc: OSError) -> str | None:
    winerror = getattr(exc, "winerror", None) or 0
    return _WINERROR_REASONS.get(winerror) or _ERRNO_REASONS.get(exc.errno or 0)


def os_reason(exc: BaseException) -> str:
    """Why an OS call failed, in the clerk's language (the system's own words when unknown, and
    the error's text for anything but an OSError)."""
    from prakerja_cli.i18n import t

    if not isinstance(exc, OSError):
        return str(exc) or type(exc).__name__
    key = _reason_key(exc)
    return t(f"oserror.{key}") if key else (exc.strerror or type(exc).__name__)


#: What the spreadsheet, zip, XML and CSV libraries say about a damaged file (in English), by the
#: catalogue key that says it in the clerk's language; the first pattern that matches wins.
_LIBRARY_REASONS = (
    (re.compile(r"file is not a zip file|invalid zip archive|zip error", re.I), "not_zip"),
    (re.compile(r"cfb error|invalid ole|not an office document", re.I), "not_xls"),
    (re.compile(r"bad crc|bad magic number|truncated file header|error -?\d+ while "
                r"decompressing|compressed data ended|end-of-stream", re.I), "damaged"),
    (re.compile(r"compression method|zip file version|requires zip version", re.I), "packing"),
    (re.compile(r"file not found '|no item named|no worksheet|workbook\.xml", re.I), "no_workbook"),
    (re.compile(r"not well-formed|syntax error|unclosed token|mismatched tag|xml", re.I), "xml"),
    (re.compile(r"comment, CDATA section or processing instruction", re.I), "xml_extras"),
    (re.compile(r"line contains nul", re.I), "nul"),
    (re.compile(r"mimetype", re.I), "not_ods"),
    (re.compile(r"field larger than field limit", re.I), "cell_too_long"),
)  # fmt: skip


def library_reason(text: str) -> str:
    """A library's English reason for refusing a file (`File is not a zip file.`), in the
    clerk's language; an unknown one is quoted as the library's own words."""
    from prakerja_cli.i18n import t

    for pattern, key in _LIBRARY_REASONS:
        if pattern.search(text):
            return t(f"libreason.{key}")
    return t("libreason.other", text=text.strip().rstrip("."))


def from_os_error(exc: OSError) -> PrakerjaError | None:
    """A file-system failure as an expected error naming the file; None for other OS errors
    (a network or programming failure is not the clerk's to fix)."""
    reason = _reason_key(exc)
    if reason is None:
        return None
    path = str(exc.filename) if exc.filename is not None else "-"
    if reason == "disk_full":
        return StoreError("error.disk_full", hint="hint.disk_full", path=path)
    if reason == "in_use":
        return StoreError("error.file_in_use", hint="hint.file_in_use", path=path)
    return StoreError("error.os", hint="hint.os", path=path, reason=os_reason(exc))
