"""Where an encrypted store's key lives, and the secrets that live inside the store.

An encrypted store (store/engine.py) is opened with a random 256-bit key. The key is never on the
desk's disk in the clear:

- by default it is kept by the OS (`keyring`: Windows Credential Manager, protected by DPAPI under
  the Windows account; the macOS keychain; Secret Service on a Linux desktop), so the nightly sync
  from Task Scheduler or cron opens the store with no one at the desk;
- where no keyring exists, in a key file at a path the office chooses (`key_file` in config.toml
  or PRAKERJA_KEY_FILE): on removable media or a folder the thief does not take with the disk;
- and once, on paper: the recovery key printed at `prakerja encrypt` (or `init`), for the
  supervisor's safe. It is the key itself, in eight groups of eight hex digits.

With the store encrypted, the office key (audit chain, purged-NIK hashes) and the API token move
inside it (meta rows), so config.toml and the app folder hold nothing a thief can use. They are
read once when the store is opened (`remember`) and served from here.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from pathlib import Path

from prakerja_cli.errors import ConfigError, StoreError

KEYRING_SERVICE = "prakerja-cli"
KEY_SIZE = 32
#: meta rows of an encrypted store that hold secrets (never in a plain store).
SECRET_ROWS = ("office_key", "api_token", "bundle_key")

#: The secrets of the store opened in this process (office_key as hex, api_token).
_secrets: dict[str, str] = {}


def new_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def key_text(key: bytes) -> str:
    """The key as a person copies it: eight groups of eight hex digits."""
    digits = key.hex().upper()
    return "-".join(digits[i : i + 8] for i in range(0, len(digits), 8))


_NOT_HEX = re.compile(r"[\s\-]")


def parse_key(text: str) -> bytes | None:
    """A key typed or read back from paper or a key file (spaces and dashes ignored, any case);
    None when it is not 64 hex digits."""
    digits = _NOT_HEX.sub("", text)
    if len(digits) != 2 * KEY_SIZE:
        return None
    try:
        return bytes.fromhex(digits)
    except ValueError:
        return None


# --- the keyring -------------------------------------------------------------------------------


def keyring_usable() -> bool:
    """Whether an OS keyring that keeps secrets is there (not keyring's "fail" backend, which is
    what a Linux server without Secret Service, or CI, gets)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:  # pragma: no cover - a dependency
        return False
    try:
        backend = keyring.get_keyring()
    except Exception:
        return False
    if isinstance(backend, fail.Keyring):
        return False
    backends = getattr(backend, "backends", None)  # the chainer: usable when it chains any
    return backends is None or bool(backends)


def keyring_store(key_id: str, key: bytes) -> None:
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, key_id, key_text(key))
    except Exception as exc:
        raise ConfigError(
            "error.keyring_failed", hint="hint.keyring_failed", reason=str(exc)
        ) from None


def keyring_fetch(key_id: str) -> bytes | None:
    try:
        import keyring

        text = keyring.get_password(KEYRING_SERVICE, key_id)
    except Exception:
        return None
    return parse_key(text) if text else None


def keyring_forget(key_id: str) -> None:
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, key_id)
    except Exception:
        return


# --- key files ---------------------------------------------------------------------------------


def write_key_file(path: Path, key: bytes) -> None:
    from prakerja_cli.config import write_private

    if not write_private(path, (key_text(key) + "\n").encode("ascii"), overwrite=False):
        raise ConfigError("error.key_file_exists", hint="hint.key_file_exists", path=str(path))


def read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        raise StoreError(
            "error.key_file_unreadable", hint="hint.store_key", path=str(path)
        ) from None
    key = parse_key(text)
    if key is None:
        raise StoreError("error.key_file_broken", hint="hint.store_key", path=str(path))
    return key


# --- finding the key of a store ----------------------------------------------------------------


def settings_beside(store: Path) -> tuple[str, str]:
    """(key_id, key_file) from the config.toml beside the store: the store is opened before the
    rest of the configuration is read, and only these two are needed for it."""
    from prakerja_cli.config import CONFIG_NAME

    try:
        data = tomllib.loads((store.parent / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "", ""
    return str(data.get("key_id", "")), str(data.get("key_file", ""))


def store_key(store: Path) -> bytes:
    """The key of the encrypted store at `store`: PRAKERJA_KEY_FILE, else the configured key file,
    else the OS keyring. A StoreError naming the way back when none has it."""
    key_id, key_file = settings_beside(store)
    chosen = os.environ.get("PRAKERJA_KEY_FILE", "").strip().strip('"') or key_file
    if chosen:
        return read_key_file(Path(chosen).expanduser())
    key = keyring_fetch(key_id) if key_id else None
    if key is None:
        raise StoreError("error.store_key_missing", hint="hint.store_key", path=str(store))
    return key


def configured_key(store: Path) -> bytes | None:
    """The key this office's store is (or is to be) encrypted with; None for a plain office."""
    key_id, key_file = settings_beside(store)
    if not (key_id or key_file or os.environ.get("PRAKERJA_KEY_FILE", "").strip()):
        return None
    return store_key(store)


# --- secrets inside an encrypted store ---------------------------------------------------------


def remember(rows: dict[str, str]) -> None:
    """The secret meta rows of the store just opened."""
    _secrets.clear()
    _secrets.update({k: v for k, v in rows.items() if k in SECRET_ROWS})


def keep(name: str, value: str) -> None:
    """A secret just written into the open store."""
    if name in SECRET_ROWS:
        _secrets[name] = value


def forget() -> None:
    _secrets.clear()


def secret(name: str) -> str | None:
    """A secret of the encrypted store opened in this process; None for a plain store (whose
    secrets are office.key and config.toml, as before)."""
    return _secrets.get(name)


def encrypted_open() -> bool:
    """Whether the store opened in this process is encrypted (its secrets were read from it)."""
    return "office_key" in _secrets
