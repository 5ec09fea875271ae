"""Synthetic NIKs and hypothesis strategies shared by the core tests. No real person's NIK anywhere."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from prakerja_cli.core.nik import PROVINCE_CODES

#: The fixed "today" of the core tests (the registration date).
REFERENCE = date(2025, 6, 15)

#: Born after this date means at most 99 years old on REFERENCE. At exactly 100 years the NIK's
#: two-digit year also fits an age of 0, and the decoder picks the younger (pinned in test_nik).
OLDEST_UNAMBIGUOUS = date(1925, 6, 16)


def make_nik(region6: str, birth_date: date, gender: str, serial: int | str) -> str:
    """A synthetic NIK: region (6) + DDMMYY with women's day + 40 + serial (4)."""
    assert len(region6) == 6 and region6.isdigit(), region6
    assert gender in ("L", "P"), gender
    day = birth_date.day + (40 if gender == "P" else 0)
    serial_text = serial if isinstance(serial, str) else f"{serial:04d}"
    return f"{region6}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial_text}"


def make_kk(region6: str = "327301", serial: int = 9001) -> str:
    """A synthetic KK number: region (6) + an issue date DDMMYY + serial (4)."""
    return f"{region6}010120{serial:04d}"


provinces = st.sampled_from(sorted(PROVINCE_CODES))
two_digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
region6s = st.builds(lambda p, r, k: p + r + k, provinces, two_digits, two_digits)
genders = st.sampled_from(["L", "P"])
serials = st.integers(1, 9999)
birth_dates = st.dates(min_value=OLDEST_UNAMBIGUOUS, max_value=REFERENCE)


@st.composite
def nik_parts(draw: st.DrawFn) -> tuple[str, date, str, int]:
    """(region6, birth_date, gender, serial) of a valid NIK, aged 0-99 on REFERENCE."""
    return draw(region6s), draw(birth_dates), draw(genders), draw(serials)


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 Feb for a 29 Feb that does not exist)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def day_after(day: date) -> date:
    return day + timedelta(days=1)


def valid_form(**overrides: object) -> dict[str, object]:
    """A complete, valid desk form of a synthetic applicant (a woman born 17 Aug 1990, Bandung)."""
    born = date(1990, 8, 17)
    form: dict[str, object] = {
        "nik": make_nik("327301", born, "P", 9001),
        "kk": make_kk(),
        "name": "Siti Aminah",
        "birth_place": "Bandung",
        "birth_date": "17-08-1990",
        "gender": "Perempuan",
        "phone": "0812-3456-7890",
        "email": "siti.aminah@contoh.id",
        "address": "Jl. Setiabudi No. 12",
        "rt": "3",
        "rw": "07",
        "village": "Gegerkalong",
        "district": "Sukasari",
        "education": "SMA/SMK",
        "employment": "Korban PHK",
        "occupation": "Buruh pabrik",
        "in_school": "tidak",
        "social_assistance": "tidak",
        "training": "Desain grafis",
    }
    form.update(overrides)
    return form
