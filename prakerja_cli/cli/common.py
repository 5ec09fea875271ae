"""What every command shares: consoles, options, JSON output, rendering of findings and errors."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prakerja_cli.errors import CancelledError, ExitCode, PrakerjaError, StoreError
from prakerja_cli.i18n import t

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use: importing rich.console costs ~25 ms of start-up that
    `prakerja --help` does not need."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


#: People read stdout and stderr; scripts read the one JSON document on stdout.
out: Console = _LazyConsole(highlight=False, soft_wrap=True)  # type: ignore[assignment]
err: Console = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)  # type: ignore[assignment]

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")]
RevealOpt = Annotated[
    bool, typer.Option("--reveal", help="Show NIK and KK whole (they are masked by default).")
]


def print_wide(renderable: Any) -> None:
    """Print to stdout; piped to a file there is no terminal width to respect, so never cut
    a registration number or NIK short."""
    if out.is_terminal:
        out.print(renderable)
    else:
        from rich.console import Console

        Console(highlight=False, soft_wrap=True, width=200).print(renderable)


def emit_json(document: Any) -> None:
    """Write exactly one JSON document to stdout."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def debug_enabled() -> bool:
    return os.environ.get("PRAKERJA_DEBUG", "") not in ("", "0", "false")


def report(exc: PrakerjaError) -> None:
    """Print an expected failure as `error:`/`hint:` lines on stderr."""
    err.print(f"[bold red]{escape(t('label.error'))}:[/] {escape(t(exc.key, **exc.params))}")
    if exc.hint:
        err.print(f"[bold]{escape(t('label.hint'))}:[/] {escape(t(exc.hint, **exc.params))}")


def fail(exc: PrakerjaError) -> typer.Exit:
    """Report an expected failure; return the Exit to raise."""
    report(exc)
    return typer.Exit(int(exc.exit_code))


def translate_unexpected(exc: BaseException) -> PrakerjaError | None:
    """Map failures users can meet in normal life (locked DB, read-only folder) to a clean error."""
    if isinstance(exc, sqlite3.Error):
        from prakerja_cli.config import db_path
        from prakerja_cli.store.db import store_error

        return store_error(exc, db_path())
    if isinstance(exc, PermissionError | IsADirectoryError | NotADirectoryError):
        return StoreError("error.os", hint="hint.os", path=str(exc.filename), reason=exc.strerror)
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return StoreError("error.disk_full", hint="hint.disk_full", path=str(exc.filename))
    return None


def run_guarded(invoke: Callable[[], Any]) -> Any:
    """Run a command; expected failures become one line and an exit code, never a traceback."""
    try:
        return invoke()
    except CancelledError:
        err.print(t("msg.cancelled"))
        raise typer.Exit(int(ExitCode.CANCELLED)) from None
    except PrakerjaError as exc:
        if debug_enabled():
            raise
        raise fail(exc) from None
    except (KeyboardInterrupt, EOFError):
        err.print(t("msg.cancelled"))
        raise typer.Exit(int(ExitCode.CANCELLED)) from None
    except (sqlite3.Error, OSError) as exc:
        mapped = translate_unexpected(exc)
        if mapped is None or debug_enabled():
            raise
        raise fail(mapped) from None


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        from prakerja_cli.errors import UsageError

        raise UsageError(
            "error.date_option", hint="hint.date_option", option=option, value=value
        ) from None


def findings_json(findings: list[Any]) -> list[dict[str, Any]]:
    return [f.to_dict() for f in findings]


SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def render_findings(findings: list[Any], console: Console | None = None) -> None:
    """One line per finding: severity label and the localised message naming field and fix."""
    console = console or err
    for finding in findings:
        severity = str(finding.severity)
        label = t(f"severity.{severity}")
        style = SEVERITY_STYLE[severity]
        console.print(
            f"  [{style}]{escape(label)}[/] {escape(finding.message())} [dim]({finding.code})[/]"
        )


class progress_bar:
    """A rich progress bar on stderr when it is a terminal; nothing under cron, Task Scheduler or a
    pipe. Yields a `progress(done, total)` callback, or None."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __enter__(self) -> Any:
        if not err.is_terminal:
            return None
        from rich.progress import Progress

        self.bar = Progress(console=err, transient=True)
        self.bar.start()
        task = self.bar.add_task(self.label, total=None)
        return lambda done, total: self.bar.update(task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
