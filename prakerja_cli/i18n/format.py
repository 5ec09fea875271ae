"""Numbers, durations, days and moments as the clerk's language writes them (`0,2 jam`,
`04-12-2026 17.05 WIB`), in the office's own time zone. Everything shown to people goes through
here; `--json` keeps ISO 8601 and plain numbers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from prakerja_cli.i18n import current_language, t

#: Indonesia's three zones by their offset from UTC (hours).
_ZONES = {7: "WIB", 8: "WITA", 9: "WIT"}


def number(value: float, digits: int = 0, lang: str | None = None) -> str:
    """`1.234,5` in Indonesian, `1,234.5` in English."""
    text = f"{value:,.{digits}f}"
    if (lang or current_language()) == "id":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def hours(value: float, lang: str | None = None) -> str:
    """A duration in hours: `0,2 jam`, `0.2 hours`."""
    return t("unit.hours", lang, value=number(value, 1, lang))


def days(value: float, lang: str | None = None) -> str:
    """A duration in days: `1,5 hari`, `1.5 days`."""
    return t("unit.days", lang, value=number(value, 1, lang))


def _as_datetime(value: datetime | str, zone: tzinfo | None) -> datetime:
    """A stored moment (ISO 8601, with or without an offset) in the office's time zone: this
    machine's local one unless `zone` says otherwise."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(zone)


def day(value: date | datetime | str | None, zone: tzinfo | None = None) -> str:
    """A day as the form takes it, DD-MM-YYYY; a moment gives its day in the office's time zone.
    Unknown: the catalogue's word for it."""
    if value is None or value == "":
        return t("value.unknown")
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else _as_datetime(value, zone)
    if isinstance(value, datetime):
        value = _as_datetime(value, zone).date()
    return value.strftime("%d-%m-%Y")


def long_day(value: date | datetime | str, zone: tzinfo | None = None, *, year: bool = True,
             month: bool = True) -> str:  # fmt: skip
    """A day as a letter writes it: `5 Desember 2026` (`5 December 2026`); a moment gives its
    day in the office's time zone. Without the year (`5 Desember`), or the month as well (`5`),
    for the first day of a range that shares them with the last."""
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else _as_datetime(value, zone)
    if isinstance(value, datetime):
        value = _as_datetime(value, zone).date()
    parts = [str(value.day)]
    if month:
        parts.append(t(f"month.{value.month}"))
        if year:
            parts.append(str(value.year))
    return " ".join(parts)


def long_moment(value: datetime | str, zone: tzinfo | None = None) -> str:
    """A moment as a letter writes it, in the office's time zone: `5 Desember 2026 17.05 WIB`."""
    local = _as_datetime(value, zone)
    return t("format.moment", day=long_day(local.date()), hour=f"{local.hour:02d}",
             minute=f"{local.minute:02d}", zone=zone_name(local))  # fmt: skip


def zone_name(moment: datetime) -> str:
    """WIB, WITA or WIT for Indonesia's offsets; otherwise UTC with its offset."""
    offset = moment.utcoffset() or timedelta(0)
    whole_hours, rest = divmod(int(offset.total_seconds()), 3600)
    if not rest and whole_hours in _ZONES:
        return _ZONES[whole_hours]
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def moment(value: datetime | str | None, zone: tzinfo | None = None) -> str:
    """A moment in the office's time zone: `04-12-2026 17.05 WIB` (Indonesian writes the time
    with a full stop), `04-12-2026 17:05 WIB` in English."""
    if value is None or value == "":
        return t("value.unknown")
    local = _as_datetime(value, zone)
    return t(
        "format.moment",
        day=local.strftime("%d-%m-%Y"),
        hour=f"{local.hour:02d}",
        minute=f"{local.minute:02d}",
        zone=zone_name(local),
    )


def place(district: str | None, regency: str | None, province: str | None = None) -> str:
    """Where a NIK was issued: `Kec. Sukasari, Kota Bandung, Jawa Barat`; a part the region
    list does not know is left out (its finding says so), never shown as `?`."""
    parts = [t("place.district", name=district) if district else None, regency, province]
    return ", ".join(part for part in parts if part) or t("value.unknown")


def month(value: str) -> str:
    """A month as stored (`2026-01`) as people name it: `Januari 2026`."""
    year, _, number_ = value.partition("-")
    return f"{t(f'month.{int(number_)}')} {year}"
