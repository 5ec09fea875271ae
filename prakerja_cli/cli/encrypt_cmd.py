"""`prakerja encrypt` and `prakerja unlock`: encryption at rest of this desk's store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, err, out

if TYPE_CHECKING:
    from prakerja_cli.office import EncryptResult

KeyFileOpt = Annotated[Path | None, typer.Option("--key-file")]


def encrypt(key_file: KeyFileOpt = None, json_output: JsonOpt = False) -> None:
    """Encrypt this desk's database, its backups in the app folder, the office key and the API
    token (SQLCipher, AES-256). The key is kept by the OS keyring (Windows Credential Manager), or
    in --key-file on separate media; the recovery key is shown once, for the supervisor's safe."""
    from prakerja_cli.i18n import t
    from prakerja_cli.office import encrypt_office

    err.print(t("msg.encrypt_working"), markup=False)
    result = encrypt_office(key_file)
    source = t("msg.key_in_keyring") if result.key_source == "keyring" else result.key_source
    if json_output:
        emit_json({"encrypted": True, "key": result.key_source,
                   "recovery_key": result.recovery_key,
                   "applicants": result.counts.get("applicants", 0),
                   "backups": [str(p) for p in result.backups]})  # fmt: skip
        return
    out.print(t("msg.encrypt_done", applicants=result.counts.get("applicants", 0),
                key=source, backups=len(result.backups)), markup=False)  # fmt: skip
    show_recovery_key(result)


def show_recovery_key(result: EncryptResult) -> None:
    """The recovery key, once, with what to do with it."""
    from prakerja_cli.i18n import t

    out.print(t("msg.recovery_key_once"), markup=False)
    out.print(f"\n    {result.recovery_key}\n", markup=False)
    out.print(t("msg.recovery_key_safe"), markup=False)


def unlock(
    recovery_key: Annotated[str | None, typer.Argument()] = None,
    key_file: KeyFileOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Keep the store's key again from the recovery key (a new PC, a lost key file, a wiped
    keyring): typed at the prompt, or one line of stdin with `-`."""
    import sys

    from prakerja_cli.cli.common import ask, stdin_is_terminal
    from prakerja_cli.i18n import t
    from prakerja_cli.office import unlock_office

    if recovery_key in (None, "-"):
        if recovery_key == "-" or not stdin_is_terminal():
            recovery_key = sys.stdin.readline().strip()
        else:
            recovery_key = ask(t("prompt.recovery_key"), option="RECOVERY_KEY")
    place = unlock_office(recovery_key, key_file)
    source = t("msg.key_in_keyring") if place == "keyring" else place
    if json_output:
        emit_json({"unlocked": True, "key": place})
        return
    out.print(t("msg.unlocked", key=source), markup=False)
