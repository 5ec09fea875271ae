"""The whole-record validation (prakerja_cli.core.validate) and the finding catalogue."""

from __future__ import annotations

import re
import string
from datetime import date
from typing import Any

import pytest
from strategies import REFERENCE, make_kk, make_nik, valid_form

from prakerja_cli.core.findings import Code, Finding, Severity
from prakerja_cli.core.nik import NikInfo
from prakerja_cli.core.places import Places
from prakerja_cli.core.rules import load_rule_set
from prakerja_cli.core.similar import Candidate
from prakerja_cli.core.validate import (
    FIELDS,
    ExistingRecord,
    Validated,
    ValidationContext,
    check_field,
    check_nik_against_form,
    validate_answered,
    validate_applicant,
)
from prakerja_cli.i18n.en import MESSAGES as EN
from prakerja_cli.i18n.id import MESSAGES as ID

REGIONS = {"32": "JAWA BARAT", "3273": "KOTA BANDUNG", "327301": "SUKASARI"}
BORN = date(1990, 8, 17)
NIK = make_nik("327301", BORN, "P", 9001)
PLACES = Places.of("KOTA BANDUNG", [
    ("327301", 3, "Sukasari"), ("327302", 3, "Coblong"), ("3273011002", 4, "Gegerkalong"),
    ("3273011004", 4, "Sarijadi"), ("3273021001", 4, "Lebakgede"), ("3273021006", 4, "Dago"),
])  # fmt: skip
RECORD = ExistingRecord("a1", "3273-D01-000001", "SITI AMINAH", "2025-06-01T09:30:00+07:00")


def ctx(rules: str = "normal-2023", **kwargs: Any) -> ValidationContext:
    return ValidationContext(rules=load_rule_set(rules), today=REFERENCE, **kwargs)


def validate(form: dict[str, Any], **kwargs: Any) -> Validated:
    numeric_cells = kwargs.pop("numeric_cells", frozenset())
    return validate_applicant(form, ctx(**kwargs), numeric_cells=numeric_cells)


def codes(findings: list[Finding]) -> list[Code]:
    return [f.code for f in findings]


# --- a complete, valid form -------------------------------------------------------------------


def test_complete_valid_form_is_valid_and_normalised() -> None:
    result = validate(valid_form(), regions=REGIONS.get)
    assert result.findings == []
    assert result.status == "valid"
    assert not result.rejected
    assert result.priority == "normal"
    assert result.values == {
        "nik": NIK,
        "kk": make_kk(),
        "name": "SITI AMINAH",
        "birth_place": "BANDUNG",
        "birth_date": BORN,
        "gender": "P",
        "phone": "+6281234567890",
        "email": "siti.aminah@contoh.id",
        "address": "JL. SETIABUDI NO. 12",
        "rt": "003",
        "rw": "007",
        "village": "GEGERKALONG",
        "district": "SUKASARI",
        "education": "SMA",
        "employment": "KORBAN_PHK",
        "occupation": "BURUH PABRIK",
        "in_school": False,
        "social_assistance": False,
        "training": "DESAIN GRAFIS",
    }
    assert list(result.values) == list(FIELDS)
    assert result.nik_info is not None
    assert result.nik_info.birth_date == BORN
    assert result.nik_info.gender == "P"


def test_valid_form_under_both_rule_sets() -> None:
    for rules in ("permenaker-17-2020", "normal-2023"):
        assert validate(valid_form(), rules=rules).status == "valid"


def test_spreadsheet_shaped_values_are_accepted() -> None:
    form = valid_form(
        nik="'3273 0157 0890 9001",
        kk=int(make_kk()),
        birth_date=33102,  # Excel serial of 1990-08-17
        gender="P",
        phone="81234567890.0",
        rt=3,
        in_school=0,
        social_assistance=False,
    )
    result = validate(form, numeric_cells=frozenset({"kk", "phone", "rt", "birth_date"}))
    assert result.findings == []
    assert result.values["nik"] == NIK
    assert result.values["birth_date"] == BORN
    assert result.values["phone"] == "+6281234567890"
    assert result.values["rt"] == "003"


