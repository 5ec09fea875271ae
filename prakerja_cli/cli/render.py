"""Rendering of applicant records for people (rich) and for scripts (JSON-ready dicts)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from prakerja_cli.cli.common import data_row, escape
from prakerja_cli.core import fields as f
from prakerja_cli.core.findings import Code, Finding
from prakerja_cli.core.nik import mask, mask_birth_date
from prakerja_cli.core.validate import FIELDS
from prakerja_cli.i18n import field_label, maybe, t
from prakerja_cli.i18n import format as fmt
from prakerja_cli.sync.outbox import changed_since_sent

_CHOICES = {"gender": f.GENDERS, "education": f.EDUCATION, "employment": f.EMPLOYMENT}
SECRET_FIELDS = ("nik", "kk")


def display_value(name: str, value: Any, *, reveal: bool = False) -> str:
    """A stored or normalised value as a clerk reads it."""
    if value is None or value == "":
        return "-"
    if name in SECRET_FIELDS and not reveal:
        return mask(str(value))
    if name in _CHOICES:
        return choice_label(name, str(value))
    if name in ("in_school", "social_assistance"):
        return t("yes") if value in (True, 1, "1") else t("no")
    if name == "birth_date" and not reveal:  # beside a masked NIK: the year only
        return mask_birth_date(value) or "-"
    if isinstance(value, date) or name == "birth_date":
        return fmt.day(value)
    return str(value)


def choice_label(name: str, code: str) -> str:
    """A stored choice code as the clerk's language names it."""
    if name == "gender" and code in f.GENDERS:
        return t(f"gender.{code}")
    return maybe(f"choice.{name}.{code}") or code


def record_table(
    values: dict[str, Any], *, reveal: bool = False, extra: dict[str, Any] | None = None
) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in (extra or {}).items():
        data_row(table, t(f"label.{name}"), value)
    for name in FIELDS:
        data_row(table, field_label(name), display_value(name, values.get(name), reveal=reveal))
    return table


def receipt(row: dict[str, Any], office_name: str) -> Panel:
    """The slip the clerk reads out or prints for the applicant."""
    lines = [
        t("receipt.number", number=row["registration_number"]),
        t("receipt.name", name=row["name"]),
        t("receipt.nik", nik=mask(row["nik"])),
        t(
            "receipt.when",
            when=fmt.day(row["created_at"]),
            desk=row["desk"],
            operator=row["operator"],
        ),
        t(f"status.{row['status']}"),
    ]
    title = escape(t("receipt.title", office=office_name))
    return Panel(escape("\n".join(lines)), title=title, expand=False)


def applicant_json(row: dict[str, Any], *, reveal: bool = False) -> dict[str, Any]:
    """A stored record for --json: NIK and KK masked unless revealed; findings with messages."""
    data = {k: v for k, v in row.items() if k != "findings"}
    for name in SECRET_FIELDS:
        data[name] = row[name] if reveal or row[name] is None else mask(row[name])
    if not reveal and row.get("birth_date"):  # day and month would give the NIK's digits back
        data["birth_date"] = mask_birth_date(row["birth_date"])
    data["in_school"] = bool(row["in_school"])
    data["social_assistance"] = bool(row["social_assistance"])
    data["findings"] = [
        (finding if reveal else masked_finding(finding)).to_dict()
        for finding in map(Finding.from_stored, json.loads(row["findings"] or "[]"))
    ]
    data["changed_since_sent"] = changed_since_sent(row)
    return data


#: Finding parameters that carry a birth date or the NIK's date digits.
_BIRTH_PARAMS = ("nik_date", "form_date", "born", "digits")


def masked_finding(finding: Finding) -> Finding:
    """A finding as shown beside a masked NIK: its birth dates the year only, date digits starred."""
    params = dict(finding.params)
    for key in _BIRTH_PARAMS:
        if key not in params:
            continue
        value = str(params[key])
        params[key] = "******" if key == "digits" else mask_birth_date(value) or value[-4:]
    if finding.code is Code.NIK_BIRTHDATE_MISMATCH and params.get("nik_date") == params.get(
        "form_date"
    ):  # "(1985) differs from the NIK's (1985)" reads as nonsense: said without the years
        params["variant"] = "masked"
    return Finding(finding.code, finding.severity, finding.field, params)


