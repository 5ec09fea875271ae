"""What every command shares: consoles, options, JSON output, rendering of findings and errors."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prakerja_cli.errors import (
    CancelledError,
    ExitCode,
    ParserError,
    PrakerjaError,
    UsageError,
    from_os_error,
)
from prakerja_cli.i18n import t
from prakerja_cli.store.engine import dbapi

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use: importing rich.console costs ~25 ms of start-up that
    `prakerja --help` does not need. Anything that hands a console to rich (a Prompt, a Progress)
    passes `real()`: rich looks up dunder methods (`with console:`) on the class, where
    attribute forwarding cannot supply them."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    def __enter__(self) -> Console:
        return self.real().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.real().__exit__(*exc)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


#: People read stdout and stderr; scripts read the one JSON document on stdout.
_out = _LazyConsole(highlight=False, soft_wrap=True)
_err = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)
out: Console = _out  # type: ignore[assignment]
err: Console = _err  # type: ignore[assignment]


def err_console() -> Console:
    """The real stderr Console, for rich objects that hold a console (prompts, progress bars)."""
    return _err.real()


JsonOpt = Annotated[bool, typer.Option("--json")]
#: Date options take the forms the form's birth date takes (see parse_day).
SinceOpt = Annotated[str | None, typer.Option()]
UntilOpt = Annotated[str | None, typer.Option()]
RevealOpt = Annotated[bool, typer.Option("--reveal")]


def data_row(table: Any, *cells: object) -> None:
    """Add a table row of data (names, addresses, file and header names): nothing in it is read
    as rich markup, so "Budi [PNS]" or "[bold]" prints as typed."""
    table.add_row(*(escape(str(cell)) for cell in cells))


def print_wide(renderable: Any) -> None:
    """Print to stdout; piped to a file there is no terminal width to respect, so never cut
    a registration number or NIK short."""
    if out.is_terminal:
        out.print(renderable)
    else:
        from rich.console import Console

        Console(highlight=False, soft_wrap=True, width=200).print(renderable)


class _Invocation:
    """What the running command asked for: failures follow it (set by run_guarded)."""

    json_output = False  # --json: an expected failure is a JSON document on stdout too
    json_emitted = False  # the one JSON document is out; nothing more goes to stdout


def emit_json(document: Any) -> None:
    """Write exactly one JSON document to stdout, as UTF-8 whatever the console's code page.
    Written as it is encoded, 64 KiB at a time: an import's document can list ~100k findings,
    and the whole text (with the encoder's list of pieces behind it) would be its peak memory."""
    if sys.stdout is None:  # pythonw, a shortcut with no console: nowhere to write (the work,
        _Invocation.json_emitted = True  # a sync's say, is done and stored all the same)
        return
    encoder = json.JSONEncoder(ensure_ascii=False, indent=2, default=str)
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)

    def write(text: str) -> None:
        # Once a piece is out, a failure (Ctrl+C, a closed pipe) must not add a second document.
        _Invocation.json_emitted = True
        if buffer is None:
            sys.stdout.write(text)
        else:
            buffer.write(text.encode("utf-8"))

    pieces: list[str] = []
    size = 0
    for piece in encoder.iterencode(document):
        pieces.append(piece)
        size += len(piece)
        if size >= _JSON_CHUNK:
            write("".join(pieces))
            pieces.clear()
            size = 0
    pieces.append("\n")
    write("".join(pieces))
    (sys.stdout if buffer is None else buffer).flush()


_JSON_CHUNK = 1 << 16