@pytest.mark.parametrize("empty", ["absent", "-", "\u2013", "--", "tidak ada", "N/A", "Nihil"])
@pytest.mark.parametrize("name", [n for n, required in FIELDS.items() if not required])
def test_optional_fields_may_be_missing(name: str, empty: str) -> None:
    form = valid_form()
    if empty == "absent" or name == "social_assistance":
        del form[name]
    else:
        form[name] = empty  # what offices write in a cell they mean to leave empty
    result = validate(form)
    assert result.findings == []
    assert result.values[name] == (False if name == "social_assistance" else None)


# --- NIK against the form ---------------------------------------------------------------------


def test_birth_date_differing_from_the_nik_is_a_warning_and_stored() -> None:
    result = validate(valid_form(birth_date="12-08-1990"))
    assert codes(result.findings) == [Code.NIK_BIRTHDATE_MISMATCH]
    finding = result.findings[0]
    assert finding.severity is Severity.WARNING
    assert finding.field == "birth_date"
    assert finding.params == {"nik_date": "1990-08-17", "form_date": "1990-08-12"}
    assert result.status == "flagged"
    assert not result.rejected
    assert result.values["birth_date"] == date(1990, 8, 12)  # the form's date is kept


def test_gender_differing_from_the_nik_is_a_warning() -> None:
    result = validate(valid_form(gender="Laki-laki"))
    assert codes(result.findings) == [Code.NIK_GENDER_MISMATCH]
    finding = result.findings[0]
    assert finding.severity is Severity.WARNING
    assert finding.field == "gender"
    assert finding.params == {"nik_gender": "P", "form_gender": "L"}
    assert result.status == "flagged"


def test_both_mismatches_are_reported() -> None:
    man = make_nik("327301", date(1985, 3, 2), "L", 9002)
    result = validate(valid_form(nik=man))  # the form says a woman born 17-08-1990
    assert codes(result.findings) == [Code.NIK_BIRTHDATE_MISMATCH, Code.NIK_GENDER_MISMATCH]
    assert result.status == "flagged"


def test_nothing_to_compare_gives_no_mismatch() -> None:
    info = NikInfo(NIK)  # too broken to decode: no birth date, no gender
    assert check_nik_against_form(info, {"birth_date": BORN, "gender": "L"}) == []
    decoded = NikInfo(NIK, birth_date=BORN, gender="P")
    assert check_nik_against_form(decoded, {"birth_date": None, "gender": None}) == []


def test_unknown_region_is_flagged_not_rejected() -> None:
    result = validate(valid_form(nik="327399" + NIK[6:]), regions=REGIONS.get)
    assert codes(result.findings) == [Code.NIK_REGION_UNKNOWN]
    assert result.status == "flagged"


# --- duplicates -------------------------------------------------------------------------------


def test_nik_already_registered_is_an_error() -> None:
    asked: list[str] = []

    def find_live_nik(nik: str) -> ExistingRecord | None:
        asked.append(nik)
        return RECORD

    result = validate(valid_form(nik="3273.0157.0890.9001"), find_live_nik=find_live_nik)
    assert codes(result.findings) == [Code.NIK_DUPLICATE]
    finding = result.findings[0]
    assert finding.severity is Severity.ERROR
    assert finding.field == "nik"
    assert finding.params == {
        "registration_number": "3273-D01-000001",
        "registered_on": "2025-06-01",
    }
    assert result.status == "rejected"
    assert asked == [NIK]  # looked up by the cleaned NIK


def test_a_duplicate_with_other_content_names_the_fields_that_differ() -> None:
    import dataclasses

    from prakerja_cli.store.applicants import record_values

    first = validate(valid_form())
    stored = record_values(first)  # as the store holds it: ISO date, 0/1 for yes/no
    same = dataclasses.replace(RECORD, values=stored)
    again = validate(valid_form(), find_live_nik=lambda nik: same)
    assert again.findings[0].params == {
        "registration_number": "3273-D01-000001",
        "registered_on": "2025-06-01",
    }  # identical content: nothing to name
    other = validate(
        valid_form(phone="0813-1111-2222", email="lain@contoh.id"), find_live_nik=lambda nik: same
    )
    finding = other.findings[0]
    assert finding.code is Code.NIK_DUPLICATE
    assert finding.params["fields"] == ["phone", "email"]
    assert finding.message("id") == (
        "NIK: NIK ini sudah terdaftar (3273-D01-000001, 01-06-2025) dengan isi yang berbeda pada: "
        "Nomor HP, Email. Periksa pendaftaran itu; jangan daftarkan dua kali."
    )
    assert "with different content in: Mobile number, Email." in finding.message("en")
    assert NIK not in finding.message("id") and "0813" not in finding.message("id")


