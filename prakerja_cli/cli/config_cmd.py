"""`prakerja config`: show this desk's configuration and where it lives."""

from __future__ import annotations

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out

app = typer.Typer(no_args_is_help=True, help="Show the office configuration and where it lives.")


@app.command("show")
def show(json_output: JsonOpt = False) -> None:
    """Show the office configuration.

    Example: prakerja config show --json
    """
    from dataclasses import asdict

    from prakerja_cli.config import app_dir, config_path, db_path, load_config
    from prakerja_cli.i18n import t

    config = load_config()
    data = {**asdict(config), "operator": config.effective_operator()}
    paths = {
        "app_dir": str(app_dir()),
        "config_path": str(config_path()),
        "database_path": str(db_path()),
    }
    if json_output:
        emit_json({**data, **paths})
        return
    for key, value in {**data, **paths}.items():
        out.print(f"{t('config.' + key)}: {value}")


@app.command("path")
def path(json_output: JsonOpt = False) -> None:
    """Print where the configuration, database and app directory are.

    Example: prakerja config path
    """
    from prakerja_cli.config import app_dir, config_path, db_path

    paths = {
        "app_dir": str(app_dir()),
        "config_path": str(config_path()),
        "database_path": str(db_path()),
    }
    if json_output:
        emit_json(paths)
        return
    for value in paths.values():
        out.print(value)
