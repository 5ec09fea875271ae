"""`prakerja init`: set up this desk's office, configuration and store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, err, out

if TYPE_CHECKING:
    from prakerja_cli.office import EncryptResult

DEFAULT_RULES = "normal-2023"


def _already_encrypted() -> bool:
    from prakerja_cli.config import db_path
    from prakerja_cli.store.engine import is_encrypted

    return is_encrypted(db_path())


def _encrypt_new_office(key_file: Path | None, no_encrypt: bool) -> EncryptResult | None:
    """A new desk is encrypted at once where its key can be kept: the OS keyring (Windows,
    macOS, a Linux desktop) or the --key-file asked for. Elsewhere (a Linux server, CI) it stays
    plain, and init says so."""
    from prakerja_cli import vault
    from prakerja_cli.config import db_path
    from prakerja_cli.office import encrypt_office
    from prakerja_cli.store.engine import is_encrypted

    if is_encrypted(db_path()):  # `init --force` on an encrypted desk: it stays as it is
        return None
    if no_encrypt or (key_file is None and not vault.keyring_usable()):
        return None
    return encrypt_office(key_file)


def _ask(
    label_key: str,
    value: str | None,
    no_input: bool,
    option: str,
    check: Callable[[str], str],
    default: str | None = None,
) -> str:
    """The option's value, or the answer to a prompt; checked at once, re-asked while refused.
    Without a terminal a missing option fails naming it (common.ask)."""
    from prakerja_cli.cli.common import ask, escape, report
    from prakerja_cli.errors import UsageError
    from prakerja_cli.i18n import t

    if value is not None:
        return check(value)
    if no_input:
        if default is not None:
            return check(default)
        raise UsageError("error.required_option", hint="hint.init_options", option=option)
    while True:
        answer = ask(escape(t(label_key)), default=default, option=option)
        try:
            return check(answer)
        except UsageError as exc:
            report(exc)


def init(
    office_code: Annotated[str | None, typer.Option()] = None,
    office_name: Annotated[str | None, typer.Option()] = None,
    desk: Annotated[str | None, typer.Option()] = None,
    operator: Annotated[str | None, typer.Option()] = None,
    rules: Annotated[str | None, typer.Option()] = None,
    no_input: Annotated[bool, typer.Option("--no-input")] = False,
    force: Annotated[bool, typer.Option("--force")] = False,
    key_file: Annotated[Path | None, typer.Option("--key-file")] = None,
    no_encrypt: Annotated[bool, typer.Option("--no-encrypt")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Set up this desk: office, desk id, operator, rule set; create config and database."""
    from prakerja_cli.i18n import t
    from prakerja_cli.office import (
        check_can_init,
        check_desk,
        check_office_code,
        check_required,
        check_rules,
        init_office,
    )

    check_can_init(force)  # before asking anything

    def required(label_key: str) -> Callable[[str], str]:
        return lambda text: check_required(text, t(label_key), hint=None)

    code = _ask("prompt.office_code", office_code, no_input, "--office-code", check_office_code)
    name = _ask("prompt.office_name", office_name, no_input, "--office-name",
                required("prompt.office_name"))  # fmt: skip
    desk_id = _ask("prompt.desk", desk, no_input, "--desk", check_desk, default="D01")
    who = _ask("prompt.operator", operator, no_input, "--operator", required("prompt.operator"))
    rule_set = _ask("prompt.rules", rules, no_input, "--rules", check_rules, default=DEFAULT_RULES)
    err.print(t("msg.init_working"), markup=False)
    result = init_office(
        office_code=code, office_name=name, desk=desk_id, operator=who, rules=rule_set, force=force
    )
    encrypted = _encrypt_new_office(key_file, no_encrypt)
    if encrypted is None and not _already_encrypted():
        err.print(t("msg.init_plain_chosen" if no_encrypt else "msg.init_not_encrypted"),
                  markup=False)  # fmt: skip
    if json_output:
        emit_json(
            {
                "office_code": result.config.office_code,
                "office_name": result.config.office_name,
                "regency": result.regency,
                "desk": result.config.desk,
                "operator": result.config.operator,
                "rules": result.config.rules,
                "config_path": result.config_path,
                "database_path": result.db_path,
                "regions_loaded": result.regions_loaded,
                "encrypted": encrypted is not None,
                "recovery_key": encrypted.recovery_key if encrypted else None,
            }
        )
        return
    out.print(
        t(
            "msg.init_done",
            office=result.config.office_name,
            regency=result.regency,
            desk=result.config.desk,
            rules=result.config.rules,
        ),
        markup=False,
    )
    out.print(t("msg.init_paths", config=result.config_path, db=result.db_path), markup=False)
    if encrypted is None:
        return
    from prakerja_cli.cli.encrypt_cmd import show_recovery_key

    show_recovery_key(encrypted)