def harden_streams() -> None:
    """Windows consoles use a legacy code page (cp1252, cp850): a name the code page cannot show
    is printed with '?' instead of ending the command with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a detached or closed stream
                reconfigure(errors="replace")


def debug_enabled() -> bool:
    return os.environ.get("PRAKERJA_DEBUG", "") not in ("", "0", "false")


def error_document(code: str, message: str, hint: str | None, exit_code: int) -> dict[str, Any]:
    """The JSON document of a failure under --json (docs/exit-codes.md)."""
    return {"error": code, "message": message, "hint": hint, "exit_code": exit_code}


def report(exc: PrakerjaError) -> None:
    """Print an expected failure on stderr: `error:`/`hint:` lines (a cancel: one line)."""
    message = t(exc.key, **exc.params)
    if isinstance(exc, CancelledError):
        err.print(message, markup=False)
    else:
        err.print(f"[bold red]{escape(t('label.error'))}:[/] {escape(message)}")
    if exc.hint:
        err.print(f"[bold]{escape(t('label.hint'))}:[/] {escape(t(exc.hint, **exc.params))}")


def fail(exc: PrakerjaError) -> typer.Exit:
    """Report an expected failure on stderr, and under --json also as one JSON document on
    stdout; return the Exit to raise."""
    if _Invocation.json_output and not _Invocation.json_emitted:
        message = t(exc.key, **exc.params)
        hint = t(exc.hint, **exc.params) if exc.hint else None
        emit_json(error_document(exc.code, message, hint, int(exc.exit_code)))
    report(exc)
    return typer.Exit(int(exc.exit_code))


def translate_unexpected(exc: BaseException) -> PrakerjaError | None:
    """Map failures users can meet in normal life (locked DB, read-only folder) to a clean error."""
    if isinstance(exc, dbapi.Error):
        from prakerja_cli.config import db_path
        from prakerja_cli.store.db import store_error

        return store_error(exc, db_path())
    if isinstance(exc, OSError):
        return from_os_error(exc)
    return None


_EXTRA_ARGS = re.compile(r"Got unexpected extra argument\(s\) \((.*)\)", re.DOTALL)
_NO_COMMAND = re.compile(r"No such command '(.*?)'\.(?: Did you mean (.*)\?)?", re.DOTALL)
_NOT_A_NUMBER = re.compile(r".* is not a valid (int|integer|float)(?: range)?\.", re.DOTALL)
_OUT_OF_RANGE = re.compile(r"(.*) is not in the range .*", re.DOTALL)


def parser_error(exc: Any) -> ParserError | None:
    """The parser's (typer's click) refusal of a command line, which it words in English, as one
    line in the clerk's language naming the option and the fix; None for anything else (help
    shown for a bare command group, an exit)."""
    from prakerja_cli.cli.helptext import argument_label

    kind = type(exc).__name__
    ctx = getattr(exc, "ctx", None)
    params: dict[str, Any] = {"command": ctx.command_path if ctx is not None else "prakerja"}
    param = getattr(exc, "param", None)
    if param is not None:  # an option by its flag, an argument by its name (NIKS, REF, FILE)
        is_option = param.param_type_name == "option"
        params["option"] = param.opts[0] if is_option else argument_label(param)
    message = str(getattr(exc, "message", ""))
    if kind == "NoSuchOption":
        if exc.possibilities:
            params["options"] = ", ".join(sorted(exc.possibilities))
        hint = "hint.parser_maybe" if exc.possibilities else "hint.parser_help"
        return ParserError(
            "error.parser_option", hint=hint, **{**params, "option": exc.option_name}
        )
    if kind == "MissingParameter" and param is not None:
        key = "error.parser_missing_option" if is_option else "error.parser_missing_argument"
        return ParserError(key, hint="hint.parser_help", **params)
    if kind == "BadParameter" and param is not None and (match := _OUT_OF_RANGE.fullmatch(message)):
        low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
        bounds = {(True, True): "range", (True, False): "min", (False, True): "max"}
        key = "error.parser_" + bounds.get((low is not None, high is not None), "value")
        return ParserError(key, hint="hint.parser_help", value=match[1], low=low, high=high,
                           detail=message, **params)  # fmt: skip
    if kind == "BadParameter" and param is not None:
        key = "error.parser_number" if _NOT_A_NUMBER.fullmatch(message) else "error.parser_value"
        return ParserError(key, hint="hint.parser_help", detail=message, **params)
    if kind == "BadOptionUsage":
        params["option"] = exc.option_name
        return ParserError("error.parser_needs_value", hint="hint.parser_help", **params)
    if kind == "UsageError" and (match := _EXTRA_ARGS.fullmatch(message)):
        return ParserError("error.parser_extra", hint="hint.parser_quote", words=match[1], **params)
    if kind == "UsageError" and (match := _NO_COMMAND.fullmatch(message)):
        if match[2]:  # typer's suggestion: "Did you mean 'list'?"
            params["options"] = match[2].replace("'", "")
        hint = "hint.parser_maybe" if match[2] else "hint.parser_help"
        return ParserError("error.parser_command", hint=hint, name=match[1], **params)
    return None


def run_guarded(invoke: Callable[[], Any], *, json_output: bool = False) -> Any:
    """Run a command; expected failures become one line and an exit code, never a traceback
    (and one JSON document on stdout under --json)."""
    _Invocation.json_output, _Invocation.json_emitted = json_output, False
    try:
        return invoke()
    except CancelledError as exc:
        raise fail(exc) from None
    except PrakerjaError as exc:
        if debug_enabled():
            raise
        raise fail(exc) from None
    except (KeyboardInterrupt, EOFError):
        raise fail(CancelledError("msg.cancelled")) from None
    except (dbapi.Error, OSError) as exc:
        mapped = translate_unexpected(exc)
        if mapped is None or debug_enabled():
            raise
        raise fail(mapped) from None
    except typer.exceptions.TyperException as exc:
        refused = parser_error(exc)
        if refused is not None:
            raise fail(refused) from None
        # Another parser error (typer's own click): it prints its Usage lines; scripts get the
        # document.
        usage = int(ExitCode.USAGE)
        if _Invocation.json_output and not _Invocation.json_emitted and exc.exit_code == usage:
            emit_json(error_document("usage", exc.format_message(), None, usage))
        raise


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def require_terminal(option: str, hint: str = "hint.no_terminal") -> None:
    """Never wait for an answer nobody can give (Task Scheduler, cron, a pipe): name the option
    that makes the question unnecessary instead (`hint`: what to do, with `{option}`)."""
    if not stdin_is_terminal():
        raise UsageError("error.no_terminal", hint=hint, option=option)


def confirm(question: str, *, default: bool = True, option: str = "--yes") -> bool:
    """Ask a yes/no question on stderr; answers in Indonesian or English (ya/tidak, y/t, yes/no).
    Without a terminal it fails naming `option`."""
    from rich.prompt import Prompt

    from prakerja_cli.core.fields import NO, YES

    require_terminal(option)
    shown = t("yes") if default else t("no")
    # What Enter does is said in words: rich's "(ya/tidak) (tidak)" left a clerk guessing.
    said = f"{t('prompt.yes_no')}; {t('form.enter_takes', value=shown)}"
    label = f"{escape(question)} [dim]({escape(said)})[/]"
    while True:
        answer = Prompt.ask(label, console=err_console(), default=shown, show_default=False)
        answer = answer.strip().lower()
        if answer in YES:
            return True
        if answer in NO:
            return False
        err.print(t("prompt.yes_no_again"), markup=False)


def choose(question: str, choices: list[str], *, default: str | None, option: str) -> str:
    """Ask for one of `choices` (not listed in the question); a wrong answer is asked again in the
    clerk's language. Without a `default`, Enter is asked again too. Without a terminal it fails
    naming `option`."""
    from rich.prompt import Prompt

    require_terminal(option)
    prompt = Prompt(escape(question), console=err_console(), choices=choices, show_choices=False)
    prompt.illegal_choice_message = escape(t("prompt.choice_again", choices="/".join(choices)))
    return prompt() if default is None else prompt(default=default)


def ask(question: str, *, default: str | None = None, option: str) -> str:
    """Ask for a value on stderr (`question` is rich markup); without a terminal it fails naming
    `option`."""
    from rich.prompt import Prompt

    require_terminal(option)
    answer = Prompt.ask(
        question, console=err_console(), default=default, show_default=default is not None
    )
    return answer or ""


def parse_day(value: str | None, option: str) -> date | None:
    """A date option in any form the form's birth date takes (2026-12-31, 31-12-2026,
    31/12/2026, 31.12.2026, 31 Desember 2026): the core's one date parser."""
    from prakerja_cli.core.fields import parse_date

    if value is None:
        return None
    # A bare number would be read as an Excel serial day (the parser's roster case): refused.
    day = None if value.strip().isdigit() else parse_date(value)
    if day is None:
        raise UsageError("error.date_option", hint="hint.date_option", option=option, value=value)
    return day