def print_record(console: Console, row: dict[str, Any], *, reveal: bool) -> None:
    extra = {
        "registration_number": row["registration_number"],
        "status": t(f"status.{row['status']}"),
        "created_at": fmt.moment(row["created_at"]),
        "desk": f"{row['desk']} / {row['operator']}",
        "source": _source(row),
    }
    if row.get("withdrawn_reason"):
        extra["withdrawn_reason"] = row["withdrawn_reason"]
    extra["central"] = central_text(row)
    amendment = row.get("amendment")
    if changed_since_sent(row) and not (amendment and amendment["outcome"] is None):
        extra["central"] += f"; {t('central.changed_since_sent')}"
    if amendment:
        extra["amendment"] = amendment_text(amendment)
    if row.get("purged_at"):
        extra["purged_at"] = fmt.moment(row["purged_at"])
    console.print(record_table(row, reveal=reveal, extra=extra))


def list_name(row: dict[str, Any]) -> str:
    """The name column of a list: a purged record says so, and when."""
    if row.get("purged_at"):
        return t("label.purged_row", date=fmt.day(row["purged_at"]))
    return str(row["name"])


def central_text(row: dict[str, Any]) -> str:
    """Where a record stands centrally, with the reason, in words the clerk can pass on."""
    state = row.get("central_status") or "pending"
    text = t(f"central.{state}")
    if row.get("central_reason"):
        text += f" ({row['central_reason']})"
    if row.get("central_wave"):
        text += f", {t('label.wave')} {row['central_wave']}"
    return text


def amendment_text(amendment: dict[str, Any]) -> str:
    """Where a record's last correction (or withdrawal) after sync stands centrally."""
    kind = "withdraw" if amendment.get("kind") == "withdraw" else "amend"
    outcome = amendment.get("outcome") or "pending"
    return t(f"amendment.{kind}.{outcome}", version=amendment.get("version") or "-",
             reason=amendment.get("reason") or "-")  # fmt: skip


def _source(row: dict[str, Any]) -> str:
    if row.get("source") == "roster":
        return f"{row.get('source_file')} / {row.get('source_sheet')} / {t('label.row')} {row.get('source_row')}"
    return t("label.source_desk")


def audit_action(action: str) -> str:
    """An audit entry's action as the clerk's language names it (dibuat, diubah...)."""
    return maybe(f"audit.action.{action}") or action


def audit_summary(action: str, details: dict[str, Any]) -> str:
    """An audit entry's details as a sentence (`3273-D01-000001: Nomor HP 0812****7890 →
    0813****2222`), not the JSON the chain stores; an action the catalogue does not know is
    listed as its keys and values."""
    params: dict[str, Any] = {
        key: (t("yes") if value else t("no")) if isinstance(value, bool) else value
        for key, value in details.items()
    }
    if "source" in details:
        params["source"] = (
            t("label.source_desk") if details["source"] == "desk" else str(details["source"])
        )
    if "status" in details:
        params["status"] = maybe(f"status.{details['status']}") or details["status"]
    for day in ("verified_before", "changed_before"):
        if day in details:
            params[day] = fmt.day(details[day])
    template = maybe(f"audit.details.{action}")
    try:
        text = template.format(**params) if template else _listed(details)
    except (KeyError, IndexError, ValueError):
        text = _listed(details)
    extras = [_fields(details["fields"])] if details.get("fields") else []
    if details.get("changes"):  # an entry written before entries stopped holding values
        extras.append(_changes(details["changes"]))
    if "row" in details and action == "edit":
        extras.append(t("audit.details.from_row", file=details.get("source"), row=details["row"]))
    if details.get("resend"):
        extras.append(t("msg.edit_resend"))
    if details.get("amendment"):
        extras.append(t("msg.withdraw_amendment" if action == "withdraw" else "msg.edit_amendment"))
    if details.get("central_unchanged"):
        extras.append(t("msg.edit_central_unchanged", central_id=details["central_unchanged"]))
    return " ".join([text, *extras]) if extras else text


def _label(name: str) -> str:
    return field_label(name) if name in FIELDS else maybe(f"label.{name}") or name


def _fields(names: list[str]) -> str:
    """`Nomor HP, Alamat.`: the fields an edit changed (entries hold no values)."""
    return ", ".join(_label(str(name)) for name in names) + "."


def _changes(changes: dict[str, Any]) -> str:
    """`Nomor HP: 0812****7890 → 0813****2222; Email: (kosong) → a@b.id` (values as stored,
    NIK/KK/phone already masked)."""
    shown = []
    for name, (old, new) in changes.items():
        label = _label(name)
        before, after = (
            t("config.empty") if value in (None, "")
            else maybe(f"status.{value}") or str(value) if name == "status"
            else display_value(name, value, reveal=True)
            for value in (old, new)
        )  # fmt: skip
        shown.append(f"{label}: {before} → {after}")
    return "; ".join(shown) + "."


def _listed(details: dict[str, Any]) -> str:
    return "; ".join(f"{key}: {value}" for key, value in details.items())
