"""Eligibility rule sets (prakerja_cli.core.rules): each rule of both shipped rule sets, pinned."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from strategies import REFERENCE, make_nik, valid_form, years_before

from prakerja_cli.core.findings import Code, Finding, Severity
from prakerja_cli.core.rules import DEFAULT_RULES, RuleSet, load_rule_set, rule_set_names
from prakerja_cli.core.validate import (
    ExistingRecord,
    ValidationContext,
    check_duplicates,
    check_eligibility,
    validate_applicant,
)

PERMENAKER = "permenaker-17-2020"
NORMAL = "normal-2023"
BOTH = [PERMENAKER, NORMAL]

GROUPS = {
    "pejabat_negara",
    "dprd",
    "asn",
    "tni",
    "polri",
    "kepala_desa",
    "perangkat_desa",
    "bumn_bumd_board",
}


def ctx(rules: str | RuleSet, **kwargs: Any) -> ValidationContext:
    rule_set = load_rule_set(rules) if isinstance(rules, str) else rules
    return ValidationContext(rules=rule_set, today=REFERENCE, **kwargs)


def eligibility(rules: str | RuleSet, **values: Any) -> list[Finding]:
    return check_eligibility(values, ctx(rules))


def codes(findings: list[Finding]) -> list[Code]:
    return [f.code for f in findings]


def form_born(born: date, **overrides: Any) -> dict[str, Any]:
    """A valid form whose NIK and birth date agree on `born`."""
    return valid_form(
        nik=make_nik("327301", born, "P", 9001), birth_date=born.isoformat(), **overrides
    )


# --- the rule sets themselves -----------------------------------------------------------------


def test_both_rule_sets_ship_and_the_default_is_normal_2023() -> None:
    assert set(BOTH) <= set(rule_set_names())
    assert DEFAULT_RULES == NORMAL
    for name in rule_set_names():
        assert load_rule_set(name).name == name


@pytest.mark.parametrize("name", ["normal-2024", "", "../rulesets/normal-2023", "NORMAL-2023"])
def test_unknown_rule_set_is_a_key_error(name: str) -> None:
    with pytest.raises(KeyError):
        load_rule_set(name)


def test_permenaker_17_2020_values() -> None:
    rules = load_rule_set(PERMENAKER)
    assert rules.min_age == 18
    assert rules.max_age is None
    assert rules.exclude_in_formal_education is True
    assert rules.max_per_kk == 2
    assert rules.social_assistance_lower_priority is True
    assert {g.id for g in rules.excluded_occupations} == GROUPS


def test_normal_2023_values() -> None:
    rules = load_rule_set(NORMAL)
    assert rules.min_age == 18
    assert rules.max_age == 64
    assert rules.exclude_in_formal_education is True
    assert rules.max_per_kk == 2
    assert rules.social_assistance_lower_priority is True
    assert {g.id for g in rules.excluded_occupations} == GROUPS


# --- age --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rules", BOTH)
def test_17_years_364_days_is_below_min_age(rules: str) -> None:
    born = date(2007, 6, 16)  # 18 tomorrow
    findings = eligibility(rules, birth_date=born)
    assert codes(findings) == [Code.AGE_BELOW_MIN]
    assert findings[0].severity is Severity.ERROR
    assert findings[0].field == "birth_date"
    assert findings[0].params == {"age": 17, "min": 18}


@pytest.mark.parametrize("rules", BOTH)
def test_exactly_18_on_the_registration_date_is_old_enough(rules: str) -> None:
    assert eligibility(rules, birth_date=years_before(REFERENCE, 18)) == []


@pytest.mark.parametrize("rules", BOTH)
def test_age_is_counted_on_the_registration_date(rules: str) -> None:
    born = date(2007, 6, 16)
    assert codes(check_eligibility({"birth_date": born}, ctx(rules))) == [Code.AGE_BELOW_MIN]
    later = ValidationContext(rules=load_rule_set(rules), today=date(2025, 6, 16))
    assert check_eligibility({"birth_date": born}, later) == []


@pytest.mark.parametrize("rules", BOTH)
def test_born_29_february_turns_18_on_1_march(rules: str) -> None:
    born = date(2004, 2, 29)
    on_28 = ValidationContext(rules=load_rule_set(rules), today=date(2022, 2, 28))
    on_1 = ValidationContext(rules=load_rule_set(rules), today=date(2022, 3, 1))
    assert codes(check_eligibility({"birth_date": born}, on_28)) == [Code.AGE_BELOW_MIN]
    assert check_eligibility({"birth_date": born}, on_1) == []


@pytest.mark.parametrize("rules", BOTH)
def test_a_child_is_below_min_age(rules: str) -> None:
    findings = eligibility(rules, birth_date=date(2015, 1, 1))
    assert findings[0].params == {"age": 10, "min": 18}


def test_normal_2023_rejects_65() -> None:
    findings = eligibility(NORMAL, birth_date=years_before(REFERENCE, 65))
    assert codes(findings) == [Code.AGE_ABOVE_MAX]
    assert findings[0].severity is Severity.ERROR
    assert findings[0].field == "birth_date"
    assert findings[0].params == {"age": 65, "max": 64}


@pytest.mark.parametrize(
    "born",
    [years_before(REFERENCE, 64), date(1960, 6, 16)],  # exactly 64; 64 years and 364 days
    ids=["64", "64y364d"],
)
def test_normal_2023_accepts_64(born: date) -> None:
    assert eligibility(NORMAL, birth_date=born) == []


@pytest.mark.parametrize("age", [64, 65, 80, 100])
def test_permenaker_17_2020_has_no_max_age(age: int) -> None:
    assert eligibility(PERMENAKER, birth_date=years_before(REFERENCE, age)) == []


def test_age_rules_through_validate_applicant() -> None:
    young = validate_applicant(form_born(date(2007, 6, 16)), ctx(NORMAL))
    assert codes(young.findings) == [Code.AGE_BELOW_MIN]
    assert young.status == "rejected"
    adult = validate_applicant(form_born(date(2007, 6, 15)), ctx(NORMAL))
    assert adult.findings == []
    old = form_born(date(1960, 6, 15))
    assert codes(validate_applicant(old, ctx(NORMAL)).findings) == [Code.AGE_ABOVE_MAX]
    assert validate_applicant(old, ctx(PERMENAKER)).status == "valid"


def test_no_birth_date_no_age_finding() -> None:
    assert eligibility(NORMAL, birth_date=None) == []


# --- formal education -------------------------------------------------------------------------


@pytest.mark.parametrize("rules", BOTH)
def test_in_school_is_not_eligible(rules: str) -> None:
    findings = eligibility(rules, in_school=True)
    assert codes(findings) == [Code.IN_FORMAL_EDUCATION]
    assert findings[0].severity is Severity.ERROR
    assert findings[0].field == "in_school"
    assert eligibility(rules, in_school=False) == []


@pytest.mark.parametrize("answer", ["ya", "Masih", "Y", True, 1])
def test_in_school_through_validate_applicant(answer: Any) -> None:
    result = validate_applicant(valid_form(in_school=answer), ctx(NORMAL))
    assert codes(result.findings) == [Code.IN_FORMAL_EDUCATION]
    assert result.values["in_school"] is True
    assert result.status == "rejected"


# --- excluded occupations ---------------------------------------------------------------------

EXCLUDED = [
    ("Pejabat negara", "pejabat_negara"),
    ("Menteri", "pejabat_negara"),
    ("Gubernur", "pejabat_negara"),
    ("Wakil Bupati", "pejabat_negara"),
    ("Walikota", "pejabat_negara"),
    ("Wali Kota Bandung", "pejabat_negara"),
    ("Hakim Agung", "pejabat_negara"),
    ("Anggota DPR RI", "dprd"),
    ("DPR-RI", "dprd"),
    ("Anggota DPRD Kota Bandung", "dprd"),
    ("anggota dprd", "dprd"),
    ("Anggota Dewan", "dprd"),
    ("Anggota legislatif", "dprd"),
    ("PNS", "asn"),
    ("pns", "asn"),
    ("ASN", "asn"),
    ("PPPK", "asn"),
    ("P3K", "asn"),
    ("Guru PNS", "asn"),
    ("Pegawai Negeri Sipil", "asn"),
    ("Aparatur Sipil Negara", "asn"),
    ("TNI", "tni"),
    ("TNI AD", "tni"),
    ("TNI-AL", "tni"),
    ("Prajurit TNI", "tni"),
    ("Tentara", "tni"),
    ("Angkatan Udara", "tni"),
    ("Polri", "polri"),
    ("Polisi", "polri"),
    ("Anggota Polri", "polri"),
    ("Kepolisian", "polri"),
    ("Kepala Desa", "kepala_desa"),
    ("Kades", "kepala_desa"),
    ("Keuchik", "kepala_desa"),
    ("Wali Nagari", "kepala_desa"),
    ("Perangkat Desa", "perangkat_desa"),
    ("Sekretaris Desa", "perangkat_desa"),
    ("Sekdes", "perangkat_desa"),
    ("Kaur Keuangan", "perangkat_desa"),
    ("Kepala Dusun", "perangkat_desa"),
    ("Kadus", "perangkat_desa"),
    ("Direktur BUMN", "bumn_bumd_board"),
    ("Direksi BUMD", "bumn_bumd_board"),
    ("Direktur Utama PDAM", "bumn_bumd_board"),
    ("Dirut BUMD", "bumn_bumd_board"),
    ("Komisaris PT Kereta Api (Persero)", "bumn_bumd_board"),
    ("Komisaris BUMN", "bumn_bumd_board"),
    ("Dewan Pengawas Perumda Air Minum", "bumn_bumd_board"),
    ("BUMD, direksi", "bumn_bumd_board"),
]


@pytest.mark.parametrize("rules", BOTH)
@pytest.mark.parametrize(("occupation", "group"), EXCLUDED)
def test_excluded_occupation_groups(rules: str, occupation: str, group: str) -> None:
    rule_set = load_rule_set(rules)
    found = rule_set.excluded_occupation(occupation)
    assert found is not None and found.id == group
    findings = eligibility(rules, occupation=occupation)
    assert codes(findings) == [Code.EXCLUDED_OCCUPATION]
    assert findings[0].severity is Severity.ERROR
    assert findings[0].field == "occupation"
    assert findings[0].params == {"group": found.label}


def test_every_group_has_an_example() -> None:
    assert {group for _, group in EXCLUDED} == GROUPS


@pytest.mark.parametrize("rules", BOTH)
@pytest.mark.parametrize(
    "occupation",
    [
        "Pensiunan PNS",
        "pensiunan pns",
        "Purnawirawan TNI",
        "Purn. Polri",
        "Mantan Kepala Desa",
        "Eks anggota DPRD",
        "Karyawan BUMN",
        "Karyawan BUMD",
        "Staf PT Kereta Api (Persero)",
        "Buruh pabrik",
        "Guru honorer",
        "Karyawan swasta",
        "Direktur CV Maju Jaya",
        "Komisaris PT Sinar Abadi",
        "Wiraswasta",
        "Pedagang",
        "Petani",
        "Nelayan",
        "Ibu rumah tangga",
        "Satpam",
        "Kasir",
        "Pengemudi ojek online",
        "",
        "-",
    ],
)
def test_not_excluded_occupations(rules: str, occupation: str) -> None:
    assert load_rule_set(rules).excluded_occupation(occupation) is None
    assert eligibility(rules, occupation=occupation) == []


def test_excluded_occupation_through_validate_applicant() -> None:
    result = validate_applicant(valid_form(occupation="Anggota DPRD"), ctx(NORMAL))
    assert codes(result.findings) == [Code.EXCLUDED_OCCUPATION]
    assert result.values["occupation"] == "ANGGOTA DPRD"
    assert result.status == "rejected"


# --- max per KK -------------------------------------------------------------------------------

NIK = make_nik("327301", date(1990, 8, 17), "P", 9001)
KK = "3273010101209001"


@pytest.mark.parametrize("rules", BOTH)
@pytest.mark.parametrize("members", [2, 3, 7])
def test_a_third_member_of_one_kk_is_a_warning(rules: str, members: int) -> None:
    findings = check_duplicates(NIK, KK, ctx(rules, kk_members=lambda kk: members))
    assert codes(findings) == [Code.KK_LIMIT_EXCEEDED]
    assert findings[0].severity is Severity.WARNING
    assert not findings[0].blocking
    assert findings[0].field == "kk"
    assert findings[0].params == {"count": members, "limit": 2}


@pytest.mark.parametrize("rules", BOTH)
@pytest.mark.parametrize("members", [0, 1])
def test_first_and_second_member_of_one_kk_are_fine(rules: str, members: int) -> None:
    assert check_duplicates(NIK, KK, ctx(rules, kk_members=lambda kk: members)) == []


@pytest.mark.parametrize("rules", BOTH)
def test_kk_limit_through_validate_applicant_is_stored_flagged(rules: str) -> None:
    asked: list[str] = []

    def kk_members(kk: str) -> int:
        asked.append(kk)
        return 2

    result = validate_applicant(
        valid_form(kk="3273 0101 0120 9001"), ctx(rules, kk_members=kk_members)
    )
    assert codes(result.findings) == [Code.KK_LIMIT_EXCEEDED]
    assert not result.rejected
    assert result.status == "flagged"
    assert asked == [KK]  # asked with the cleaned number


# --- social assistance ------------------------------------------------------------------------


@pytest.mark.parametrize("rules", BOTH)
def test_social_assistance_is_low_priority_not_excluded(rules: str) -> None:
    findings = eligibility(rules, social_assistance=True)
    assert codes(findings) == [Code.SOCIAL_ASSISTANCE_LOW_PRIORITY]
    assert findings[0].severity is Severity.INFO
    assert not findings[0].blocking
    assert findings[0].field == "social_assistance"
    assert eligibility(rules, social_assistance=False) == []


@pytest.mark.parametrize("rules", BOTH)
def test_social_assistance_through_validate_applicant(rules: str) -> None:
    result = validate_applicant(valid_form(social_assistance="ya"), ctx(rules))
    assert codes(result.findings) == [Code.SOCIAL_ASSISTANCE_LOW_PRIORITY]
    assert result.priority == "low"
    assert not result.rejected
    assert result.status == "valid"  # a note, not a warning
    normal = validate_applicant(valid_form(), ctx(rules))
    assert normal.priority == "normal"


# --- the rules are data, not code paths -------------------------------------------------------


def test_a_rule_set_without_those_rules_checks_nothing() -> None:
    lax = dataclasses.replace(
        load_rule_set(NORMAL),
        min_age=0,
        max_age=None,
        exclude_in_formal_education=False,
        max_per_kk=None,
        social_assistance_lower_priority=False,
        occupation_exempt=None,
        excluded_occupations=(),
    )
    values = {
        "birth_date": date(1920, 1, 1),
        "in_school": True,
        "occupation": "PNS",
        "social_assistance": True,
    }
    assert check_eligibility(values, ctx(lax)) == []
    assert check_duplicates(NIK, KK, ctx(lax, kk_members=lambda kk: 99)) == []


def test_a_different_min_age_is_honoured() -> None:
    strict = dataclasses.replace(load_rule_set(NORMAL), min_age=21)
    findings = check_eligibility({"birth_date": years_before(REFERENCE, 20)}, ctx(strict))
    assert [(f.code, f.params) for f in findings] == [(Code.AGE_BELOW_MIN, {"age": 20, "min": 21})]


def test_duplicate_nik_and_kk_limit_together() -> None:
    record = ExistingRecord("a1", "3273-D01-000001", "SITI AMINAH", "2025-06-01T09:30:00+07:00")
    findings = check_duplicates(
        NIK, KK, ctx(NORMAL, find_live_nik=lambda nik: record, kk_members=lambda kk: 2)
    )
    assert codes(findings) == [Code.NIK_DUPLICATE, Code.KK_LIMIT_EXCEEDED]


@pytest.mark.parametrize("rules_name", ["normal-2023", "permenaker-17-2020"])
@pytest.mark.parametrize(
    "occupation", ["Istri PNS", "Anak anggota TNI", "Staf sekretariat DPRD", "Tenaga honorer"]
)
def test_relatives_and_staff_of_excluded_groups_are_not_excluded(
    rules_name: str, occupation: str
) -> None:
    assert load_rule_set(rules_name).excluded_occupation(occupation) is None
