"""The app directory and the office configuration: option → env var → config file → default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from prakerja_cli.errors import ConfigError

CONFIG_NAME = "config.toml"
DB_NAME = "prakerja.db"


def app_dir() -> Path:
    """Where everything lives: $PRAKERJA_HOME, else the platform's user data directory."""
    home = os.environ.get("PRAKERJA_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_data_path

    return user_data_path("prakerja", appauthor=False)


def config_path() -> Path:
    return app_dir() / CONFIG_NAME


def db_path() -> Path:
    return app_dir() / DB_NAME


@dataclass(slots=True)
class Config:
    """One office desk's settings, written by `prakerja init`."""

    office_code: str
    office_name: str
    desk: str
    operator: str
    rules: str
    #: The central system (see docs/central-api.md); env PRAKERJA_API_URL / PRAKERJA_API_TOKEN win.
    api_url: str = ""
    api_token: str = ""

    def effective_operator(self) -> str:
        """PRAKERJA_OPERATOR lets clerks sharing one PC sign their own work."""
        return os.environ.get("PRAKERJA_OPERATOR", "").strip() or self.operator

    def effective_api(self) -> tuple[str, str]:
        """(API address, token): env var, else config file."""
        url = os.environ.get("PRAKERJA_API_URL", "").strip() or self.api_url
        token = os.environ.get("PRAKERJA_API_TOKEN", "").strip() or self.api_token
        return url, token


def office_key() -> bytes:
    """This office's secret (32 random bytes, owner-only): keys the audit chain so an entry cannot
    be forged by someone holding only the database. Created on first use."""
    import secrets

    path = app_dir() / "office.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def _toml_value(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write the config atomically (write a temp file, then replace), owner-only where possible."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# prakerja-cli office configuration; edit with `prakerja init --force`\n"
    body += "".join(f"{k} = {_toml_value(str(v))}\n" for k, v in asdict(config).items())
    tmp = path.with_suffix(".tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def load_config(path: Path | None = None) -> Config:
    """Read the office configuration, or raise ConfigError saying how to create it."""
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("error.no_office", hint="hint.run_init", path=str(path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            "error.config_broken", hint="hint.run_init_force", path=str(path), reason=str(exc)
        ) from None
    known = {f.name for f in fields(Config)}
    missing = [
        name
        for name in ("office_code", "office_name", "desk", "operator", "rules")
        if name not in data
    ]
    if missing:
        raise ConfigError(
            "error.config_broken",
            hint="hint.run_init_force",
            path=str(path),
            reason="missing " + ", ".join(missing),
        )
    return Config(**{k: str(v) for k, v in data.items() if k in known})
