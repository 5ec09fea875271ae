"""The recap of a period: counts by status, central state, desk, operator, kecamatan/desa,
finding code and the applicants' profile, each an SQL aggregate over the store.

The period is selected with the same WHERE clause `applicants list --since --until` uses
(store.applicants.where_clause), so a count here is the count that listing gives. Breakdowns
other than `status` cover the registered (live) records: a withdrawn one is counted only as
withdrawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prakerja_cli.paper.period import Period
from prakerja_cli.store.applicants import (
    AGE_BAND,
    AGE_BANDS,
    CENTRAL_STATES,
    PRIORITIES,
    REGISTERED,
    STATUSES,
)

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database

#: The breakdowns in the order they are shown; each is (code, count) rows.
BREAKDOWNS = ("status", "central", "desk", "operator", "district", "village", "finding",
              "gender", "age", "education", "employment", "priority", "social_assistance")  # fmt: skip
#: How many kecamatan/desa and finding codes are listed (the rest are summed under "other").
TOP = 10
_EXPRESSIONS = {
    "central": "coalesce(central_status, 'pending')",
    "desk": "desk",
    # One row per operator whatever the case typed at each desk (`Rina`, `RINA`), as
    # `applicants list --operator rina` lists them.
    "operator": "operator COLLATE NOCASE",
    "district": "district",
    "village": "district || ' / ' || village",
    "gender": "gender",
    "age": AGE_BAND,
    "education": "education",
    "employment": "employment",
    "priority": "priority",
    "social_assistance": "social_assistance",
}
#: Breakdowns with a few known codes: all shown, never cut to the TOP; those with an order of
#: their own (_ordered) in it, the others by code. The rest by count, the largest TOP.
_ORDER_BY_CODE = {"age", "status", "central", "desk", "gender", "education", "employment",
                  "priority", "social_assistance"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Recap:
    office_code: str
    office_name: str
    period: Period
    generated_at: str
    total: int  # every record of the period, withdrawn ones included
    registered: int  # live records: valid and flagged
    withdrawn: int
    unsent: int  # registered, not yet delivered centrally
    breakdowns: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: The field each finding code of the period concerns (most of its findings'): its
    #: explanation reads as the clerk saw it ("Penerima bansos lain: ya: ...", not "ya: ...").
    finding_fields: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "office_code": self.office_code,
            "office_name": self.office_name,
            "period": {"from": self.period.first.isoformat(), "to": self.period.last.isoformat()},
            "generated_at": self.generated_at,
            "total": self.total,
            "registered": self.registered,
            "withdrawn": self.withdrawn,
            "unsent": self.unsent,
            "breakdowns": {
                name: [{"code": code, "count": count} for code, count in rows]
                for name, rows in self.breakdowns.items()
            },
        }


def _grouped(db: Database, expression: str, where: str, params: list[Any]) -> list[tuple[str, int]]:
    sql = f"SELECT {expression} AS k, count(*) FROM applicants{where} GROUP BY k"
    return [(str(k), int(n)) for k, n in db.execute(sql, params).fetchall()]


def rank(order: tuple[str, ...], code: str) -> int:
    return order.index(code) if code in order else len(order)


def _ordered(name: str, rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    from prakerja_cli.core import fields

    # Codes with an order of their own: the form's (SD before SMA before S1), young to old.
    known = {"age": AGE_BANDS, "central": CENTRAL_STATES, "priority": PRIORITIES,
             "education": tuple(fields.EDUCATION), "employment": tuple(fields.EMPLOYMENT)}  # fmt: skip
    if name in known:
        return sorted(rows, key=lambda r: (rank(known[name], r[0]), r[0]))
    if name in _ORDER_BY_CODE:
        return sorted(rows)
    ranked = sorted(rows, key=lambda r: (-r[1], r[0]))
    if len(ranked) > TOP:
        rest = sum(n for _, n in ranked[TOP:])
        ranked = [*ranked[:TOP], ("*", rest)]
    return ranked


def compute_recap(
    db: Database, period: Period, *, office_code: str, office_name: str,
    now: datetime | None = None,
) -> Recap:  # fmt: skip
    """The recap of `period` from the store."""
    from prakerja_cli.store.applicants import where_clause

    where, params = where_clause(db, since=period.first, until=period.last)
    live_where, live_params = where_clause(
        db, statuses=REGISTERED, since=period.first, until=period.last
    )
    finding_fields: dict[str, str] = {}
    breakdowns: dict[str, list[tuple[str, int]]] = {
        "status": sorted(_grouped(db, "status", where, params), key=lambda r: rank(STATUSES, r[0]))
    }
    for name in BREAKDOWNS:
        if name == "status":
            continue
        if name == "finding":
            # Records, not findings: one holding a code twice is one record to look at, as
            # `applicants list --finding CODE` lists it once.
            sql = (
                "SELECT json_extract(f.value, '$.code') AS k, count(DISTINCT applicants.rowid) "
                f"FROM applicants, json_each(applicants.findings) AS f{live_where} GROUP BY k"
            )
            rows = [(str(k), int(n)) for k, n in db.execute(sql, live_params).fetchall()]
            fields_sql = (
                "SELECT json_extract(f.value, '$.code'), json_extract(f.value, '$.field'), "
                f"count(*) AS n FROM applicants, json_each(applicants.findings) AS f{live_where} "
                "GROUP BY 1, 2 ORDER BY n, 2 DESC"
            )
            # Ascending by count: the most common field of a code is written last and stays.
            finding_fields = {
                str(code): str(name)
                for code, name, _ in db.execute(fields_sql, live_params).fetchall()
                if name
            }
        else:
            rows = _grouped(db, _EXPRESSIONS[name], live_where, live_params)
        breakdowns[name] = _ordered(name, rows)
    status = dict(breakdowns["status"])
    registered = status.get("valid", 0) + status.get("flagged", 0)
    unsent = dict(breakdowns["central"]).get("pending", 0)
    stamp = (now or datetime.now().astimezone()).isoformat(timespec="seconds")
    return Recap(office_code, office_name, period, stamp, sum(status.values()), registered,
                 status.get("withdrawn", 0), unsent, breakdowns, finding_fields)  # fmt: skip


_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def label(breakdown: str, code: str, lang: str | None = None) -> str:
    """A breakdown's code as people read it (Sah, Belum terkirim, Laki-laki, SMA/SMK/sederajat)."""
    from prakerja_cli.core import fields
    from prakerja_cli.i18n import maybe, t

    if code == "*":
        return t("report.other", lang)
    if breakdown in ("status", "central", "gender"):
        return maybe(f"{breakdown}.{code}", lang) or code
    if breakdown in ("education", "employment"):  # the form's own words, in either language
        choices = fields.EDUCATION if breakdown == "education" else fields.EMPLOYMENT
        return maybe(f"choice.{breakdown}.{code}", lang) or choices.get(code, (code,))[0]
    if breakdown == "priority":
        return maybe(f"report.priority.{code}", lang) or code
    if breakdown == "social_assistance":
        return t("report.bansos_yes" if code == "1" else "report.bansos_no", lang)
    if breakdown == "age":
        if code == "unknown":
            return t("report.age_unknown", lang)
        return t("report.age_band", lang, band=code)
    return code


def finding_explanation(code: str, field_name: str | None = None, lang: str | None = None) -> str:
    """What a finding code means, without the values of any one record (its text with each
    value left out as `…`): no NIK digit or date of one applicant reaches a recap. After the
    label of the field it concerns, as the clerk saw it, when `field_name` is given."""
    from prakerja_cli.i18n import field_label, maybe

    text = maybe(f"finding.{code}", lang) or ""
    text = _PLACEHOLDER.sub("…", text)
    if text and field_name:
        return f"{field_label(field_name, lang)}: {text}"
    return text
