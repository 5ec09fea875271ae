"""Numbers, durations, days and moments as people read them, in the office's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from prakerja_cli.i18n import format as fmt
from prakerja_cli.i18n import set_language

WIB = timezone(timedelta(hours=7))
WITA = timezone(timedelta(hours=8))
WIT = timezone(timedelta(hours=9))


def test_decimal_comma_and_units_in_indonesian() -> None:
    assert fmt.number(1234.56, 1) == "1.234,6"
    assert fmt.hours(0.2) == "0,2 jam"
    assert fmt.days(1.46) == "1,5 hari"


def test_decimal_point_and_units_in_english() -> None:
    set_language("en")
    assert fmt.number(1234.56, 1) == "1,234.6"
    assert fmt.hours(0.2) == "0.2 hours"
    assert fmt.days(1.46) == "1.5 days"


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        (WIB, "05-12-2026 00.27 WIB"),
        (WITA, "05-12-2026 01.27 WITA"),
        (WIT, "05-12-2026 02.27 WIT"),
        (UTC, "04-12-2026 17.27 UTC"),
        (timezone(timedelta(hours=5, minutes=30)), "04-12-2026 22.57 UTC+05:30"),
    ],
)
def test_a_stored_moment_is_shown_in_the_office_zone(zone: timezone, shown: str) -> None:
    assert fmt.moment("2026-12-04T17:27:57+00:00", zone) == shown


def test_without_a_zone_the_machines_own_is_used() -> None:
    stored = "2026-12-04T17:27:57+00:00"
    local = datetime.fromisoformat(stored).astimezone()
    assert fmt.moment(stored).startswith(local.strftime("%d-%m-%Y %H.%M "))
    assert "+00:00" not in fmt.moment(stored) and "T17" not in fmt.moment(stored)


def test_english_writes_the_time_with_a_colon() -> None:
    set_language("en")
    assert fmt.moment("2026-12-04T17:05:00+07:00", WIB) == "04-12-2026 17:05 WIB"


def test_days_as_the_form_takes_them() -> None:
    assert fmt.day(date(2026, 1, 5)) == "05-01-2026"
    assert fmt.day("2026-01-05") == "05-01-2026"
    # A moment late in the evening UTC is already the next day in WIB.
    assert fmt.day("2026-01-05T20:00:00+00:00", WIB) == "06-01-2026"


def test_unknown_values_are_named_not_dashed() -> None:
    assert fmt.day(None) == "tidak diketahui" and fmt.moment("") == "tidak diketahui"
    set_language("en")
    assert fmt.day(None) == "unknown"


def test_months_by_name() -> None:
    assert fmt.month("2026-01") == "Januari 2026"
    assert (
        fmt.month(
            "2026-08",
        )
        == "Agustus 2026"
    )
    set_language("en")
    assert fmt.month("2026-08") == "August 2026"


def test_papers_write_a_day_as_a_letter_does() -> None:
    """A recap, receipt or BAST: `5 Desember 2026`, not 05-12-2026; the time with its zone."""
    assert fmt.long_day(date(2026, 12, 5)) == "5 Desember 2026"
    assert fmt.long_day("2026-01-05T20:00:00+00:00", WIB) == "6 Januari 2026"
    assert fmt.long_day(date(2026, 8, 17), year=False) == "17 Agustus"
    assert fmt.long_moment("2026-12-04T17:05:00+00:00", WIB) == "5 Desember 2026 00.05 WIB"
    set_language("en")
    assert fmt.long_day(date(2026, 12, 5)) == "5 December 2026"
    assert fmt.long_moment("2026-12-04T17:05:00+07:00", WIB) == "4 December 2026 17:05 WIB"