def test_a_nik_not_yet_registered_passes() -> None:
    assert validate(valid_form(), find_live_nik=lambda nik: None).status == "valid"


def test_an_unreadable_nik_is_not_looked_up() -> None:
    def find_live_nik(nik: str) -> ExistingRecord | None:
        raise AssertionError("looked up " + nik)

    result = validate(valid_form(nik="3.27301E+15"), find_live_nik=find_live_nik)
    assert codes(result.findings) == [Code.NIK_PRECISION_LOST]
    assert result.values["nik"] is None


def test_an_invalid_but_readable_nik_is_still_looked_up() -> None:
    # Serial 0000 is an error, but a record with that NIK may exist (entered before the check).
    result = validate(valid_form(nik=NIK[:12] + "0000"), find_live_nik=lambda nik: RECORD)
    assert codes(result.findings) == [Code.NIK_SERIAL_INVALID, Code.NIK_DUPLICATE]


# --- required fields --------------------------------------------------------------------------

REQUIRED = [name for name, required in FIELDS.items() if required]


def test_required_fields_are_the_form_s() -> None:
    assert set(REQUIRED) == {
        "nik",
        "kk",
        "name",
        "birth_date",
        "gender",
        "phone",
        "address",
        "village",
        "district",
        "education",
        "employment",
        "in_school",
    }


@pytest.mark.parametrize("empty", [None, "", "   ", "\u00a0", "absent", "-", " Tidak  Ada "])
@pytest.mark.parametrize("name", REQUIRED)
def test_each_required_field_missing_is_required_missing(name: str, empty: Any) -> None:
    form = valid_form()
    if name == "in_school" and empty in ("-", " Tidak  Ada "):
        empty = None  # a yes/no field reads "-" as "tidak" (test_fields)
    if empty == "absent":
        del form[name]
    else:
        form[name] = empty
    result = validate(form)
    missing = [f for f in result.findings if f.code is Code.REQUIRED_MISSING]
    assert [(f.field, f.severity) for f in missing] == [(name, Severity.ERROR)]
    assert result.status == "rejected"
    assert result.values[name] is None


def test_an_empty_form_reports_every_required_field() -> None:
    result = validate({})
    assert [(f.code, f.field) for f in result.findings] == [
        (Code.REQUIRED_MISSING, name) for name in REQUIRED
    ]
    assert result.nik_info is None


# --- Excel damage -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [NIK[:15] + "0", int(NIK[:15] + "0"), float(NIK[:15] + "0")],
    ids=["text", "int", "float"],
)
def test_numeric_nik_cell_ending_in_0_has_lost_precision(value: Any) -> None:
    result = validate(valid_form(nik=value), numeric_cells=frozenset({"nik"}))
    assert codes(result.findings) == [Code.NIK_PRECISION_LOST]
    assert result.findings[0].field == "nik"
    assert result.status == "rejected"


@pytest.mark.parametrize("value", [NIK, int(NIK), float(NIK)], ids=["text", "int", "float"])
def test_numeric_nik_cell_ending_in_non_zero_is_accepted(value: Any) -> None:
    result = validate(valid_form(nik=value), numeric_cells=frozenset({"nik"}))
    assert result.findings == []
    assert result.values["nik"] == NIK


def test_a_text_nik_ending_in_0_is_fine() -> None:
    nik = NIK[:12] + "0010"
    assert validate(valid_form(nik=nik)).values["nik"] == nik


def test_numeric_kk_cell_ending_in_0_has_lost_precision() -> None:
    kk = make_kk()[:15] + "0"
    result = validate(valid_form(kk=int(kk)), numeric_cells=frozenset({"kk"}))
    assert [(f.code, f.field) for f in result.findings] == [(Code.NIK_PRECISION_LOST, "kk")]
    assert validate(valid_form(kk=kk)).findings == []


# --- check_field ------------------------------------------------------------------------------


