"""Field normalisers (prakerja_cli.core.fields): names, phones, e-mail, dates, choices, yes/no."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import REFERENCE

from prakerja_cli.core.fields import (
    EDUCATION,
    EMPLOYMENT,
    GENDERS,
    MONTHS_ID,
    NO,
    YES,
    blank,
    collapse_spaces,
    normalise_birth_date,
    normalise_choice,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_text,
    parse_date,
    parse_yes_no,
)
from prakerja_cli.core.findings import Code, Finding, Severity

FAST = settings(max_examples=200, deadline=None)


def codes(findings: list[Finding]) -> list[Code]:
    return [f.code for f in findings]


# --- spaces and blanks ------------------------------------------------------------------------


def test_collapse_spaces_handles_nbsp_tabs_and_newlines() -> None:
    assert collapse_spaces("  a\u00a0\u00a0b\t c\n d\u202fe\u2007f  ") == "a b c d e f"
    assert collapse_spaces("\u00a0") == ""


def test_collapse_spaces_drops_control_and_format_characters() -> None:
    assert collapse_spaces("\x1b]0;X\x07\x1b[31mBandung\x1b[0m") == "]0;X[31mBandung[0m"
    assert collapse_spaces("Jl. Merdeka \x1b[2J 1") == "Jl. Merdeka [2J 1"
    assert collapse_spaces("Ani\u202e Budi\u00ad\x00 \x9b") == "Ani Budi"
    assert collapse_spaces("Dewi Sartika") == "Dewi Sartika"


@pytest.mark.parametrize(
    ("value", "is_blank"),
    [(None, True), ("", True), (" \u00a0\t", True), ("x", False), (0, False), (False, False)],
)
def test_blank(value: Any, is_blank: bool) -> None:
    assert blank(value) is is_blank


def test_normalise_text_collapses_and_upper_cases() -> None:
    assert normalise_text("  jl.\u00a0merdeka   no. 1 ") == "JL. MERDEKA NO. 1"


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Siti Aminah", "SITI AMINAH"),
        ("siti aminah", "SITI AMINAH"),
        ("  Siti   Aminah  ", "SITI AMINAH"),
        ("\u00a0Siti\u00a0\u00a0Aminah\t", "SITI AMINAH"),
        ("Siti\nAminah", "SITI AMINAH"),
        ("Budi", "BUDI"),
        ("O'Neil", "O'NEIL"),
        ("Nur'aini", "NUR'AINI"),
        ("Muh. Ali", "MUH. ALI"),
        ("Abd. Rahman S.", "ABD. RAHMAN S."),
        ("Siti-Aminah", "SITI-AMINAH"),
        ("Raden Ajeng Kartini", "RADEN AJENG KARTINI"),
        ("Jose\u0301", "JOSÉ"),  # decomposed accent: NFC first
        ("I Gusti Ngurah Rai", "I GUSTI NGURAH RAI"),
    ],
)
def test_valid_names_are_upper_cased_and_collapsed(raw: str, name: str) -> None:
    assert normalise_name(raw) == (name, [])


@pytest.mark.parametrize(
    "raw",
    [
        "Siti2",
        "Siti Aminah 2",
        "R2D2",
        "Siti_Aminah",
        "Siti@Aminah",
        "Siti, S.Pd",
        "Siti (Ami)",
        "Siti/Aminah",
        "Siti & Budi",
        "Siti#",
        "-",
        ".",
        "'",
    ],
)
def test_digits_and_other_symbols_are_name_invalid(raw: str) -> None:
    value, findings = normalise_name(raw)
    assert value is None
    assert codes(findings) == [Code.NAME_INVALID]
    assert findings[0].severity is Severity.ERROR
    assert findings[0].field == "name"


@pytest.mark.parametrize("raw", ["", "   ", "\u00a0\t"])
def test_empty_name_is_required_missing(raw: str) -> None:
    assert normalise_name(raw) == (None, [Finding(Code.REQUIRED_MISSING, Severity.ERROR, "name")])


def test_name_field_name_is_used() -> None:
    assert normalise_name("1", field_name="mother")[1][0].field == "mother"


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "0812.3456.7890",
        "(0812) 3456-7890",
        "0812/3456/7890",
        "6281234567890",
        "62 812 3456 7890",
        "62-812-3456-7890",
        "+6281234567890",
        "+62 812 3456 7890",
        "+62 812-3456-7890",
        "+62-812-3456-7890",
        "+62 (0) 812 3456 7890",
        "81234567890",  # typed into a number cell: the leading 0 is gone
        "81234567890.0",  # and then through a float
        "'081234567890",  # Excel's text marker
        " 0812 3456 7890 ",
        "\u00a00812\u00a03456\u00a07890\u00a0",
    ],
)
def test_mobile_numbers_in_every_common_form(raw: str) -> None:
    assert normalise_phone(raw) == ("+6281234567890", [])


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0811-123-456", "+62811123456"),  # short old Telkomsel number
        ("0857 1234 5678", "+6285712345678"),
        ("0899-1234-567", "+628991234567"),
        ("+62 821 1234 5678", "+6282112345678"),
    ],
)
def test_other_mobile_prefixes(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == (e164, [])


@pytest.mark.parametrize(
    "raw",
    [
        "021-5551234",  # Jakarta landline
        "(022) 2501234",  # Bandung landline
        "+62 21 5551234",
        "12345",
        "0812",
        "abc",
        "0812-34ab-7890",  # letters are not keypad digits here
        "0812-ABCD-7890",
        "0812345678o0",  # letter o typed for a zero: not silently dropped
        "O81234567890",
        "0812-3456-789O",
        "08123456789l",  # letter l for a one
        "0812 3456 7890 ext 1",
        "+1 650 253 0000",  # not Indonesian
        "+60 12-345 6789",  # Malaysian mobile
        "0812345678901234567",
    ],
)
def test_landlines_foreign_and_garbage_are_phone_invalid(raw: str) -> None:
    value, findings = normalise_phone(raw)
    assert value is None
    assert codes(findings) == [Code.PHONE_INVALID]
    assert findings[0].field == "phone"


@pytest.mark.parametrize("raw", ["", "   ", "'"])
def test_empty_phone_is_required_missing(raw: str) -> None:
    assert codes(normalise_phone(raw)[1]) == [Code.REQUIRED_MISSING]


@FAST
@given(
    st.sampled_from(["0812", "0813", "0821", "0852", "0857", "0878", "0895"]),
    st.integers(0, 99_999_999),
    st.sampled_from(
        ["{p}{s}", "{p}-{a}-{b}", "+62 {p1} {a} {b}", "62{p1}{s}", "{p1}{s}", "{p1}{s}.0"]
    ),
)
def test_every_written_form_of_a_mobile_gives_the_same_number(
    prefix: str, sub: int, form: str
) -> None:
    s = f"{sub:08d}"
    raw = form.format(p=prefix, p1=prefix[1:], s=s, a=s[:4], b=s[4:])
    assert normalise_phone(raw) == (f"+62{prefix[1:]}{s}", [])


# --- e-mail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        ("siti@contoh.id", "siti@contoh.id"),
        (" siti.aminah@contoh.co.id ", "siti.aminah@contoh.co.id"),
        ("Siti@Contoh.ID", "Siti@contoh.id"),  # the domain is case-free, the local part is not
        ("siti+prakerja@contoh.id", "siti+prakerja@contoh.id"),
    ],
)
def test_valid_email_is_normalised(raw: str, email: str) -> None:
    assert normalise_email(raw) == (email, [])


@pytest.mark.parametrize(
    "raw",
    [
        "siti",
        "siti@",
        "@contoh.id",
        "siti@@contoh.id",
        "siti aminah@contoh.id",
        "siti@contoh",
        "siti@contoh..id",
    ],
)
def test_invalid_email(raw: str) -> None:
    value, findings = normalise_email(raw)
    assert value is None
    assert codes(findings) == [Code.EMAIL_INVALID]
    assert findings[0].field == "email"


@pytest.mark.parametrize("raw", ["", "  ", "\u00a0"])
def test_empty_email_is_fine(raw: str) -> None:
    assert normalise_email(raw) == (None, [])


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(1990, 8, 17), date(1990, 8, 17)),
        (datetime(1990, 8, 17, 0, 0), date(1990, 8, 17)),
        (datetime(1990, 8, 17, 13, 45), date(1990, 8, 17)),
        (33102, date(1990, 8, 17)),  # Excel serial
        (33102.0, date(1990, 8, 17)),
        (33102.75, date(1990, 8, 17)),  # a date-time serial: the day counts
        ("33102", date(1990, 8, 17)),  # a serial that arrived as text
        (61, date(1900, 3, 1)),
        ("17/08/1990", date(1990, 8, 17)),
        ("7/8/1990", date(1990, 8, 7)),
        ("17-08-1990", date(1990, 8, 17)),
        ("17.08.1990", date(1990, 8, 17)),
        ("1990-08-17", date(1990, 8, 17)),
        ("1990-8-7", date(1990, 8, 7)),
        ("1990-08-17 00:00:00", date(1990, 8, 17)),
        ("1990-08-17T00:00", date(1990, 8, 17)),
        (" 17/08/1990 ", date(1990, 8, 17)),
        ("17 Agustus 1990", date(1990, 8, 17)),
        ("17 agustus 1990", date(1990, 8, 17)),
        ("17 AGUSTUS 1990", date(1990, 8, 17)),
        ("17 Agu 1990", date(1990, 8, 17)),
        ("17 Agt 1990", date(1990, 8, 17)),
        ("17 Agu. 1990", date(1990, 8, 17)),
        ("17\u00a0Agustus\u00a01990", date(1990, 8, 17)),
        ("1 Januari 2000", date(2000, 1, 1)),
        ("29 Pebruari 1996", date(1996, 2, 29)),
        ("2 Mei 1985", date(1985, 5, 2)),
        ("10 Nopember 1975", date(1975, 11, 10)),
        ("25 Des 1999", date(1999, 12, 25)),
        ("17 August 1990", date(1990, 8, 17)),
    ],
)
def test_parse_date_accepts_the_forms_offices_use(value: Any, expected: date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "31/04/1990",  # 31 April
        "29/02/1990",  # not a leap year
        "32/01/1990",
        "17/13/1990",
        "00/08/1990",
        "08/17/1990",  # month first: not an Indonesian form
        "1990-13-01",
        "1990-02-30",
        "17 Agustos 1990",  # unknown month
        "31 April 1990",
        "17/08/90",  # two-digit year: ambiguous
        "17 08 1990",
        "kemarin",
        "",
        "  ",
        "1990",  # a year alone, not a 4-digit Excel serial (1905-06-12)
        "170890",  # DDMMYY text, not a 6-digit serial (year 2367)
        "12",
        "1234567",
        0,
        -5,
        2958466,  # past Excel's last day
        True,
        None,
        [1990, 8, 17],
    ],
)
def test_parse_date_rejects_what_is_not_a_date(value: Any) -> None:
    assert parse_date(value) is None


def test_every_month_name_is_known() -> None:
    assert set(MONTHS_ID.values()) == set(range(1, 13))


@FAST
@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 12, 31)))
def test_parse_date_round_trips_every_written_form(day: date) -> None:
    full_names = {v: k for k, v in MONTHS_ID.items() if len(k) > 4 or k in ("mei", "juni", "juli")}
    forms = [
        day,
        datetime(day.year, day.month, day.day),
        day.isoformat(),
        day.strftime("%d/%m/%Y"),
        day.strftime("%d-%m-%Y"),
        day.strftime("%d.%m.%Y"),
        f"{day.day} {full_names[day.month].title()} {day.year}",
        (day - date(1899, 12, 30)).days,
        float((day - date(1899, 12, 30)).days),
    ]
    for form in forms:
        assert parse_date(form) == day, form


def test_birth_date_today_and_in_the_past_are_fine() -> None:
    assert normalise_birth_date("17-08-1990", REFERENCE) == (date(1990, 8, 17), [])
    assert normalise_birth_date(REFERENCE, REFERENCE) == (REFERENCE, [])
    assert normalise_birth_date(date(1900, 1, 1), REFERENCE) == (date(1900, 1, 1), [])


@pytest.mark.parametrize(
    "value",
    [
        REFERENCE + timedelta(days=1),  # tomorrow
        "17-08-2090",
        date(1899, 12, 31),  # before 1900
        "31-04-1990",
        "bukan tanggal",
        "17/08/90",
        "1990",  # a year is not a birth date
    ],
)
def test_bad_or_future_birth_date_is_birthdate_invalid(value: Any) -> None:
    born, findings = normalise_birth_date(value, REFERENCE)
    assert born is None
    assert codes(findings) == [Code.BIRTHDATE_INVALID]
    assert findings[0].field == "birth_date"
    assert findings[0].severity is Severity.ERROR


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("bukan tanggal", "bukan tanggal"),
        ("31-04-1990", "31-04-1990"),
        ("17-08-2090", "17-08-2090"),
        (date(1899, 12, 31), "31-12-1899"),
    ],
)
def test_an_unreadable_birth_date_names_what_was_read(value: Any, read: str) -> None:
    finding = normalise_birth_date(value, REFERENCE)[1][0]
    assert finding.params == {"text": read}
    assert f'tertulis "{read}": bukan tanggal yang sah' in finding.message("id")
    assert f'read "{read}": not a real date' in finding.message("en")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12/25/1990", "25/12/1990"), ("8/31/1985", "31/08/1985"), ("02-29-1988", "29-02-1988")],
)
def test_a_month_first_birth_date_says_so_and_shows_it_day_first(value: str, expected: str) -> None:
    born, findings = normalise_birth_date(value, REFERENCE)
    assert born is None and codes(findings) == [Code.BIRTHDATE_INVALID]
    assert findings[0].params == {"text": value, "expected": expected, "variant": "us_order"}
    assert findings[0].message("id") == (
        f'Tanggal lahir: tertulis "{value}": tampaknya urutan bulan/hari/tahun (gaya Amerika). '
        f"Tulis hari lebih dahulu (HH/BB/TTTT): {expected}."
    )
    assert "month/day/year (US order)" in findings[0].message("en")
    assert expected in findings[0].message("en")


@pytest.mark.parametrize("value", ["13/25/1990", "02/30/1990", "31-04-1990"])
def test_a_date_that_is_no_date_either_way_is_not_called_us_order(value: str) -> None:
    assert "variant" not in normalise_birth_date(value, REFERENCE)[1][0].params


@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_birth_date_is_required_missing(value: Any) -> None:
    assert codes(normalise_birth_date(value, REFERENCE)[1]) == [Code.REQUIRED_MISSING]


# --- choices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("L", "L"),
        ("l", "L"),
        ("Laki-laki", "L"),
        ("LAKI LAKI", "L"),
        ("laki", "L"),
        ("Lk", "L"),
        ("Lk.", "L"),
        ("Pria", "L"),
        ("Male", "L"),
        ("M", "L"),
        ("P", "P"),
        ("p", "P"),
        ("Perempuan", "P"),
        ("PEREMPUAN", "P"),
        ("Wanita", "P"),
        ("Pr", "P"),
        ("Female", "P"),
        ("F", "P"),
        ("W", "P"),
        (" p ", "P"),
    ],
)
def test_gender_synonyms(raw: str, code: str) -> None:
    assert normalise_choice(raw, GENDERS, "gender") == (code, [])


@pytest.mark.parametrize("raw", ["X", "LP", "Laki-laki/Perempuan", "1", "Lainnya"])
def test_unknown_gender_is_gender_invalid(raw: str) -> None:
    value, findings = normalise_choice(raw, GENDERS, "gender")
    assert value is None
    assert codes(findings) == [Code.GENDER_INVALID]
    assert findings[0].params == {"allowed": "L, P"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("SMA", "SMA"),
        ("SMA/SMK", "SMA"),
        ("SMK", "SMA"),
        ("SMA/SMK/sederajat", "SMA"),
        ("Paket C", "SMA"),
        ("SLTA", "SMA"),
        ("SMP", "SMP"),
        ("MTs", "SMP"),
        ("SLTP", "SMP"),
        ("SD", "SD"),
        ("SD/MI", "SD"),
        ("Tidak sekolah", "TIDAK_SEKOLAH"),
        ("tidak/belum sekolah", "TIDAK_SEKOLAH"),
        ("TIDAK_SEKOLAH", "TIDAK_SEKOLAH"),
        ("D1", "D1"),
        ("Diploma II", "D2"),
        ("D3", "D3"),
        ("Diploma 3", "D3"),
        ("D-4", "D4"),
        ("S1", "S1"),
        ("S-1", "S1"),
        ("Sarjana", "S1"),
        ("Strata 1", "S1"),
        ("S2", "S2"),
        ("Magister", "S2"),
        ("S3", "S3"),
        ("Doktor", "S3"),
    ],
)
def test_education_synonyms(raw: str, code: str) -> None:
    assert normalise_choice(raw, EDUCATION, "education") == (code, [])


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("PENCARI_KERJA", "PENCARI_KERJA"),
        ("Pencari kerja", "PENCARI_KERJA"),
        ("Belum bekerja", "PENCARI_KERJA"),
        ("Menganggur", "PENCARI_KERJA"),
        ("Pekerja/buruh", "PEKERJA"),
        ("Buruh", "PEKERJA"),
        ("Karyawan", "PEKERJA"),
        ("Korban PHK", "KORBAN_PHK"),
        ("PHK", "KORBAN_PHK"),
        ("Pekerja terkena PHK", "KORBAN_PHK"),
        ("Dirumahkan", "DIRUMAHKAN"),
        ("UMKM", "USAHA_MIKRO"),
        ("Pelaku usaha mikro/kecil", "USAHA_MIKRO"),
        ("Wirausaha", "USAHA_MIKRO"),
    ],
)
def test_employment_synonyms(raw: str, code: str) -> None:
    assert normalise_choice(raw, EMPLOYMENT, "employment") == (code, [])


@pytest.mark.parametrize(
    ("raw", "choices", "name"),
    [
        ("Kursus", EDUCATION, "education"),
        ("SMA kelas 2", EDUCATION, "education"),
        ("S4", EDUCATION, "education"),
        ("Pensiun", EMPLOYMENT, "employment"),
        ("Presiden", EMPLOYMENT, "employment"),
    ],
)
def test_unknown_choice_is_choice_invalid(raw: str, choices: Any, name: str) -> None:
    value, findings = normalise_choice(raw, choices, name)
    assert value is None
    assert codes(findings) == [Code.CHOICE_INVALID]
    assert findings[0].field == name
    assert findings[0].params == {"allowed": ", ".join(choices)}


@pytest.mark.parametrize("choices", [GENDERS, EDUCATION, EMPLOYMENT])
@pytest.mark.parametrize("raw", ["", "  ", "-", "/"])
def test_empty_choice_is_required_missing(choices: Any, raw: str) -> None:
    assert codes(normalise_choice(raw, choices, "x")[1]) == [Code.REQUIRED_MISSING]


@pytest.mark.parametrize(
    "choices", [GENDERS, EDUCATION, EMPLOYMENT], ids=["gender", "education", "employment"]
)
def test_every_code_label_and_synonym_maps_back_to_its_code(choices: Any) -> None:
    seen: dict[str, str] = {}
    for code, (label, synonyms) in choices.items():
        for raw in (code, code.lower(), label, label.upper(), *synonyms):
            assert normalise_choice(raw, choices, "f") == (code, []), raw
        for synonym in synonyms:
            assert seen.setdefault(synonym, code) == code, f"{synonym} is in two choices"


# --- yes/no -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        True,
        1,
        1.0,
        2,
        "Y",
        "y",
        "Ya",
        "YA",
        "ya ",
        "Yes",
        "1",
        "true",
        "Benar",
        "Iya",
        "Masih",
        "v",
        "x",
    ],
)
def test_yes(value: Any) -> None:
    assert parse_yes_no(value, "in_school") == (True, [])


@pytest.mark.parametrize(
    "value",
    [
        False,
        0,
        0.0,
        "N",
        "n",
        "T",
        "t",
        "Tidak",
        "TIDAK",
        "Tdk",
        "tdk.",
        "No",
        "0",
        "false",
        "Bukan",
        "",
        "  ",
        "-",
        None,
    ],
)
def test_no(value: Any) -> None:
    assert parse_yes_no(value, "in_school") == (False, [])


@pytest.mark.parametrize("value", ["mungkin", "sudah lulus", "2", "ya tidak"])
def test_neither_yes_nor_no_is_choice_invalid(value: Any) -> None:
    result, findings = parse_yes_no(value, "in_school")
    assert result is None
    assert codes(findings) == [Code.CHOICE_INVALID]
    assert findings[0].field == "in_school"
    assert findings[0].params == {"allowed": "ya, tidak"}


def test_yes_and_no_words_do_not_overlap() -> None:
    assert not set(YES) & set(NO)


def test_curly_apostrophes_become_plain_ones() -> None:
    assert normalise_name("Siti\u2019ah") == ("SITI'AH", [])


@pytest.mark.parametrize(("raw", "code"), [("D-III", "D3"), ("D III", "D3"), ("S-1", "S1")])
def test_education_roman_numerals(raw: str, code: str) -> None:
    assert normalise_choice(raw, EDUCATION, "education") == (code, [])


@pytest.mark.parametrize(
    ("raw", "suggestion"),
    [
        ("siti@gmial.com", "gmail.com"),
        ("siti@gmail.co", "gmail.com"),
        ("siti@Gamil.com", "gmail.com"),
        ("siti@yaho.com", "yahoo.com"),
        ("siti@yahoo.co.od", "yahoo.co.id"),
        ("siti@hotmial.com", "hotmail.com"),
        ("siti@ymail.con", "ymail.com"),
    ],
)
def test_a_near_miss_of_a_common_provider_is_a_warning(raw: str, suggestion: str) -> None:
    value, findings = normalise_email(raw)
    assert value == raw.lower()  # kept as typed (domain lower-cased): it may be real
    assert codes(findings) == [Code.EMAIL_DOMAIN_SUSPECT]
    assert findings[0].severity is Severity.WARNING and findings[0].field == "email"
    assert findings[0].params == {"domain": raw.split("@")[1].lower(), "suggestion": suggestion}
    assert f'"{suggestion}"' in findings[0].message("id")
    assert f'typo of "{suggestion}"' in findings[0].message("en")


@pytest.mark.parametrize(
    "raw",
    ["siti@gmail.com", "siti@yahoo.co.id", "siti@ymail.com", "siti@mail.com", "siti@kemnaker.go.id",
     "siti@ugm.ac.id", "siti@telkom.net", "siti@yahoo.com.sg"],
)  # fmt: skip
def test_common_and_unrelated_domains_raise_nothing(raw: str) -> None:
    assert normalise_email(raw) == (raw, [])


def test_the_domain_check_runs_once_per_domain_not_per_row() -> None:
    import difflib
    from unittest import mock

    from prakerja_cli.core import fields

    fields._EMAIL_DOMAINS.clear()
    fields.suspect_email_domain.cache_clear()
    with mock.patch.object(
        fields.difflib, "get_close_matches", wraps=difflib.get_close_matches
    ) as matcher:
        results = [normalise_email(f"orang{i}@gmial.com") for i in range(200)]
        results += [normalise_email(f"orang{i}@contoh.id") for i in range(200)]
    assert matcher.call_count == 2  # one per distinct domain
    assert all(codes(found) == [Code.EMAIL_DOMAIN_SUSPECT] for _, found in results[:200])
    assert all(found == [] for _, found in results[200:])
    assert results[7][0] == "orang7@gmial.com"


def test_nan_is_not_a_yes() -> None:
    value, findings = parse_yes_no(float("nan"), "in_school")
    assert value is None and [f.code for f in findings] == [Code.CHOICE_INVALID]


# --- fast paths agree with the libraries ------------------------------------------------------
# normalise_phone classifies the common shape (0 or +62, then 8...) from phonenumbers' metadata
# without its parser, and normalise_email skips email-validator for plain local parts at a domain
# it has accepted. Both must give exactly the libraries' answers.


def library_phone(candidate: str) -> str | None:
    from prakerja_cli.core.fields import _phone_by_library

    return _phone_by_library(candidate, "phone")[0]


def test_phone_fast_path_agrees_with_phonenumbers_on_every_prefix() -> None:
    import random

    rng = random.Random(2026)
    checked = 0
    for prefix in range(8000, 9000):
        for length in range(6, 18):  # national numbers of 6..17 digits
            tail = "".join(rng.choice("0123456789") for _ in range(length - 4))
            national = f"{prefix}{tail}"
            for candidate in ("0" + national, "+62" + national):
                assert normalise_phone(candidate)[0] == library_phone(candidate), candidate
                checked += 1
    assert checked == 24_000


@FAST
@given(
    lead=st.sampled_from(["0", "+62", "62", "", "00", "+", "0062", "+620", "080", "8", "+1"]),
    digits=st.text("0123456789", min_size=0, max_size=19),
    spaced=st.booleans(),
)
def test_phone_fast_path_agrees_with_phonenumbers(lead: str, digits: str, spaced: bool) -> None:
    import re
    from unittest import mock

    from prakerja_cli.core import fields

    raw = lead + (" ".join([digits[:4], digits[4:]]) if spaced else digits)
    with mock.patch.object(fields, "_PLAIN_ID_NUMBER", re.compile(r"(?!)")):
        expected = normalise_phone(raw)  # phonenumbers' parser for every number
    assert normalise_phone(raw) == expected, raw


LOCAL = st.lists(
    st.sampled_from([*"abcXYZ019._+-!#$%&'*/=?^`{|}~\"()@é", "postmaster", "Abuse"]), max_size=12
).map("".join)
DOMAINS = ["gmail.com", "GMail.Com", "yahoo.co.id", "localhost", "a..b", "xn--bcher-kva.example",
           "test", "bücher.de", "mail.example.org", "-bad.com", "x.y"]  # fmt: skip


@FAST
@given(local=LOCAL, domain=st.sampled_from(DOMAINS), other=LOCAL)
def test_email_fast_path_agrees_with_email_validator(local: str, domain: str, other: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    normalise_email(f"{other}@{domain}")  # may teach the cache this domain
    for address in (f"{local}@{domain}", f"{local}{'x' * 60}@{domain}"):
        try:
            expected: str | None = str(
                validate_email(address, check_deliverability=False).normalized
            )
        except EmailNotValidError:
            expected = None
        assert normalise_email(address)[0] == expected, address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17-Agu-1990", date(1990, 8, 17)),
        ("17-agu-1990", date(1990, 8, 17)),
        ("17/Aug/1990", date(1990, 8, 17)),
        ("17.Des.1990", date(1990, 12, 17)),
        ("1990/08/17", date(1990, 8, 17)),
        ("1990.08.17", date(1990, 8, 17)),
        ("1990-08/17", None),  # mixed separators: no form offices use
    ],
)
def test_dates_as_offices_type_them(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_a_two_digit_year_takes_the_century_of_the_nik_or_asks_for_four_digits() -> None:
    nik_born = date(1991, 3, 5)
    assert normalise_birth_date("05-03-91", REFERENCE, nik_born=nik_born) == (nik_born, [])
    assert normalise_birth_date("5-Mar-91", REFERENCE, nik_born=nik_born) == (nik_born, [])
    for text, nik in (("05-03-91", None), (" 17/08/90 ", nik_born)):
        finding = normalise_birth_date(text, REFERENCE, nik_born=nik)[1][0]
        assert finding.code is Code.BIRTHDATE_INVALID
        assert finding.params == {"text": text.strip(), "variant": "two_digit_year"}
        assert "empat angka" in finding.message("id")
        assert "four digits" in finding.message("en")
