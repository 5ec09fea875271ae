"""The period a recap or handover covers: a day, a range, an ISO week or a month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from prakerja_cli.errors import UsageError


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date

    def label(self) -> str:
        """As an Indonesian reads it: `5 Desember 2026`, `1 s.d. 30 November 2026`,
        `30 November s.d. 6 Desember 2026`, `29 Desember 2025 s.d. 4 Januari 2026` (the first
        day leaves out what it shares with the last)."""
        from prakerja_cli.i18n import t
        from prakerja_cli.i18n.format import long_day

        if self.first == self.last:
            return long_day(self.first)
        same_year = self.first.year == self.last.year
        same_month = same_year and self.first.month == self.last.month
        first = long_day(self.first, year=not same_year, month=not same_month)
        return t("report.period_range", first=first, last=long_day(self.last))

    def slug(self) -> str:
        """For file names: `2026-11-01_2026-11-30`."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()}_{self.last.isoformat()}"


_WEEK = re.compile(r"([0-9]{4})-?[Ww]([0-9]{1,2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})|([0-9]{1,2})[-/.]([0-9]{4})")


def _day(value: str, option: str) -> date:
    from prakerja_cli.cli.common import parse_day

    parsed = parse_day(value, option)
    assert parsed is not None
    return parsed


def parse_period(
    *,
    on: str | None = None,
    first: str | None = None,
    last: str | None = None,
    week: str | None = None,
    month: str | None = None,
    today: date | None = None,
) -> Period:
    """One of --date, --from/--to, --week (2026-W49, or a day in the week), --month (2026-11 or
    11-2026); none of them: today. Two kinds at once are refused."""
    today = today or date.today()
    kinds = [k for k, v in (("--date", on), ("--from/--to", first or last), ("--week", week),
                            ("--month", month)) if v]  # fmt: skip
    if len(kinds) > 1:
        raise UsageError("error.period_options", hint="hint.period_options", given=", ".join(kinds))
    if on:
        day = _day(on, "--date")
        return Period(day, day)
    if first or last:
        start = _day(first, "--from") if first else None
        end = _day(last, "--to") if last else today
        start = start or end
        if end < start:
            raise UsageError("error.period_reversed", hint="hint.period_options",
                             first=start.isoformat(), last=end.isoformat())  # fmt: skip
        return Period(start, end)
    if week:
        found = _WEEK.fullmatch(week.strip())
        if found:
            try:
                monday = date.fromisocalendar(int(found[1]), int(found[2]), 1)
            except ValueError:
                raise UsageError("error.period_value", hint="hint.period_options",
                                 option="--week", value=week) from None  # fmt: skip
        else:
            inside = _day(week, "--week")
            monday = inside - timedelta(days=inside.weekday())
        return Period(monday, monday + timedelta(days=6))
    if month:
        found = _MONTH.fullmatch(month.strip())
        year, number = (int(found[1] or found[4]), int(found[2] or found[3])) if found else (0, 0)
        if not 1 <= number <= 12 or not 2000 <= year <= 2100:
            raise UsageError("error.period_value", hint="hint.period_options",
                             option="--month", value=month)  # fmt: skip
        start = date(year, number, 1)
        following = date(year + number // 12, number % 12 + 1, 1)
        return Period(start, following - timedelta(days=1))
    return Period(today, today)