def test_check_field_unknown_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        check_field("nama", "Siti", ctx())


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("rt", "3", "003"),
        ("rt", 3.0, "003"),  # a number cell read as float
        ("phone", 81234567890.0, "+6281234567890"),
        ("kk", float(make_kk()), make_kk()),
        ("rt", " 12 ", "012"),
        ("rw", "007", "007"),
        ("rt", "RT 03", "003"),
        ("rt", "000", "000"),  # no RT where the KTP says 000/000
        ("rw", "RW.7", "007"),
        ("rt", "0\u200b3", "003"),  # a zero-width space pasted in
        ("village", " gegerkalong\u00a0 hilir ", "GEGERKALONG HILIR"),
        ("birth_place", "bandung", "BANDUNG"),
        ("social_assistance", None, False),
        ("social_assistance", "", False),
        ("in_school", "tidak", False),
        ("in_school", "ya", True),
    ],
)
def test_check_field_normalises_one_field(name: str, raw: Any, value: Any) -> None:
    assert check_field(name, raw, ctx()) == (value, [])


@pytest.mark.parametrize("raw", ["1234", "3a", "-7", "1.5", 1.5, 1e308, "1E-300", "RT", "3/7"])
def test_rt_and_rw_are_numbers_of_one_to_three_digits(raw: Any) -> None:
    for name in ("rt", "rw"):
        value, found = check_field(name, raw, ctx())
        assert value is None
        assert [(x.code, x.field) for x in found] == [(Code.RT_RW_INVALID, name)]
        assert len(found[0].message()) < 200  # a 309-digit number is not quoted whole


@pytest.mark.parametrize(
    "invisible", ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060", "\u200e"]
)
def test_invisible_format_characters_are_dropped_from_every_field(invisible: str) -> None:
    nik = make_nik("327301", date(1990, 8, 17), "P", 9941)
    value, found = check_field("nik", nik[:4] + invisible + nik[4:], ctx())
    assert (value.nik, found) == (nik, [])
    kk = make_kk()
    assert check_field("kk", invisible + kk, ctx()) == (kk, [])
    assert check_field("phone", "0812" + invisible + "34567890", ctx()) == ("+6281234567890", [])
    assert check_field("name", "Siti" + invisible + " Aminah", ctx()) == ("SITI AMINAH", [])


@pytest.mark.parametrize(("name", "longest"), [("name", 100), ("address", 200), ("training", 150)])
def test_free_text_has_a_maximum_length_named_in_the_finding(name: str, longest: int) -> None:
    assert check_field(name, "A" * longest, ctx())[1] == []
    value, found = check_field(name, "A" * 1_000_000, ctx())
    assert value is None
    assert [(x.code, x.field, x.params["max"]) for x in found] == [
        (Code.TEXT_TOO_LONG, name, longest)
    ]


def test_check_field_nik_returns_the_decoding() -> None:
    info, findings = check_field("nik", NIK, ctx())
    assert isinstance(info, NikInfo)
    assert info.birth_date == BORN
    assert findings == []


# --- every code is produced ---------------------------------------------------------------------

