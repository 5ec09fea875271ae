"""The `prakerja` command: wires the command groups; each command lives in its own module.

Command modules import only typer and rich at the top; the store, the validation core and the
spreadsheet readers are imported inside the commands, so `prakerja --help` starts fast.
"""

from __future__ import annotations

import copy
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from prakerja_cli import __version__
from prakerja_cli.cli.common import harden_streams, run_guarded
from prakerja_cli.cli.helptext import HelpContext, take_language, use_help_context


class GuardedGroup(TyperGroup):
    """Runs every subcommand under one error handler (see common.run_guarded), in the language
    asked for wherever `--lang` stands, with help in that language."""

    context_class = HelpContext

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Noted before the subcommand parses its options, so even a failure there honours --json.
        ctx.meta["prakerja.json"] = json_output = "--json" in args
        use_help_context(self)

        def parse() -> list[str]:
            # `--lang` is taken out first: `prakerja applicants list --lang en` works, and
            # `--help` anywhere after it is already in that language. The root's own options
            # (`prakerja --lnag en ...`) are parsed here, outside invoke.
            parsed: list[str] = super(GuardedGroup, self).parse_args(ctx, take_language(args))
            return parsed

        result: list[str] = run_guarded(parse, json_output=json_output)
        return result

    def invoke(self, ctx: Any) -> Any:
        harden_streams()
        json_output = bool(ctx.meta.get("prakerja.json"))
        return run_guarded(lambda: super(GuardedGroup, self).invoke(ctx), json_output=json_output)


app = typer.Typer(
    name="prakerja",
    cls=GuardedGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"prakerja-cli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    lang: Annotated[str | None, typer.Option("--lang")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    # --lang is applied by GuardedGroup.parse_args wherever it stands; it is declared here so that
    # `prakerja --help` lists it.
    del lang, version


def _wire() -> None:
    from prakerja_cli.cli import (
        applicants_cmd,
        audit_cmd,
        backup_cmd,
        central_cmd,
        config_cmd,
        demo_cmd,
        doctor_cmd,
        encrypt_cmd,
        export_cmd,
        handover_cmd,
        hub_cmd,
        init_cmd,
        nik_cmd,
        purge_cmd,
        refdata_cmd,
        register_cmd,
        report_cmd,
        roster_cmd,
        roster_template_cmd,
        sync_cmd,
    )

    app.command("init")(init_cmd.init)
    app.command("nik")(nik_cmd.nik)
    app.command("register")(register_cmd.register)
    app.command("demo")(demo_cmd.demo)
    app.command("backup")(backup_cmd.backup)
    app.command("restore")(backup_cmd.restore)
    app.command("doctor")(doctor_cmd.doctor)
    app.command("purge")(purge_cmd.purge)
    app.command("encrypt")(encrypt_cmd.encrypt)
    app.command("unlock")(encrypt_cmd.unlock)
    app.add_typer(applicants_cmd.app, name="applicants")
    app.add_typer(audit_cmd.app, name="audit")
    app.add_typer(central_cmd.app, name="central")
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(hub_cmd.app, name="hub")
    app.command("export")(export_cmd.export)
    app.command("report")(report_cmd.report)
    app.command("handover")(handover_cmd.handover)
    roster_cmd.app.command("template")(roster_template_cmd.template)
    app.add_typer(roster_cmd.app, name="roster")
    app.add_typer(refdata_cmd.app, name="refdata")
    app.add_typer(sync_cmd.app, name="sync")


_wire()


def _command_named(args: list[str]) -> str | None:
    """The command or group that `args` runs (`nik` in `prakerja --lang en nik ...`), if any."""
    rest = iter(args)
    for arg in rest:
        if arg == "--lang":
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
        elif not arg.startswith("--lang="):
            return None  # a root option (--help, --version, a mistyped one): the whole app
    return None


def _only(name: str) -> typer.Typer | None:
    """The app with only the command or group `name`, or None when it has no such one. Typer
    builds every command's options from its signature before running one (~20 ms for all of
    them): a clerk's command builds only its own. Help and errors read the same, since they name
    only that command (`prakerja --help` and an unknown command still get the whole app)."""
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return None
    trimmed = copy.copy(app)
    trimmed.registered_commands = commands
    trimmed.registered_groups = groups
    return trimmed


def main() -> None:
    name = _command_named(sys.argv[1:])
    trimmed = _only(name) if name is not None else None
    (trimmed or app)()
