"""The office workspace: its configuration and store, opened together; and `init` which makes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prakerja_cli.config import (
    Config,
    config_path,
    db_path,
    load_config,
    office_key,
    save_config,
)
from prakerja_cli.core.rules import rule_set_names
from prakerja_cli.errors import ConfigError, UsageError
from prakerja_cli.store.applicants import Office
from prakerja_cli.store.db import open_db
from prakerja_cli.store.regions import load_packaged_regions, region_name

if TYPE_CHECKING:
    from sqlite_utils import Database

_DESK = re.compile(r"[A-Z0-9]{1,8}")


@dataclass(slots=True)
class Workspace:
    config: Config
    db: Database
    office: Office


def open_workspace() -> Workspace:
    """Config and store of this desk; a clear ConfigError when `prakerja init` has not run."""
    config = load_config()
    if config.rules not in rule_set_names():
        raise ConfigError(
            "error.config_broken",
            hint="hint.run_init_force",
            path=str(config_path()),
            reason=f"rules = {config.rules!r}",
        )
    db = open_db(db_path())
    regency = region_name(db, config.office_code) or config.office_code
    province = region_name(db, config.office_code[:2]) or config.office_code[:2]
    office = Office(
        office_code=config.office_code,
        regency=regency.upper(),
        province=province.upper(),
        desk=config.desk,
        operator=config.effective_operator(),
        rules=config.rules,
    )
    return Workspace(config, db, office)


@dataclass(frozen=True, slots=True)
class InitResult:
    config: Config
    config_path: str
    db_path: str
    regency: str
    regions_loaded: int


def check_office_code(code: str) -> str:
    digits = code.strip().replace(".", "")
    if not re.fullmatch(r"\d{4}", digits):
        raise UsageError("error.office_code_format", hint="hint.office_code", code=code)
    return digits


def check_desk(desk: str) -> str:
    value = desk.strip().upper()
    if not _DESK.fullmatch(value):
        raise UsageError("error.desk_format", hint="hint.desk", desk=desk)
    return value


def check_rules(rules: str) -> str:
    if rules not in rule_set_names():
        raise UsageError(
            "error.rules_unknown", hint="hint.rules", rules=rules, known=", ".join(rule_set_names())
        )
    return rules


def init_office(
    *, office_code: str, office_name: str, desk: str, operator: str, rules: str, force: bool = False
) -> InitResult:
    """Create the store (with the region list) and write the office configuration."""
    path = config_path()
    if path.exists() and not force:
        raise ConfigError("error.already_initialised", hint="hint.init_force", path=str(path))
    code = check_office_code(office_code)
    desk_id = check_desk(desk)
    check_rules(rules)
    name = " ".join(office_name.split())
    operator_name = " ".join(operator.split())
    if not name:
        raise UsageError("error.required_option", hint="hint.init_options", option="--office-name")
    if not operator_name:
        raise UsageError("error.required_option", hint="hint.init_options", option="--operator")
    db = open_db(db_path(), create=True)
    loaded = 0
    if db.execute("SELECT count(*) FROM regions").fetchone()[0] == 0:
        loaded = load_packaged_regions(db).added
    regency = region_name(db, code)
    if regency is None or code[2:] == "00":
        raise UsageError("error.office_code_unknown", hint="hint.office_code", code=code)
    existing = db.execute("SELECT value FROM meta WHERE key = 'office_code'").fetchone()
    if existing and existing[0] != code:
        raise ConfigError(
            "error.office_code_changed", hint="hint.office_code_changed", old=existing[0], new=code
        )
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('office_code', ?)", [code])
    config = Config(
        office_code=code, office_name=name, desk=desk_id, operator=operator_name, rules=rules
    )
    save_config(config, path)
    office_key()  # the audit chain's key, made now so backups of a fresh office include it
    return InitResult(config, str(path), str(db_path()), regency, loaded)


@dataclass(frozen=True, slots=True)
class RestoreResult:
    set_aside: Path
    counts: dict[str, int]
    key: str  # restored (the backup's key is now this office's), same, or missing (an old backup)
    key_set_aside: Path | None  # the different key that was here before
    key_mismatch: bool  # a backup without the key whose audit trail this key does not verify


def restore_office(file: Path) -> RestoreResult:
    """Put a backup of this office in place of the store and its key in place of office.key, then
    audit it. For a backup without the key, entries this key cannot verify are marked as such."""
    from prakerja_cli.store import audit
    from prakerja_cli.store.backup import restore
    from prakerja_cli.store.db import write

    done = restore(file, db_path(), load_config().office_code)
    ws = open_workspace()  # applies any newer migrations to the restored copy
    key = "missing" if done.key is None else "restored" if done.key_changed else "same"
    with write(ws.db):
        mismatch = done.key is None and audit.verify(ws.db).problem == "edited"
        if mismatch:
            audit.mark_key_change(ws.db)
        audit.record(ws.db, ws.office, "restore", None, {
            "file": file.name, "set_aside": done.set_aside.name, "key": key,
        })  # fmt: skip
    return RestoreResult(done.set_aside, done.counts, key, done.key_set_aside, mismatch)