#: For each code: (form overrides, context keyword arguments, numeric cells).
TRIGGERS: dict[Code, tuple[dict[str, Any], dict[str, Any], frozenset[str]]] = {
    Code.NIK_FORMAT: ({"nik": NIK[:15]}, {}, frozenset()),
    Code.NIK_PROVINCE_UNKNOWN: ({"nik": "99" + NIK[2:]}, {}, frozenset()),
    Code.NIK_REGION_UNKNOWN: ({"nik": "327399" + NIK[6:]}, {"regions": REGIONS.get}, frozenset()),
    Code.NIK_BIRTHDATE_INVALID: ({"nik": NIK[:6] + "710490" + NIK[12:]}, {}, frozenset()),
    Code.NIK_SERIAL_INVALID: ({"nik": NIK[:12] + "0000"}, {}, frozenset()),
    Code.NIK_PRECISION_LOST: ({"nik": NIK[:15] + "0"}, {}, frozenset({"nik"})),
    Code.NIK_MASKED: ({"nik": NIK[:4] + "**********" + NIK[-2:]}, {}, frozenset()),
    Code.NIK_BIRTHDATE_MISMATCH: ({"birth_date": "18/08/1990"}, {}, frozenset()),
    Code.NIK_GENDER_MISMATCH: ({"gender": "L"}, {}, frozenset()),
    Code.NIK_DUPLICATE: ({}, {"find_live_nik": lambda nik: RECORD}, frozenset()),
    Code.KK_FORMAT: ({"kk": "12345"}, {}, frozenset()),
    Code.RT_RW_INVALID: ({"rt": "1.5"}, {}, frozenset()),
    Code.TEXT_TOO_LONG: ({"address": "JL. " * 100}, {}, frozenset()),
    Code.KK_LIMIT_EXCEEDED: ({}, {"kk_members": lambda kk: 2}, frozenset()),
    # Another member of the form's KK, born the same day, named alike, under another NIK.
    Code.POSSIBLE_DUPLICATE: (
        {},
        {
            "similar_records": lambda born, district, kk: [
                Candidate(
                    make_nik("327301", date(1990, 8, 17), "P", 9002),
                    "SITI AMINAH",
                    born,
                    "Cidadap",
                    kk,
                    registration_number="3273-D01-000001",
                )
            ]
        },
        frozenset(),
    ),
    Code.AGE_BELOW_MIN: (
        {"nik": make_nik("327301", date(2010, 1, 5), "P", 9003), "birth_date": "05-01-2010"},
        {},
        frozenset(),
    ),
    Code.AGE_ABOVE_MAX: (
        {"nik": make_nik("327301", date(1950, 1, 5), "P", 9004), "birth_date": "5 Jan 1950"},
        {},
        frozenset(),
    ),
    Code.IN_FORMAL_EDUCATION: ({"in_school": "ya"}, {}, frozenset()),
    Code.EXCLUDED_OCCUPATION: ({"occupation": "PNS"}, {}, frozenset()),
    Code.OCCUPATION_STUDENT: ({"occupation": "Pelajar/Mahasiswa"}, {}, frozenset()),
    Code.SOCIAL_ASSISTANCE_LOW_PRIORITY: ({"social_assistance": "ya"}, {}, frozenset()),
    Code.NAME_INVALID: ({"name": "Siti 2"}, {}, frozenset()),
    Code.BIRTHDATE_INVALID: ({"birth_date": "31/04/1990"}, {}, frozenset()),
    Code.GENDER_INVALID: ({"gender": "X"}, {}, frozenset()),
    Code.PHONE_INVALID: ({"phone": "022-2501234"}, {}, frozenset()),
    Code.EMAIL_INVALID: ({"email": "siti@"}, {}, frozenset()),
    Code.EMAIL_DOMAIN_SUSPECT: ({"email": "siti@gmial.com"}, {}, frozenset()),
    Code.CHOICE_INVALID: ({"education": "Kursus"}, {}, frozenset()),
    Code.REQUIRED_MISSING: ({"name": ""}, {}, frozenset()),
    Code.DISTRICT_UNKNOWN: ({"district": "Sukasri"}, {"places": PLACES}, frozenset()),
    Code.VILLAGE_UNKNOWN: ({"village": "Dago"}, {"places": PLACES}, frozenset()),
}

SEVERITY = {
    Code.NIK_REGION_UNKNOWN: Severity.WARNING,
    Code.NIK_BIRTHDATE_MISMATCH: Severity.WARNING,
    Code.NIK_GENDER_MISMATCH: Severity.WARNING,
    Code.KK_LIMIT_EXCEEDED: Severity.WARNING,
    Code.POSSIBLE_DUPLICATE: Severity.WARNING,
    Code.OCCUPATION_STUDENT: Severity.WARNING,
    Code.DISTRICT_UNKNOWN: Severity.WARNING,
    Code.VILLAGE_UNKNOWN: Severity.WARNING,
    Code.EMAIL_DOMAIN_SUSPECT: Severity.WARNING,
    Code.SOCIAL_ASSISTANCE_LOW_PRIORITY: Severity.INFO,
}

STATUS = {Severity.ERROR: "rejected", Severity.WARNING: "flagged", Severity.INFO: "valid"}


#: Codes only the roster import produces; tests/test_roster_import.py triggers them.
IMPORT_ONLY = {Code.NIK_DUPLICATE_IN_FILE, Code.ROW_NOT_APPLICANT, Code.REPORT_NIK_CHANGED}


def test_every_code_has_a_trigger() -> None:
    assert set(TRIGGERS) | IMPORT_ONLY == set(Code)