def parse_choice(value: str, codes: tuple[str, ...], labels: str, option: str) -> str:
    """The code a clerk means by `value`: the code itself or its label in either language, in
    any case and spacing ("FLAGGED", "sah, dengan catatan", "Dibatalkan"). `labels` is the
    catalogue prefix of the labels (status, central)."""
    from prakerja_cli.i18n import LANGUAGES

    wanted = " ".join(value.split()).casefold()
    for code in codes:
        names = {code, *(t(f"{labels}.{code}", lang=lang) for lang in LANGUAGES)}
        if wanted in {" ".join(name.split()).casefold() for name in names}:
            return code
    raise UsageError(
        "error.choice_unknown",
        hint="hint.choice",
        option=option,
        value=value,
        known=", ".join(codes),
    )


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
    pipe. Yields a `progress(done, total, phase=...)` callback, or None: a phase named in
    `phases` shows its own label (an import's "store" after its "check"); `total` None pulses."""

    def __init__(self, label: str, phases: dict[str, str] | None = None) -> None:
        self.label = label
        self.phases = phases or {}
        self.bar: Any = None

    def __enter__(self) -> Any:
        if not err.is_terminal:
            return None
        from rich.progress import Progress

        self.bar = Progress(console=err_console(), transient=True)
        self.bar.start()
        task = self.bar.add_task(self.label, total=None)

        def progress(done: int, total: int | None, phase: str = "") -> None:
            label = self.phases.get(phase, self.label)
            self.bar.update(task, completed=done, total=total, description=label)

        return progress

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
