"""NIK and KK decoding (prakerja_cli.core.nik), pinned rule by rule, plus hypothesis properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import REFERENCE, make_kk, make_nik, nik_parts

from prakerja_cli.core.findings import Code, Severity
from prakerja_cli.core.nik import (
    PROVINCE_CODES,
    NikInfo,
    age_on,
    clean_number,
    mask,
    parse_kk,
    parse_nik,
    precision_lost,
)

FAST = settings(max_examples=250, deadline=None)

#: Kota Bandung, Kec. Sukasari; a woman born 17 Aug 1990; a serial no one real is likely to have.
BASE = make_nik("327301", date(1990, 8, 17), "P", 9001)

REGIONS = {"32": "JAWA BARAT", "3273": "KOTA BANDUNG", "327301": "SUKASARI"}


def parse(raw: str, **kwargs: object) -> NikInfo:
    return parse_nik(raw, today=REFERENCE, **kwargs)  # type: ignore[arg-type]


def codes(info: NikInfo) -> list[Code]:
    return [f.code for f in info.findings]


def with_date_digits(ddmmyy: str, region6: str = "327301", serial: str = "9001") -> str:
    return region6 + ddmmyy + serial


def decoded(info: NikInfo) -> tuple[object, ...]:
    return (
        info.province_code,
        info.regency_code,
        info.district_code,
        info.birth_date,
        info.gender,
        info.serial,
    )


# --- make_nik itself --------------------------------------------------------------------------


def test_make_nik_builds_the_documented_layout() -> None:
    assert BASE == "3273015708909001"
    assert make_nik("327301", date(1985, 3, 2), "L", 42) == "3273010203850042"
    assert make_nik("920101", date(2001, 12, 31), "P", 9999) == "9201017112019999"


# --- a valid NIK decodes ----------------------------------------------------------------------


def test_valid_nik_decodes_every_part() -> None:
    info = parse(BASE)
    assert info.nik == BASE
    assert info.province_code == "32"
    assert info.regency_code == "3273"
    assert info.district_code == "327301"
    assert info.birth_date == date(1990, 8, 17)
    assert info.gender == "P"
    assert info.serial == "9001"
    assert info.findings == []
    assert info.valid


def test_man_day_is_as_is_woman_day_is_plus_40() -> None:
    man = parse(make_nik("327301", date(1990, 8, 1), "L", 9001))
    woman = parse(make_nik("327301", date(1990, 8, 1), "P", 9001))
    assert man.nik is not None and man.nik[6:8] == "01"
    assert woman.nik is not None and woman.nik[6:8] == "41"
    assert (man.gender, man.birth_date) == ("L", date(1990, 8, 1))
    assert (woman.gender, woman.birth_date) == ("P", date(1990, 8, 1))


@pytest.mark.parametrize(
    ("ddmmyy", "born", "gender"),
    [
        ("010190", date(1990, 1, 1), "L"),
        ("310190", date(1990, 1, 31), "L"),
        ("410190", date(1990, 1, 1), "P"),
        ("710190", date(1990, 1, 31), "P"),
        ("301190", date(1990, 11, 30), "L"),
        ("701190", date(1990, 11, 30), "P"),
    ],
)
def test_day_boundaries_for_both_genders(ddmmyy: str, born: date, gender: str) -> None:
    info = parse(with_date_digits(ddmmyy))
    assert info.findings == []
    assert (info.birth_date, info.gender) == (born, gender)


# --- cleaning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "3273015708909001",
        "3273 0157 0890 9001",
        "3273.0157.0890.9001",
        "3273-0157-0890-9001",
        "32.73.01.570890.9001",
        "'3273015708909001",
        "  '3273015708909001  ",
        "\u00a03273015708909001\u00a0",
        "3273\u00a00157\u00a00890\u00a09001",
        "3273\u202f0157\u20070890\t9001",
        "3273 - 0157 . 0890 9001\n",
    ],
)
def test_spaces_dots_dashes_apostrophe_and_nbsp_are_stripped(raw: str) -> None:
    info = parse(raw)
    assert info.nik == BASE
    assert info.findings == []


def test_clean_number_keeps_only_what_it_does_not_know() -> None:
    assert clean_number(" '32 73.01-57\u00a008 ") == "3273015708"
    assert clean_number("32/73") == "32/73"  # not a separator the spec names: left for NIK_FORMAT


# --- NIK_FORMAT -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "length"),
    [
        (BASE[:-1], 15),
        (BASE + "1", 17),
        ("", 0),
        ("   ", 0),
    ],
)
def test_not_16_digits_is_nik_format(raw: str, length: int) -> None:
    info = parse(raw)
    assert codes(info) == [Code.NIK_FORMAT]
    assert info.findings[0].severity is Severity.ERROR
    assert info.findings[0].field == "nik"
    assert info.findings[0].params == {"length": length}
    assert info.nik is None


@pytest.mark.parametrize(
    ("raw", "chars"),
    [
        (BASE[:-1] + "A", "A"),
        ("3273O15708909001", "O"),  # letter O for zero: "16 digits, read 16" told nothing
        ("3273/0157/0890/9001", "/"),
        ("+3273015708909001", "+"),
        ("\u0663\u0662\u0667\u0663" + BASE[4:], "\u0663 \u0662 \u0667"),  # Arabic-Indic digits
    ],
)
def test_a_nik_with_other_characters_names_them(raw: str, chars: str) -> None:
    info = parse(raw)
    assert codes(info) == [Code.NIK_FORMAT]
    assert info.findings[0].params == {"variant": "not_digits", "chars": chars}
    assert info.nik is None
    assert not info.valid


def test_field_name_is_carried_into_findings() -> None:
    info = parse_nik("123", today=REFERENCE, field_name="nik_ibu")
    assert [f.field for f in info.findings] == ["nik_ibu"]


# --- province ---------------------------------------------------------------------------------


@pytest.mark.parametrize("province", ["00", "99", "10", "20", "37", "54", "90", "97"])
def test_unknown_province_is_an_error(province: str) -> None:
    info = parse(province + BASE[2:])
    assert codes(info) == [Code.NIK_PROVINCE_UNKNOWN]
    assert info.findings[0].severity is Severity.ERROR
    assert info.findings[0].params == {"province": province}
    assert not info.valid
    # The rest is still decoded, so the clerk sees what the NIK says.
    assert info.birth_date == date(1990, 8, 17)


@pytest.mark.parametrize("province", sorted(PROVINCE_CODES))
def test_every_known_province_is_valid(province: str) -> None:
    info = parse(province + BASE[2:])
    assert info.findings == []
    assert info.province_code == province


@pytest.mark.parametrize("province", ["91", "92", "93", "94", "95", "96"])
def test_papua_old_and_new_province_codes_are_both_valid(province: str) -> None:
    assert province in PROVINCE_CODES
    assert parse(province + BASE[2:]).valid


def test_province_list_has_the_38_provinces_of_2022_on() -> None:
    assert len(PROVINCE_CODES) == 38
    assert all(len(code) == 2 and code.isdigit() for code in PROVINCE_CODES)


# --- regions ----------------------------------------------------------------------------------


def test_known_region_gives_no_finding() -> None:
    assert parse(BASE, regions=REGIONS.get).findings == []


def test_unknown_kecamatan_is_a_warning() -> None:
    info = parse("327399" + BASE[6:], regions=REGIONS.get)
    assert codes(info) == [Code.NIK_REGION_UNKNOWN]
    assert info.findings[0].severity is Severity.WARNING
    assert info.findings[0].params == {"code": "327399"}
    assert info.valid  # a warning does not block
    assert info.district_code == "327399"


def test_unknown_regency_is_a_warning_naming_the_regency() -> None:
    info = parse("329901" + BASE[6:], regions=REGIONS.get)
    assert codes(info) == [Code.NIK_REGION_UNKNOWN]
    assert info.findings[0].severity is Severity.WARNING
    assert info.findings[0].params == {"code": "3299"}
    assert info.valid


def test_without_a_region_list_regions_are_not_checked() -> None:
    assert parse("329999" + BASE[6:]).findings == []


def test_unknown_province_is_not_also_reported_as_unknown_region() -> None:
    info = parse("990101" + BASE[6:], regions=REGIONS.get)
    assert codes(info) == [Code.NIK_PROVINCE_UNKNOWN]


def test_region_lookup_is_asked_for_4_and_6_digit_codes() -> None:
    asked: list[str] = []

    def lookup(code: str) -> str | None:
        asked.append(code)
        return "X"

    assert parse(BASE, regions=lookup).findings == []
    assert asked == ["3273", "327301"]


# --- birth date -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ddmmyy",
    [
        "310490",  # 31 April
        "710490",  # 31 April, a woman
        "310690",  # 31 June
        "300290",  # 30 February
        "290290",  # 29 Feb 1990, not a leap year (2090 is in the future)
        "290201",  # 29 Feb 2001 / 1901
        "690201",  # the same, a woman
        "320190",  # day 32
        "350190",
        "400190",  # day 40
        "720190",  # day 72 = woman's day 32
        "990190",
        "011390",  # month 13
        "019990",
        "010090",  # month 00
        "000190",  # day 00
    ],
)
def test_impossible_birth_date_is_an_error(ddmmyy: str) -> None:
    info = parse(with_date_digits(ddmmyy))
    assert codes(info) == [Code.NIK_BIRTHDATE_INVALID]
    assert info.findings[0].severity is Severity.ERROR
    assert info.findings[0].params == {"digits": ddmmyy}
    assert info.birth_date is None
    assert info.gender is None
    assert not info.valid
    assert info.nik == with_date_digits(ddmmyy)


@pytest.mark.parametrize(
    ("ddmmyy", "born", "gender"),
    [
        ("290296", date(1996, 2, 29), "L"),
        ("690296", date(1996, 2, 29), "P"),
        ("290200", date(2000, 2, 29), "L"),  # 2000 is a leap year (1900 was not)
        ("290224", date(2024, 2, 29), "L"),
        ("290204", date(2004, 2, 29), "L"),
    ],
)
def test_29_february_of_a_leap_year_is_fine(ddmmyy: str, born: date, gender: str) -> None:
    info = parse(with_date_digits(ddmmyy))
    assert info.findings == []
    assert (info.birth_date, info.gender) == (born, gender)


@pytest.mark.parametrize(
    ("ddmmyy", "born"),
    [
        ("170890", date(1990, 8, 17)),  # 2090 would be in the future
        ("010160", date(1960, 1, 1)),
        ("010130", date(1930, 1, 1)),
        ("160625", date(1925, 6, 16)),  # 2025-06-16 is tomorrow: must be 1925 (age 99)
        ("311225", date(1925, 12, 31)),
        ("010110", date(2010, 1, 1)),  # 1910 would be 115 years old
        ("170805", date(2005, 8, 17)),
        ("150625", date(2025, 6, 15)),  # born today: age 0
        ("010124", date(2024, 1, 1)),
    ],
)
def test_century_gives_an_age_of_0_to_100(ddmmyy: str, born: date) -> None:
    info = parse(with_date_digits(ddmmyy))
    assert info.findings == []
    assert info.birth_date == born
    assert info.birth_date is not None
    assert 0 <= age_on(info.birth_date, REFERENCE) <= 100


def test_century_depends_on_the_reference_date() -> None:
    nik = with_date_digits("010130")
    assert parse_nik(nik, today=date(2025, 1, 1)).birth_date == date(1930, 1, 1)
    assert parse_nik(nik, today=date(2031, 1, 1)).birth_date == date(2030, 1, 1)


def test_when_both_centuries_fit_the_younger_is_chosen() -> None:
    # A 100-year-old and a baby share DDMMYY: 15-06-1925 (100) vs 15-06-2025 (0). Age 0-100 is
    # inclusive, so both fit; the decoder takes the younger one (a Prakerja applicant is neither,
    # and the form's birth date then gets NIK_BIRTHDATE_MISMATCH, a warning).
    info = parse(with_date_digits("150625"))
    assert info.birth_date == date(2025, 6, 15)
    info = parse_nik(with_date_digits("140625"), today=REFERENCE)
    assert info.birth_date == date(2025, 6, 14)


def test_age_on_counts_completed_years() -> None:
    born = date(2000, 6, 15)
    assert age_on(born, date(2018, 6, 14)) == 17
    assert age_on(born, date(2018, 6, 15)) == 18
    assert age_on(born, born) == 0
    leap = date(2004, 2, 29)
    assert age_on(leap, date(2022, 2, 28)) == 17
    assert age_on(leap, date(2022, 3, 1)) == 18


# --- serial -----------------------------------------------------------------------------------


def test_serial_0000_is_an_error() -> None:
    info = parse(BASE[:12] + "0000")
    assert codes(info) == [Code.NIK_SERIAL_INVALID]
    assert info.findings[0].severity is Severity.ERROR
    assert info.serial == "0000"
    assert info.birth_date == date(1990, 8, 17)  # still decoded
    assert not info.valid


@pytest.mark.parametrize("serial", ["0001", "0010", "0100", "1000", "9999"])
def test_serials_0001_to_9999_are_fine(serial: str) -> None:
    info = parse(BASE[:12] + serial)
    assert info.findings == []
    assert info.serial == serial


def test_several_errors_are_all_reported() -> None:
    info = parse("00" + BASE[2:6] + "320190" + "0000", regions=REGIONS.get)
    assert codes(info) == [
        Code.NIK_PROVINCE_UNKNOWN,
        Code.NIK_BIRTHDATE_INVALID,
        Code.NIK_SERIAL_INVALID,
    ]


# --- precision lost (Excel) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "3.27301E+15",
        "3,27301E+15",
        "3.27301e+15",
        "3.27301E15",
        "3.273015708909E+15",
        " 3.27301 E+15 ",
        "'3.27301E+15",
    ],
)
def test_scientific_notation_text_has_lost_precision(raw: str) -> None:
    info = parse(raw)
    assert codes(info) == [Code.NIK_PRECISION_LOST]
    assert info.findings[0].severity is Severity.ERROR
    assert info.nik is None
    assert not info.valid
    # Whatever the cell type says.
    assert codes(parse(raw, numeric_cell=True)) == [Code.NIK_PRECISION_LOST]


def test_numeric_cell_of_16_digits_ending_in_0_has_lost_precision() -> None:
    damaged = BASE[:15] + "0"
    info = parse(damaged, numeric_cell=True)
    assert codes(info) == [Code.NIK_PRECISION_LOST]
    assert info.nik is None


def test_numeric_cell_ending_in_non_zero_is_accepted() -> None:
    info = parse(BASE, numeric_cell=True)
    assert info.findings == []
    assert info.nik == BASE


def test_text_cell_ending_in_0_is_a_real_nik() -> None:
    # Serials like 0010 exist; only a numeric cell makes the trailing 0 suspicious.
    nik = BASE[:12] + "0010"
    info = parse(nik)
    assert info.findings == []
    assert info.nik == nik


def test_precision_lost_helper() -> None:
    assert precision_lost("3.27301E+15", numeric_cell=False)
    assert precision_lost("3273015708909000", numeric_cell=True)
    assert not precision_lost("3273015708909000", numeric_cell=False)
    assert not precision_lost("3273015708909001", numeric_cell=True)
    assert not precision_lost("327301570890900", numeric_cell=True)  # 15 digits: NIK_FORMAT


# --- KK ---------------------------------------------------------------------------------------


def test_valid_kk() -> None:
    kk = make_kk()
    assert parse_kk(kk) == (kk, [])
    assert parse_kk("3273 0101 0120 9001") == ("3273010101209001", [])
    assert parse_kk("'3273.0101.0120.9001") == ("3273010101209001", [])


@pytest.mark.parametrize(
    "raw", ["327301010120900", "32730101012090011", "", "3273010101209O01", "0073010101209001"]
)
def test_kk_not_16_digits_or_unknown_province_is_kk_format(raw: str) -> None:
    _, findings = parse_kk(raw)
    assert [f.code for f in findings] == [Code.KK_FORMAT]
    assert findings[0].severity is Severity.ERROR
    assert findings[0].field == "kk"


def test_kk_with_unknown_province_names_it() -> None:
    _, findings = parse_kk("9973010101209001")
    assert findings[0].params == {"province": "99"}


@pytest.mark.parametrize("province", ["91", "92", "93", "96"])
def test_kk_in_papua_old_and_new_codes(province: str) -> None:
    assert parse_kk(province + make_kk()[2:])[1] == []


def test_kk_damaged_by_excel() -> None:
    assert [f.code for f in parse_kk("3.27301E+15")[1]] == [Code.NIK_PRECISION_LOST]
    damaged = make_kk()[:15] + "0"
    digits, findings = parse_kk(damaged, numeric_cell=True)
    assert [(f.code, f.field) for f in findings] == [(Code.NIK_PRECISION_LOST, "kk")]
    assert digits == ""
    assert parse_kk(damaged)[1] == []  # text: a KK may end in 0


# --- mask -------------------------------------------------------------------------------------


def test_mask_shows_province_regency_and_last_2() -> None:
    assert mask(BASE) == "3273**********01"
    assert mask(make_kk()) == "3273**********01"
    assert mask("+6281234567890") == "+62812******90"
    assert len(mask(BASE)) == len(BASE)


@pytest.mark.parametrize(
    ("value", "masked"),
    [(None, ""), ("", ""), ("1234", "****"), ("12345678", "********"), ("123456789", "123456*89")],
)
def test_mask_short_values(value: str | None, masked: str) -> None:
    assert mask(value) == masked


# --- properties -------------------------------------------------------------------------------


@FAST
@given(nik_parts())
def test_every_valid_nik_decodes_to_what_made_it(parts: tuple[str, date, str, int]) -> None:
    region6, born, gender, serial = parts
    nik = make_nik(region6, born, gender, serial)
    info = parse(nik)
    assert info.nik == nik
    assert decoded(info) == (
        region6[:2],
        region6[:4],
        region6,
        born,
        gender,
        f"{serial:04d}",
    )
    assert not [f for f in info.findings if f.severity is Severity.ERROR]
    assert info.findings == []  # no region list given, so no warnings either


@FAST
@given(nik_parts(), st.sampled_from([" ", ".", "-", "\u00a0"]))
def test_grouped_nik_decodes_like_the_plain_one(
    parts: tuple[str, date, str, int], sep: str
) -> None:
    nik = make_nik(*parts)
    grouped = "'" + sep.join([nik[0:2], nik[2:4], nik[4:6], nik[6:12], nik[12:16]])
    assert parse(grouped) == parse(nik)


@FAST
@given(nik_parts())
def test_every_single_digit_typo_is_caught_or_changes_the_decoding(
    parts: tuple[str, date, str, int],
) -> None:
    nik = make_nik(*parts)
    original = decoded(parse(nik))
    for position in range(16):
        for digit in "0123456789":
            if digit == nik[position]:
                continue
            typo = nik[:position] + digit + nik[position + 1 :]
            info = parse(typo)
            assert not info.valid or decoded(info) != original, (nik, typo)


@FAST
@given(st.text(alphabet="0123456789 .-'\u00a0abcE+,", max_size=24))
def test_parse_nik_never_crashes_and_is_consistent(raw: str) -> None:
    info = parse(raw, regions=REGIONS.get)
    if info.nik is None:
        assert len(info.findings) == 1
        assert info.findings[0].code in (Code.NIK_FORMAT, Code.NIK_PRECISION_LOST)
    else:
        assert len(info.nik) == 16 and info.nik.isdigit()
        assert (info.birth_date is None) == (info.gender is None)
        assert info.valid == (
            info.province_code in PROVINCE_CODES
            and info.birth_date is not None
            and info.serial != "0000"
        )