@pytest.mark.parametrize("code", list(TRIGGERS), ids=str)
def test_each_code_is_produced_alone(code: Code) -> None:
    overrides, kwargs, numeric_cells = TRIGGERS[code]
    result = validate(valid_form(**overrides), numeric_cells=numeric_cells, **kwargs)
    # BIRTHDATE_INVALID leaves no form date to compare with the NIK, so it comes alone too.
    assert codes(result.findings) == [code]
    severity = SEVERITY.get(code, Severity.ERROR)
    assert result.findings[0].severity is severity
    assert result.status == STATUS[severity]


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("code", list(TRIGGERS), ids=str)
def test_each_finding_has_a_complete_message(code: Code, lang: str) -> None:
    overrides, kwargs, numeric_cells = TRIGGERS[code]
    result = validate(valid_form(**overrides), numeric_cells=numeric_cells, **kwargs)
    for finding in result.findings:
        message = finding.message(lang)
        assert message.strip()
        assert not re.search(r"\{\w*\}", message), message  # every placeholder filled
        assert finding.to_dict(lang)["code"] == str(code)
        assert Finding.from_stored(finding.to_stored()) == finding


# --- a form answered field by field (the desk form) ------------------------------------------

#: The field after which the desk form knows each code (TRIGGERS): its own field, or the last
#: field a rule between fields needs. The age is known from the NIK's birth digits.
DECIDED_AT: dict[Code, str] = {
    **{code: "nik" for code in TRIGGERS if code.startswith("NIK_")},
    Code.NIK_BIRTHDATE_MISMATCH: "birth_date",
    Code.NIK_GENDER_MISMATCH: "gender",
    Code.KK_FORMAT: "kk",
    Code.KK_LIMIT_EXCEEDED: "kk",
    Code.AGE_BELOW_MIN: "nik",
    Code.AGE_ABOVE_MAX: "nik",
    Code.IN_FORMAL_EDUCATION: "in_school",
    Code.EXCLUDED_OCCUPATION: "occupation",
    Code.OCCUPATION_STUDENT: "in_school",  # a student's occupation, once "not in school" is said
    Code.SOCIAL_ASSISTANCE_LOW_PRIORITY: "social_assistance",
    Code.NAME_INVALID: "name",
    Code.BIRTHDATE_INVALID: "birth_date",
    Code.GENDER_INVALID: "gender",
    Code.PHONE_INVALID: "phone",
    Code.EMAIL_INVALID: "email",
    Code.EMAIL_DOMAIN_SUSPECT: "email",
    Code.CHOICE_INVALID: "education",
    Code.REQUIRED_MISSING: "name",
    Code.DISTRICT_UNKNOWN: "district",
    Code.VILLAGE_UNKNOWN: "district",  # the desa is asked first; its kecamatan decides
    Code.RT_RW_INVALID: "rt",
    Code.TEXT_TOO_LONG: "address",
    Code.POSSIBLE_DUPLICATE: "birth_date",  # the name, then the birth date that blocks
}


@pytest.mark.parametrize("code", [c for c in TRIGGERS if not TRIGGERS[c][2]], ids=str)
def test_a_form_answered_field_by_field_knows_each_finding_at_its_field(code: Code) -> None:
    overrides, kwargs, _ = TRIGGERS[code]
    form = valid_form(**overrides)
    context = ctx(**kwargs)
    whole = validate_applicant(form, context).findings
    names = list(FIELDS)
    first_seen = None
    for end in range(len(names) + 1):
        so_far = validate_answered({n: form[n] for n in names[:end]}, context).findings
        # Nothing is refused or warned that the whole form would not be (no "missing" yet).
        assert set(codes(so_far)) <= set(codes(whole)), names[:end]
        if first_seen is None and code in codes(so_far):
            first_seen = names[end - 1]
    assert first_seen == DECIDED_AT[code]
    assert validate_answered(form, context).findings == whole


def test_nothing_answered_decides_nothing() -> None:
    assert validate_answered({}, ctx()).findings == []


@pytest.mark.parametrize(
    ("born", "code", "limit"),
    [(date(2010, 1, 5), Code.AGE_BELOW_MIN, "min"), (date(1950, 1, 5), Code.AGE_ABOVE_MAX, "max")],
)
def test_the_age_the_nik_shows_is_judged_until_the_birth_date_is_answered(
    born: date, code: Code, limit: str
) -> None:
    nik = make_nik("327301", born, "P", 9003)
    at_nik = validate_answered({"nik": nik}, ctx()).findings
    # A warning at the NIK (Dukcapil may have corrected the birth date since the NIK was issued).
    assert [(f.code, f.field, f.severity) for f in at_nik] == [(code, "nik", Severity.WARNING)]
    assert f"NIK ({born:%d-%m-%Y})" in at_nik[0].message("id")
    assert f"NIK's birth date ({born:%d-%m-%Y})" in at_nik[0].message("en")
    assert limit in at_nik[0].params
    # The form's birth date decides once answered: a date Dukcapil corrected is eligible, and
    # only differs from the NIK (a warning).
    form = valid_form(nik=nik)
    answered = {n: form[n] for n in ("nik", "kk", "name", "birth_place", "birth_date")}
    assert codes(validate_answered(answered, ctx()).findings) == [Code.NIK_BIRTHDATE_MISMATCH]


