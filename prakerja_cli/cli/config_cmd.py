"""`prakerja config`: show this desk's configuration and where it lives."""

from __future__ import annotations

from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, err, out

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(json_output: JsonOpt = False) -> None:
    """Show the office configuration."""
    from dataclasses import asdict

    from prakerja_cli.config import load_config
    from prakerja_cli.i18n import t

    config = load_config()
    from prakerja_cli.config import db_path
    from prakerja_cli.store.engine import is_encrypted

    if is_encrypted(db_path()):  # an encrypted store keeps the token inside
        from prakerja_cli.office import open_workspace

        open_workspace().db.close()
    url, token = config.effective_api()
    # The token is never printed: only whether one is set.
    data = {
        **asdict(config),
        "operator": config.effective_operator(),
        "api_url": url,
        "api_token": "********" if token else "",
    }
    paths = _paths()
    if json_output:
        emit_json({**data, **paths})
        return
    for key, value in {**data, **paths}.items():
        shown = value if value not in (None, "") else t("config.empty")
        out.print(f"{t('config.' + key)}: {shown}", markup=False)


@app.command("path")
def path(json_output: JsonOpt = False) -> None:
    """Print where the configuration, database and app directory are."""
    from prakerja_cli.i18n import t

    paths = _paths()
    if json_output:
        emit_json(paths)
        return
    for key, value in paths.items():
        out.print(f"{t('config.' + key)}: {value}", markup=False)


def _paths() -> dict[str, str]:
    """Where this desk's files are, keyed as `config show` and `config path` print them."""
    from prakerja_cli.config import app_dir, config_path, db_path

    return {
        "app_dir": str(app_dir()),
        "config_path": str(config_path()),
        "database_path": str(db_path()),
    }


#: Settings `config set` may change; office code and rules are set by `prakerja init --force`.
SETTABLE = ("api_url", "api_token", "operator", "office_name", "desk", "retention_days")


def _read_token(*, from_stdin: bool) -> str:
    """The API token, asked without echo at a terminal, else (and with `-`) one line of stdin:
    never on the command line, where shell history and the process list keep it."""
    import sys

    from prakerja_cli.cli.common import stdin_is_terminal
    from prakerja_cli.i18n import t

    if from_stdin or not stdin_is_terminal():
        return sys.stdin.readline().strip()
    from rich.prompt import Prompt

    from prakerja_cli.cli.common import err_console

    return Prompt.ask(t("prompt.api_token"), console=err_console(), password=True).strip()


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument()],
    value: Annotated[str | None, typer.Argument()] = None,
    json_output: JsonOpt = False,
) -> None:
    """Change one setting in the office configuration (the file stays owner-only). An api_url is
    checked as sync checks it: https, or plain http only to this computer."""
    from dataclasses import replace

    from prakerja_cli.config import load_config, save_config
    from prakerja_cli.errors import UsageError
    from prakerja_cli.i18n import t

    if key not in SETTABLE:
        raise UsageError(
            "error.config_key", hint="hint.config_key", key=key, keys=", ".join(SETTABLE)
        )
    from prakerja_cli.office import check_setting

    if key == "api_token" and value in (None, "-"):
        value = _read_token(from_stdin=value == "-")
    elif value is None:
        raise UsageError("error.config_value_missing", hint="hint.config_value_missing", key=key)
    elif key == "api_token" and value:
        # It works, but a command line stays in shell history and every account's process list.
        err.print(t("msg.token_on_command_line"), markup=False)
    value = check_setting(key, value)
    if key == "api_url" and value:
        from prakerja_cli.sync.http import check_api_url

        try:
            check_api_url(value)  # the check sync makes, so a bad address fails now, not at night
        except UsageError as exc:
            raise UsageError("error.config_value", hint="hint.config_api_url", key=key,
                             reason=t(exc.key, **exc.params)) from None  # fmt: skip
    from prakerja_cli.config import db_path
    from prakerja_cli.store.engine import is_encrypted

    config = load_config()
    if key == "api_token" and is_encrypted(db_path()):
        from prakerja_cli.office import keep_secret

        keep_secret("api_token", value)  # inside the encrypted store, never in config.toml
    else:
        save_config(replace(config, **{key: value}))
    shown = "********" if key == "api_token" and value else value
    if json_output:
        emit_json({"key": key, "value": shown})
        return
    out.print(t("msg.config_set", key=key, value=shown), markup=False)
