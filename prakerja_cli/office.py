"""The office workspace: its configuration and store, opened together; and `init` which makes them."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prakerja_cli.config import (
    Config,
    app_dir,
    config_path,
    db_path,
    key_path,
    load_config,
    office_key,
    save_config,
)
from prakerja_cli.core.nik import RegionLookup
from prakerja_cli.core.rules import rule_set_names
from prakerja_cli.errors import ConfigError, StoreError, UsageError
from prakerja_cli.store.applicants import Office
from prakerja_cli.store.db import journals, open_db
from prakerja_cli.store.numbering import adopt, marks_path
from prakerja_cli.store.regions import load_packaged_regions, region_name

if TYPE_CHECKING:
    from prakerja_cli.store.backup import Comparison
    from prakerja_cli.store.db import Database

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
    if not key_path().exists():
        # A store nobody has signed anything in yet may get its key now; one with audit
        # entries needs its own key back (office_key names the fix).
        office_key(create=db.execute("SELECT 1 FROM audit LIMIT 1").fetchone() is None)
    adopt(db)
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
    from prakerja_cli.store import audit

    audit.seal(db, office)  # once, for a store made before entries committed to records
    return Workspace(config, db, office)


@dataclass(frozen=True, slots=True)
class InitResult:
    config: Config
    config_path: str
    db_path: str
    regency: str
    regions_loaded: int


def check_office_code(code: str, regions: RegionLookup | None = None) -> str:
    """A 4-digit regency/city code (dots allowed) that the region list knows; the packaged
    Kemendagri list unless `regions` is given."""
    digits = code.strip().replace(".", "")
    if not re.fullmatch(r"\d{4}", digits):
        raise UsageError("error.office_code_format", hint="hint.office_code", code=code)
    if regions is None:
        from prakerja_cli.desk import region_lookup

        regions = region_lookup(None)
    if digits[2:] == "00" or regions(digits) is None:
        raise UsageError("error.office_code_unknown", hint="hint.office_code", code=digits)
    return digits


def check_desk(desk: str) -> str:
    value = desk.strip().upper()
    if not _DESK.fullmatch(value):
        raise UsageError("error.desk_format", hint="hint.desk", desk=desk)
    return value


def check_rules(rules: str) -> str:
    rules = rules.strip()
    if rules not in rule_set_names():
        raise UsageError(
            "error.rules_unknown", hint="hint.rules", rules=rules, known=", ".join(rule_set_names())
        )
    return rules


def check_required(value: str, what: str, hint: str | None = "hint.init_options") -> str:
    """The value with its spaces tidied; refused when empty (`what` names the option or field)."""
    tidy = " ".join(value.split())
    if not tidy:
        raise UsageError("error.required_option", hint=hint, option=what)
    return tidy


def check_setting(key: str, value: str) -> str:
    """A new value for `config set`, checked as `init` checks it: the desk id's form; an operator
    or office name that is not empty (a receipt and the audit trail name them)."""
    if key == "desk":
        return check_desk(value)
    if key in ("operator", "office_name"):
        return check_required(value, key, hint="hint.config_required")
    if key == "retention_days":
        days = value.strip()
        if not (days.isdigit() and 1 <= int(days) <= 3650):
            raise UsageError("error.retention_days", hint="hint.retention_days", value=value)
        return str(int(days))
    return value.strip()


def check_can_init(force: bool) -> None:
    """Refuse to set up a desk that already is, before anything is asked or written."""
    path = config_path()
    if path.exists() and not force:
        raise ConfigError("error.already_initialised", hint="hint.init_force", path=str(path))


def init_office(
    *, office_code: str, office_name: str, desk: str, operator: str, rules: str, force: bool = False
) -> InitResult:
    """Create the store (with the region list) and write the office configuration. A failure or
    Ctrl-C part way removes every file this call created: the desk is set up whole or not at all."""
    from prakerja_cli.store import audit

    check_can_init(force)
    desk_id = check_desk(desk)
    rules = check_rules(rules)
    name = check_required(office_name, "--office-name")
    operator_name = check_required(operator, "--operator")
    path, store = config_path(), db_path()
    created = [
        p for p in (path, store, *journals(store), key_path(), marks_path()) if not p.exists()
    ]
    home_created = not app_dir().exists()
    db = None
    try:
        db = open_db(store, create=True)
        loaded = 0
        if db.execute("SELECT count(*) FROM regions").fetchone()[0] == 0:
            loaded = load_packaged_regions(db).added
        code = check_office_code(office_code, lambda c: region_name(db, c))
        regency = region_name(db, code) or code
        existing = db.execute("SELECT value FROM meta WHERE key = 'office_code'").fetchone()
        if existing and existing[0] != code:
            raise ConfigError(
                "error.office_code_changed",
                hint="hint.office_code_changed",
                old=existing[0],
                new=code,
            )
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('office_code', ?)", [code])
        # The audit chain's key, made now so backups of a fresh office include it. `init --force`
        # over a store whose key was lost starts a new key: entries signed before are marked as
        # made with a key this PC does not hold (audit verify: problem 'key', not 'edited').
        from prakerja_cli import vault

        lost = not key_path().exists() and vault.secret("office_key") is None
        if lost and db.execute("SELECT 1 FROM audit LIMIT 1").fetchone():
            audit.mark_key_change(db)
        office_key(create=True)
        adopt(
            db
        )  # this PC numbers this store (a restore of another store's backup is not vouched for)
        config = Config(
            office_code=code, office_name=name, desk=desk_id, operator=operator_name, rules=rules
        )
        if force and path.exists():  # where an encrypted store's key is stays known
            earlier = load_config(path)
            config.key_id, config.key_file = earlier.key_id, earlier.key_file
        save_config(config, path)  # last: a config file means the desk is set up
    except BaseException:
        if db is not None:
            db.close()  # Windows cannot remove an open file
        for leftover in created:
            # A file another program holds open (an antivirus scan, on Windows) stays; the
            # failure the clerk must see is the one that stopped `init`.
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        if home_created:
            with contextlib.suppress(OSError):
                app_dir().rmdir()
        raise
    db.close()
    return InitResult(config, str(path), str(store), regency, loaded)


@dataclass(frozen=True, slots=True)
class RestoreResult:
    set_aside: Path
    counts: dict[str, int]
    key: str  # restored (the backup's key is now this office's), same, or missing (an old backup)
    key_set_aside: Path | None  # the different key that was here before
    key_mismatch: bool  # a backup without the key whose audit trail this key does not verify
    compared: Comparison  # the store replaced, against the backup
    carried: list[str]  # registration numbers of the records kept from the store replaced
    next_number: str  # the number this desk gives next
    numbering_locked: bool  # this PC cannot vouch for the desk's numbers (store/numbering.py)


def preview_restore(file: Path, key: bytes | None = None) -> Comparison:
    """What restoring `file` would drop and keep (for the question before it), after the checks
    that refuse a damaged or foreign backup."""
    from prakerja_cli.store.backup import check_backup, compare_stores

    check_backup(file, load_config().office_code, key)
    return compare_stores(db_path(), file, key)


def _secrets_of_current_store() -> bool:
    """Whether this office's store is encrypted; if so its secrets (the API token kept over the
    restore) are read now, when the store still opens: a damaged one is what a restore is for."""
    from prakerja_cli.store.engine import is_encrypted

    if not is_encrypted(db_path()):
        return False
    with contextlib.suppress(ConfigError, StoreError):
        open_db(db_path()).close()
    return True


def restore_office(
    file: Path, last_number: str | None = None, backup_key: bytes | None = None
) -> RestoreResult:
    """Put a backup of this office in place of the store and its key in place of office.key, then
    audit it. For a backup without the key, entries this key cannot verify are marked as such.

    Records of the store replaced that have left the desk are carried over (the central system
    holds them, the applicants hold receipts), and the numbering continues after the highest number
    anything here knows was given; `last_number` (the last receipt's) vouches for the desk's own
    numbering where this PC cannot (a restore onto a new PC).
    """
    from prakerja_cli.store import audit
    from prakerja_cli.store import numbering as nb
    from prakerja_cli.store.backup import carry_over, compare_stores, restore
    from prakerja_cli.store.db import write

    config = load_config()
    last = None
    if last_number is not None:
        last = nb.parse_serial(last_number, config.office_code, config.desk)
        if last is None:
            raise UsageError("error.last_number", hint="hint.last_number", value=last_number,
                             example=nb.format_number(config.office_code, config.desk, 57))  # fmt: skip
    marks = nb.read_marks()  # a damaged file stops the restore before anything is replaced
    encrypted = _secrets_of_current_store()
    done = restore(file, db_path(), config.office_code, backup_key)
    compared = compare_stores(done.set_aside, file, backup_key)
    own = nb.counter_name(config.office_code, config.desk)
    floors = nb.restore_floors(compared.backup_numbers, compared.current_numbers, marks, own, last)
    if not encrypted:  # an encrypted store keeps its key inside (the backup's, or this office's)
        office_key(create=True)  # a key-less backup on a PC whose key was lost: marked below
    ws = open_workspace()  # applies any newer migrations to the restored copy
    key = "missing" if done.key is None else "restored" if done.key_changed else "same"
    with write(ws.db):
        mismatch = done.key is None and audit.verify(ws.db).problem == "edited"
        if mismatch:
            audit.mark_key_change(ws.db)
        carried = []
        if compared.current is not None:
            carried = carry_over(ws.db.conn, done.set_aside, compared.carried)
        nb.settle(ws.db, floors, marks, compared.backup_numbers.store)
        audit.record(ws.db, ws.office, "restore", None, {
            "file": file.name, "set_aside": done.set_aside.name, "key": key,
            "carried": carried, "removed": compared.removed,
            "numbering": {"issued": floors.issued[own], "locked": own in floors.unknown},
        }, touched=audit.ids_of(ws.db, carried))  # fmt: skip
    return RestoreResult(
        done.set_aside, done.counts, key, done.key_set_aside, mismatch, compared, carried,
        nb.format_number(config.office_code, config.desk, floors.issued[own] + 1),
        own in floors.unknown,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class EncryptResult:
    counts: dict[str, int]
    recovery_key: str  # shown once, for the supervisor's safe
    key_source: str  # "keyring", or the key file's path
    backups: list[Path]  # plain backups in the app folder's backups/, now encrypted too


def _key_place(key_file: Path | None) -> str:
    """Where a new key goes: the key file asked for (never inside the app folder, which a thief
    takes with the store), else the OS keyring, which must then exist."""
    from prakerja_cli import vault

    if key_file is not None:
        resolved = key_file.expanduser().resolve()
        if resolved.is_relative_to(app_dir().resolve()):
            raise UsageError("error.key_file_in_app_dir", hint="hint.key_file_place",
                             path=str(resolved))  # fmt: skip
        return str(resolved)
    if not vault.keyring_usable():
        raise ConfigError("error.no_keyring", hint="hint.key_file_place")
    return "keyring"


def _keep_key(place: str, key: bytes, config: Config) -> None:
    """Put the key where it lives and say so in config.toml (before the store is encrypted, so a
    crash after the rename leaves a store whose key is found)."""
    import uuid

    from prakerja_cli import vault

    if place == "keyring":
        key_id = f"{config.office_code}-{config.desk}-{uuid.uuid4().hex[:12]}"
        vault.keyring_store(key_id, key)
        config.key_id, config.key_file = key_id, ""
    else:
        vault.write_key_file(Path(place), key)
        config.key_id, config.key_file = "", place
    save_config(config)


def encrypt_office(key_file: Path | None = None) -> EncryptResult:
    """Encrypt this desk's store in place (store/crypt.py), move the office key and the API token
    inside it, and encrypt the plain backups in the app folder. Run again after a crash, it
    finishes what was left (the key is kept first, the clean-up comes last)."""
    from prakerja_cli import vault
    from prakerja_cli.store.backup import ROTATED
    from prakerja_cli.store.crypt import encrypt_copy, encrypt_store
    from prakerja_cli.store.engine import is_encrypted

    config = load_config()
    store = db_path()
    if is_encrypted(store):
        if not (config.api_token or key_path().exists()):
            raise UsageError("error.already_encrypted", hint="hint.already_encrypted",
                             path=str(store))  # fmt: skip
        # Stopped after the rename: the secrets are inside; only the clean-up is left.
        place = config.key_file or "keyring"
        return EncryptResult(_clean_up(config), vault.key_text(vault.store_key(store)), place, [])
    place = _key_place(key_file)
    ws = open_workspace()  # migrated, and the office key made if it was missing
    ws.db.close()
    secrets = {"office_key": office_key().hex()}
    if config.api_token:
        secrets["api_token"] = config.api_token
    from prakerja_cli.bundle.keys import key_path as bundle_key_path

    if bundle_key_path().exists():  # the USB bundle keys go inside too
        secrets["bundle_key"] = bundle_key_path().read_text(encoding="ascii")
    key = vault.new_key()
    before = (config.key_id, config.key_file)
    _keep_key(place, key, config)
    try:
        encrypt_store(store, key, secrets)
    except BaseException:  # the store is as it was: so is where its key would have gone
        if place == "keyring":
            vault.keyring_forget(config.key_id)
        else:
            Path(place).unlink(missing_ok=True)
        config.key_id, config.key_file = before
        save_config(config)
        raise
    counts = _clean_up(config)
    encrypted: list[Path] = []
    folder = app_dir() / "backups"
    if folder.is_dir():
        for old in sorted(folder.iterdir()):
            if ROTATED.fullmatch(old.name) and not is_encrypted(old):
                encrypt_copy(old, key)
                encrypted.append(old)
    return EncryptResult(counts, vault.key_text(key), place, encrypted)


def _clean_up(config: Config) -> dict[str, int]:
    """After the rename: the store holds the office key and the token, so no copy stays in the
    clear beside it. Returns the store's registrations (opening it checks the key is found)."""
    from prakerja_cli import vault

    ws = open_workspace()
    try:
        if config.api_token and vault.secret("api_token") != config.api_token:
            keep_secret("api_token", config.api_token)
        count = int(ws.db.execute("SELECT count(*) FROM applicants").fetchone()[0])
    finally:
        ws.db.close()
    config.api_token = ""
    save_config(config)
    key_path().unlink(missing_ok=True)
    from prakerja_cli.bundle.keys import key_path as bundle_key_path

    if vault.secret("bundle_key") is not None:
        bundle_key_path().unlink(missing_ok=True)
    return {"applicants": count}


def unlock_office(recovery_key: str, key_file: Path | None = None) -> str:
    """Keep the store's key again, from the recovery key (a new PC, a lost key file, a keyring
    wiped with the Windows profile): checked against the store, then put in the OS keyring or
    `key_file`. Returns where it was put."""
    from prakerja_cli import vault
    from prakerja_cli.store.engine import connect, dbapi, is_encrypted

    config = load_config()
    store = db_path()
    if not is_encrypted(store):
        raise UsageError("error.not_encrypted", hint="hint.not_encrypted", path=str(store))
    key = vault.parse_key(recovery_key)
    if key is None:
        raise UsageError("error.recovery_key_format", hint="hint.recovery_key")
    conn = connect(store, key=key)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except dbapi.DatabaseError:
        raise UsageError("error.recovery_key_wrong", hint="hint.recovery_key") from None
    finally:
        conn.close()
    place = _key_place(key_file)
    _keep_key(place, key, config)
    return place


def keep_secret(name: str, value: str) -> None:
    """Keep a secret (the API token) inside this desk's encrypted store."""
    from prakerja_cli import vault
    from prakerja_cli.store.db import write

    ws = open_workspace()
    try:
        with write(ws.db):
            ws.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [name, value])
        vault.keep(name, value)
    finally:
        ws.db.close()