def test_a_duplicate_known_at_the_nik_names_no_field_not_yet_asked() -> None:
    import dataclasses

    from prakerja_cli.store.applicants import record_values

    stored = record_values(validate(valid_form(phone="0813-1111-2222")))
    known = dataclasses.replace(RECORD, values=stored)
    context = ctx(find_live_nik=lambda nik: known)
    at_nik = validate_answered({"nik": NIK}, context).findings
    assert [(f.code, f.params.get("fields")) for f in at_nik] == [(Code.NIK_DUPLICATE, None)]
    whole = validate_applicant(valid_form(), context).findings
    assert [f.params.get("fields") for f in whole] == [["phone"]]


# --- message catalogues -----------------------------------------------------------------------


@pytest.mark.parametrize("catalogue", [ID, EN], ids=["id", "en"])
def test_every_code_has_a_message(catalogue: dict[str, str]) -> None:
    missing = [code for code in Code if f"finding.{code}" not in catalogue]
    assert missing == []
    for code in Code:
        assert catalogue[f"finding.{code}"].strip()


def test_catalogues_have_the_same_keys() -> None:
    assert set(ID) ^ set(EN) == set()


def test_catalogues_use_the_same_placeholders() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    differ = {
        key: (fields(ID[key]), fields(EN[key]))
        for key in ID
        if key in EN and fields(ID[key]) != fields(EN[key])
    }
    assert differ == {}


@pytest.mark.parametrize(
    ("occupation", "in_school", "expected"),
    [
        ("mahasiswa", "tidak", [Code.OCCUPATION_STUDENT]),
        ("Siswi SMK", "tidak", [Code.OCCUPATION_STUDENT]),
        ("Mahasiswa", "ya", [Code.IN_FORMAL_EDUCATION]),  # refused already; no second finding
        ("Guru sekolah", "tidak", []),
        ("Pensiunan", "tidak", []),
    ],
)
def test_a_student_occupation_with_not_in_school_is_a_warning(
    occupation: str, in_school: str, expected: list[Code]
) -> None:
    result = validate(valid_form(occupation=occupation, in_school=in_school))
    assert codes(result.findings) == expected


@pytest.mark.parametrize(
    ("district", "village", "expected"),
    [
        ("Sukasari", "Gegerkalong", []),
        ("KEC. SUKA SARI", "Kel. Geger-Kalong", []),  # case, spaces, punctuation, prefixes
        ("Coblong", "Lebak Gede", []),
        ("Sukasri", "Gegerkalong", [(Code.DISTRICT_UNKNOWN, "Sukasari")]),
        ("Tasikmalaya", "Cipedes", [(Code.DISTRICT_UNKNOWN, None)]),  # another regency
        ("Sukasari", "Gegerkalng", [(Code.VILLAGE_UNKNOWN, "Gegerkalong")]),
        ("Sukasari", "Dago", [(Code.VILLAGE_UNKNOWN, None)]),  # Dago is Coblong's
    ],
)
def test_kecamatan_and_desa_are_checked_against_the_region_list(
    district: str, village: str, expected: list[tuple[Code, str | None]]
) -> None:
    result = validate(valid_form(district=district, village=village), places=PLACES)
    assert [(f.code, f.params["suggestion"]) for f in result.findings] == expected
    assert result.status == ("flagged" if expected else "valid")
    for finding in result.findings:  # no "Nama terdekat: -." when nothing is near
        assert ": -." not in finding.message("id") and ": None" not in finding.message("en")
        if finding.params["suggestion"] is None:
            assert "tidak ada nama yang mirip" in finding.message("id")
    # The same answer again comes from the memo, as a new list each time.
    again = validate(valid_form(district=district, village=village), places=PLACES)
    assert again.findings == result.findings and again.findings is not result.findings


def test_a_regency_with_no_kecamatan_in_the_list_checks_nothing() -> None:
    assert Places.of("KOTA BANDUNG", [("3273", 2, "Kota Bandung")]).check("Sukasri", "X") == []
