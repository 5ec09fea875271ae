"""The clerk's language on the command line: `--lang` anywhere on it; `--help` from the catalogues.

Typer reads help texts when the app is built, before anyone knows the language asked for; so the
texts live in the catalogues (`help.<command path>`, `help.<command path>.<parameter>`) and are
put on the commands only when help is about to be shown, in the language of that moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import typer

from prakerja_cli.errors import ParserError, UsageError

LANG_OPTION = "--lang"

#: Options whose value is a day: their placeholder says so (TANGGAL, not TEKS).
DATE_OPTIONS = frozenset({"since", "until", "verified_before", "birth_date", "on", "from_", "to"})

#: The kinds of value click's types name (their names differ between click versions).
_TYPES = {"int": "number", "integer": "number", "float": "number", "path": "path", "file": "path",
          "directory": "folder"}  # fmt: skip

#: click's own headings and the extras it appends to an option's help, by their English text.
_HEADINGS = {
    "Usage": "usage",
    "Arguments": "arguments",
    "Options": "options",
    "Commands": "commands",
}
_EXTRAS = re.compile(r"^(?P<help>.*?)\s*\[(?P<extras>[^\[\]]*)\]$", re.DOTALL)
_DEFAULT = re.compile(r"^default: (?P<value>.*)$", re.DOTALL)
_ENVVAR = re.compile(r"^env var: (?P<value>.*)$", re.DOTALL)


def take_language(args: list[str]) -> list[str]:
    """Apply `--lang X` / `--lang=X` wherever it stands (`prakerja applicants list --lang en`)
    and return the arguments without it. Without one, the language is PRAKERJA_LANG or the
    default. Words after `--` are values, never options."""
    from prakerja_cli.i18n import LANGUAGES, set_language

    kept: list[str] = []
    chosen: str | None = None
    words = iter(args)
    for word in words:
        if word == "--":
            kept.append(word)
            kept.extend(words)
            break
        if word == LANG_OPTION:
            value = next(words, None)
            if value is None:
                set_language(chosen)
                raise ParserError(
                    "error.parser_needs_value",
                    hint="hint.lang",
                    option=LANG_OPTION,
                    command="prakerja",
                    known=", ".join(LANGUAGES),
                )
        elif word.startswith(LANG_OPTION + "="):
            value = word.partition("=")[2]
        else:
            kept.append(word)
            continue
        chosen = value.strip().lower()
        if chosen not in LANGUAGES:
            set_language(None)
            raise UsageError(
                "error.lang_unknown", hint="hint.lang", value=value, known=", ".join(LANGUAGES)
            )
    set_language(chosen)
    return kept


def argument_label(param: Any) -> str:
    """What the clerk's language calls a command-line argument (NIK, NOMOR, BERKAS), as help
    and parser errors show it; its own name in capitals when the catalogue has none."""
    from prakerja_cli.i18n import maybe

    return maybe(f"metavar.{param.name}") or str(param.name).upper()


def _option_metavar(param: Any) -> str | None:
    from prakerja_cli.i18n import maybe

    if param.name in DATE_OPTIONS:
        return maybe("metavar.date")
    kind = _TYPES.get(str(param.type.name).split()[0], "text")
    return maybe(f"metavar.{param.name}") or maybe(f"metavar.type.{kind}")


def _path_of(ctx: Any) -> tuple[str, ...]:
    """The command's path below `prakerja`: ("applicants", "list")."""
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(str(ctx.info_name))
        ctx = ctx.parent
    return tuple(reversed(names))


def help_key(path: Sequence[str], param: str | None = None) -> str:
    """The catalogue key of a command's help (`help.applicants.list`; `help.root` for prakerja
    itself), or of one of its parameters (`help.applicants.list.status`)."""
    key = "help." + (".".join(path) or "root")
    return f"{key}.{param}" if param else key


def localise(command: Any, path: Sequence[str]) -> None:
    """Put the catalogue's help texts and placeholders, in the current language, on `command`,
    its parameters and (for the list of commands in a group's help) its subcommands."""
    from prakerja_cli.i18n import maybe, t

    text = maybe(help_key(path))
    if text is not None:
        command.help, command.short_help = text, None
    command.options_metavar = t("help.options_metavar")
    if hasattr(command, "subcommand_metavar"):
        command.subcommand_metavar = t("help.subcommand_metavar")
    for param in command.params:
        help_text = maybe(help_key(path, param.name)) or maybe(f"help.option.{param.name}")
        if help_text is not None:
            param.help = help_text
        if param.param_type_name == "argument":
            param.metavar = argument_label(param)
        elif not getattr(param, "is_flag", False):
            param.metavar = _option_metavar(param) or param.metavar
    for name, sub in (getattr(command, "commands", None) or {}).items():
        text = maybe(help_key((*path, name)))
        if text is not None:
            sub.help, sub.short_help = text, None


def _translate_extras(text: str) -> str:
    """click appends `[default: 7]`, `[required]`, `[env var: X]` to an option's help in
    English: say them in the clerk's language."""
    from prakerja_cli.i18n import t

    match = _EXTRAS.match(text)
    if match is None:
        return text
    words: list[str] = []
    for extra in match["extras"].split("; "):
        if default := _DEFAULT.match(extra):
            words.append(t("help.extra.default", value=default["value"]))
        elif envvar := _ENVVAR.match(extra):
            words.append(t("help.extra.envvar", value=envvar["value"]))
        elif extra == "required":
            words.append(t("help.extra.required"))
        else:
            words.append(extra)
    joined = "; ".join(words)
    return f"{match['help']}  [{joined}]" if match["help"] else f"[{joined}]"


_BaseFormatter: Any = typer.Context.formatter_class


class HelpFormatter(_BaseFormatter):  # type: ignore[misc]
    """click's help layout with its headings and extras in the clerk's language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        from prakerja_cli.i18n import t

        super().write_usage(prog, args, prefix=f"{t('help.section.usage')}: ")

    def write_heading(self, heading: str) -> None:
        from prakerja_cli.i18n import t

        name = _HEADINGS.get(heading)
        super().write_heading(t(f"help.section.{name}") if name else heading)

    def write_dl(self, rows: Sequence[tuple[str, str]], *args: Any, **kwargs: Any) -> None:
        from prakerja_cli.i18n import t

        shown = []
        for term, text in rows:
            if term == "--help":
                text = t("help.option.help")
            shown.append((term, _translate_extras(text)))
        super().write_dl(shown, *args, **kwargs)


class HelpContext(typer.Context):
    """A context whose help is rendered in the clerk's language at the moment it is shown."""

    formatter_class = HelpFormatter

    def make_formatter(self) -> Any:
        localise(self.command, _path_of(self))
        return super().make_formatter()


def use_help_context(command: Any) -> None:
    """Give `command` and every command below it the HelpContext (no catalogue is read here:
    start-up stays cheap)."""
    for sub in _walk(command):
        sub.context_class = HelpContext


def _walk(command: Any) -> Iterator[Any]:
    yield command
    for sub in (getattr(command, "commands", None) or {}).values():
        yield from _walk(sub)
