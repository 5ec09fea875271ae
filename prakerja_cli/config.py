"""The app directory and the office configuration: option → env var → config file → default."""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from prakerja_cli.errors import ConfigError
from prakerja_cli.files import private_folder

CONFIG_NAME = "config.toml"
DB_NAME = "prakerja.db"


def app_dir() -> Path:
    """Where everything lives: $PRAKERJA_HOME, else the platform's user data directory."""
    # cmd.exe keeps the quotes of `set PRAKERJA_HOME="D:\\prakerja"` in the value.
    home = os.environ.get("PRAKERJA_HOME", "").strip().strip('"').strip()
    if home:
        return Path(home).expanduser()
    from platformdirs import user_data_path

    path = user_data_path("prakerja", appauthor=False)
    if sys.platform == "win32" and path.is_dir():
        # Python from the Microsoft Store keeps what it writes in %LOCALAPPDATA% in a private copy
        # (...\Packages\PythonSoftwareFoundation.Python.3.x_...\LocalCache\Local). Resolved, the
        # folder is named where Explorer, a backup script or a Task Scheduler log line finds it.
        path = path.resolve()
    return path


def config_path() -> Path:
    return app_dir() / CONFIG_NAME


def db_path() -> Path:
    return app_dir() / DB_NAME


#: The default of `retention_days`: three months after the last change.
RETENTION_DAYS = 90


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
    #: Days a withdrawn or centrally refused record keeps its personal data after its last change
    #: (`prakerja purge --retention`; docs/security.md).
    retention_days: str = str(RETENTION_DAYS)
    #: An encrypted store's key: the OS keyring's entry (`key_id`, not secret) or a key file kept
    #: off this disk (`key_file`); see prakerja_cli/vault.py. Both empty: a plain store.
    key_id: str = ""
    key_file: str = ""

    def effective_operator(self) -> str:
        """PRAKERJA_OPERATOR lets clerks sharing one PC sign their own work."""
        return os.environ.get("PRAKERJA_OPERATOR", "").strip() or self.operator

    def retention(self) -> int:
        """`retention_days` as days (a hand-edited value that is no whole number: the default)."""
        value = self.retention_days.strip()
        return int(value) if value.isdigit() and int(value) > 0 else RETENTION_DAYS

    def effective_api(self) -> tuple[str, str]:
        """(API address, token): env var, else config file."""
        url = os.environ.get("PRAKERJA_API_URL", "").strip() or self.api_url
        from prakerja_cli.vault import secret

        token = os.environ.get("PRAKERJA_API_TOKEN", "").strip()
        return url, token or secret("api_token") or self.api_token


KEY_NAME = "office.key"
KEY_SIZE = 32


def key_path() -> Path:
    return app_dir() / KEY_NAME


def office_key(*, create: bool = False) -> bytes:
    """This office's secret (32 random bytes, owner-only): keys the audit chain so an entry cannot
    be forged by someone holding only the database. Made only when asked (`init`, a restore, a
    store with no audit entries yet): a lost key replaced silently would make every earlier audit
    entry look edited."""
    import secrets

    from prakerja_cli.vault import secret

    inside = secret("office_key")  # an encrypted store keeps it inside
    if inside is not None:
        return bytes.fromhex(inside)
    path = key_path()
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise ConfigError(
                "error.office_key_missing", hint="hint.office_key_missing", path=str(path)
            ) from None
        private_folder(path.parent)
        write_private(path, secrets.token_bytes(KEY_SIZE), overwrite=False)
        key = path.read_bytes()  # ours, or the one another process made first
    if len(key) != KEY_SIZE:
        raise ConfigError("error.office_key_broken", hint="hint.office_key_broken", path=str(path))
    return key


def earlier_keys() -> list[bytes]:
    """Keys this office held before: set aside by a restore, or an old PC's key copied in as
    office.<name>.key. They verify audit entries made before a key-less backup was restored."""
    return [p.read_bytes() for p in sorted(app_dir().glob("office.*.key"))]


def write_private(path: Path, data: bytes, *, overwrite: bool = True) -> bool:
    """Write a key or config file atomically in binary: a flushed owner-only temp file beside it,
    then moved into place, so a crash never leaves a short file. Without `overwrite` an existing
    file is kept (another process made it first) and False is returned."""
    from prakerja_cli.files import private_temp

    tmp = private_temp(path)
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not overwrite:
            try:
                os.link(tmp, path)  # unlike replace, fails when the file exists (POSIX and NTFS)
                return True
            except FileExistsError:
                return False
            except OSError:  # a file system without hard links (FAT): check, then replace
                if path.exists():
                    return False
        _replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _replace(tmp: Path, path: Path) -> None:
    """Move `tmp` onto `path`; on Windows retried for about a second. Windows refuses to replace a
    file while anyone has it open, and someone briefly does: another prakerja reading config.toml,
    an antivirus scanning the file just written. POSIX never refuses, so it is not retried there."""
    import time

    for delay in (0.05, 0.1, 0.2, 0.3, 0.4):
        try:
            tmp.replace(path)
            return
        except PermissionError:
            if sys.platform != "win32":
                raise
            time.sleep(delay)
    tmp.replace(path)


def install_key(key: bytes, stamp: str) -> tuple[bool, Path | None]:
    """Make `key` this office's key (at a restore): (whether the key file changed, where a different
    key already here was kept: office.before-restore-STAMP.key, never deleted)."""
    path = key_path()
    old = path.read_bytes() if path.exists() else None
    if old == key:
        return False, None
    aside = None
    if old is not None:
        aside = path.with_name(f"{path.stem}.before-restore-{stamp}{path.suffix}")
        write_private(aside, old)  # copied, not moved: there is never a moment without a key
    private_folder(path.parent)
    write_private(path, key)
    return True, aside


def _toml_value(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write the config atomically (write a temp file, then replace), owner-only where possible."""
    path = path or config_path()
    private_folder(path.parent)
    body = "# prakerja-cli office configuration; edit with `prakerja init --force`\n"
    body += "".join(f"{k} = {_toml_value(str(v))}\n" for k, v in asdict(config).items())
    write_private(path, body.encode("utf-8"))
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
