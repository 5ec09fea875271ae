"""The one validation core: every entry path (desk form, options, roster rows, edits) uses it.

Pure: what it needs from the store (regions, existing NIKs, KK counts) comes in as lookups.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prakerja_cli.core import fields as f
from prakerja_cli.core.findings import Code, Finding, Severity, error, has_errors, info, warning
from prakerja_cli.core.nik import NikInfo, RegionLookup, age_on, parse_kk, parse_nik
from prakerja_cli.core.places import Places
from prakerja_cli.core.rules import RuleSet
from prakerja_cli.core.similar import Candidate, key_of, possible_duplicate


@dataclass(frozen=True, slots=True)
class ExistingRecord:
    """A live registration already holding a NIK, shown to the clerk on a duplicate."""

    id: str
    registration_number: str
    name: str
    created_at: str
    #: Set when `prakerja purge` removed the record's personal fields (name is then empty).
    purged_at: str | None = None
    #: Its stored form values (FIELDS), to name the fields a new form differs in; None for a
    #: purged record, which has none left.
    values: dict[str, Any] | None = field(default=None, compare=False, repr=False)


def _no_record(nik: str) -> ExistingRecord | None:
    return None


def _no_members(kk: str) -> int:
    return 0


@dataclass(slots=True)
class ValidationContext:
    rules: RuleSet
    today: date
    regions: RegionLookup | None = None
    #: The office regency's kecamatan and desa, to check the address's names against.
    places: Places | None = None
    #: The live record holding a NIK, other than the one being edited (a purged one too).
    find_live_nik: Callable[[str], ExistingRecord | None] = _no_record
    #: How many live records (other than the one being edited) share a KK number.
    kk_members: Callable[[str], int] = _no_members
    #: Live records (other than the one being edited) born on a day (ISO) in a kecamatan or with
    #: a KK: the candidates core.similar compares names with. A roster import leaves it None
    #: and compares in bulk (roster/importer.py).
    similar_records: Callable[[str, str | None, str | None], list[Candidate]] | None = None
    #: Results of the checks that depend on the cell's value alone (BY_VALUE), per field and
    #: value, kept for the life of this context: a roster import gives each context a dict of its
    #: own ({}), and a 100k-row file's few hundred distinct genders, schools and villages are
    #: then checked once each. None: every value is checked afresh (the desk form).
    memo: dict[str, dict[tuple[type, Any], tuple[Any, tuple[Finding, ...]]]] | None = None


#: Form fields in the order the desk form asks them; True = required.
FIELDS: dict[str, bool] = {
    "nik": True,
    "kk": True,
    "name": True,
    "birth_place": False,
    "birth_date": True,
    "gender": True,
    "phone": True,
    "email": False,
    "address": True,
    "rt": False,
    "rw": False,
    "village": True,
    "district": True,
    "education": True,
    "employment": True,
    "occupation": False,
    "in_school": True,
    "social_assistance": False,
    "training": False,
}
#: Every field: a whole form, as a roster row or a finished desk form answers it.
_ALL_FIELDS = frozenset(FIELDS)


@dataclass(slots=True)
class Validated:
    """The normalised record and everything validation found about it."""

    values: dict[str, Any]
    findings: list[Finding]
    nik_info: NikInfo | None = None
    priority: str = "normal"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return has_errors(self.findings)

    @property
    def status(self) -> str:
        """'rejected' (not storable), 'flagged' (stored, with warnings) or 'valid'."""
        if self.rejected:
            return "rejected"
        if any(x.severity is Severity.WARNING for x in self.findings):
            return "flagged"
        return "valid"


#: 000 is written where a village has no RT/RW (KTPs show "RT/RW 000/000").
_RT_RW = re.compile(r"(?:R[TW]\.?\s*)?0*(\d{1,3})", re.IGNORECASE)


def _rt_rw(text: str, name: str) -> tuple[str | None, list[Finding]]:
    """RT and RW are numbers of one to three digits, stored as three ('3' -> '003'); 'RT 03'
    and 'RW.7' as offices write them. Anything else (a number that went through a float, a
    negative, a fraction, a whole address) is refused, naming the field."""
    match = _RT_RW.fullmatch(f.collapse_spaces(text))
    if match is None:
        return None, [error(Code.RT_RW_INVALID, name, text=f.as_read(text))]
    return match[1].zfill(3), []


def _text(text: str, ctx: ValidationContext, numeric: bool) -> tuple[str, list[Finding]]:
    return f.normalise_text(text), []


#: The longest value each free-text field takes (characters, after spaces are collapsed): the
#: longest names on an e-KTP are far shorter; a million-character cell is no applicant's.
MAX_LENGTH: dict[str, int] = {
    "name": 100, "birth_place": 60, "address": 200, "village": 60, "district": 60,
    "occupation": 80, "training": 150, "email": 254, "phone": 40, "nik": 40, "kk": 40,
    "gender": 20, "education": 60, "employment": 60,
}  # fmt: skip


_Check = Callable[[str, "ValidationContext", bool], tuple[Any, list[Finding]]]
#: How each text field is normalised and checked once it is known not to be blank.
_CHECKS: dict[str, _Check] = {
    "nik": lambda text, ctx, numeric: _nik(text, ctx, numeric),
    "kk": lambda text, ctx, numeric: parse_kk(text, numeric_cell=numeric),
    "name": lambda text, ctx, numeric: f.normalise_name(text),
    "gender": lambda text, ctx, numeric: f.normalise_choice(text, f.GENDERS, "gender"),
    "phone": lambda text, ctx, numeric: f.normalise_phone(text),
    "email": lambda text, ctx, numeric: f.normalise_email(text),
    "education": lambda text, ctx, numeric: f.normalise_choice(text, f.EDUCATION, "education"),
    "employment": lambda text, ctx, numeric: f.normalise_choice(text, f.EMPLOYMENT, "employment"),
    "rt": lambda text, ctx, numeric: _rt_rw(text, "rt"),
    "rw": lambda text, ctx, numeric: _rt_rw(text, "rw"),
}
_YES_NO = ("in_school", "social_assistance")
#: Fields whose check_field result is a function of the raw value alone: their checks read
#: neither the context nor another field (nor numeric_cell). A memo may only hold these;
#: tests/test_validate_memo.py compares memoised and fresh validation on generated rows.
BY_VALUE = frozenset(
    ("birth_place", "gender", "rt", "rw", "village", "district", "education", "employment",
     "occupation", "in_school", "social_assistance", "training")
)  # fmt: skip
#: Distinct values remembered per field: enough for the choice lists, places and yes/no of any
#: roster; a field of free text past it is checked afresh (the memo's memory stays bounded).
MEMO_LIMIT = 4096
_MEMO_TYPES = frozenset((str, int, float, bool, type(None)))
_NO_MEMO: dict[tuple[type, Any], tuple[Any, tuple[Finding, ...]]] = {}
#: Occupations that say the applicant is a student (the KTP's own is PELAJAR/MAHASISWA).
_STUDENT = re.compile(r"\b(PELAJAR|MAHASISWA|MAHASISWI|SISWA|SISWI|STUDENT)\b", re.IGNORECASE)


def _nik(text: str, ctx: ValidationContext, numeric: bool) -> tuple[NikInfo, list[Finding]]:
    nik = parse_nik(text, regions=ctx.regions, today=ctx.today, numeric_cell=numeric)
    return nik, nik.findings


def check_field(
    name: str,
    raw: Any,
    ctx: ValidationContext,
    *,
    numeric_cell: bool = False,
    nik_born: date | None = None,
) -> tuple[Any, list[Finding]]:
    """Normalise and check one field on its own (the desk form calls this as each is typed).
    `nik_born`, the birth date in the NIK, settles the century of a two-digit birth year."""
    required = FIELDS[name]  # KeyError for a name that is not a field
    if name in _YES_NO:
        if f.blank(raw):
            if required:
                return None, [error(Code.REQUIRED_MISSING, name)]
            return False, []
        return f.parse_yes_no(raw, name)
    if type(raw) is str:
        raw = f.drop_invisible(raw)
        if f.placeholder(raw):
            raw = None  # "-", "tidak ada": the cell was meant to be empty
    if name == "birth_date":
        return f.normalise_birth_date(raw, ctx.today, nik_born=nik_born)
    if raw is None:
        text = ""
    elif type(raw) is str:
        text = raw
    else:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)  # a number cell read as float: its digits, not "3273015708909000.0"
        text = str(raw)
    if f.blank(text):
        return None, ([error(Code.REQUIRED_MISSING, name)] if required else [])
    longest = MAX_LENGTH.get(name)
    if longest is not None and len(text) > longest and len(f.collapse_spaces(text)) > longest:
        return None, [error(Code.TEXT_TOO_LONG, name, length=len(text), max=longest)]
    return _CHECKS.get(name, _text)(text, ctx, numeric_cell)


def _comparable(value: Any) -> Any:
    """A form value as stored (dates ISO, yes/no 0/1), with every kind of empty the same."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        value = int(value)
    return value or None


def differing_fields(stored: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """The form fields (names only) in which a validated form differs from a stored record;
    a field absent from `values` (not asked yet) is not compared."""
    return [
        n for n in FIELDS if n in values and _comparable(stored.get(n)) != _comparable(values[n])
    ]


def duplicate_finding(existing: ExistingRecord, differs: list[str] | None = None) -> Finding:
    """NIK_DUPLICATE naming the registration, and the fields the new form differs in, if any."""
    params: dict[str, Any] = {
        "registration_number": existing.registration_number,
        "registered_on": existing.created_at[:10],
    }
    if differs:
        params.update(fields=list(differs), variant="differs")
    return error(Code.NIK_DUPLICATE, "nik", **params)


def check_duplicates(
    nik: str, kk: str | None, ctx: ValidationContext, values: dict[str, Any] | None = None
) -> list[Finding]:
    """NIK already registered (error; with the form's `values`, naming the fields that differ)
    and too many members of one KK (warning)."""
    findings: list[Finding] = []
    existing = ctx.find_live_nik(nik)
    if existing is not None:
        differs = None
        if values is not None and existing.values is not None:
            differs = differing_fields(existing.values, values)
        findings.append(duplicate_finding(existing, differs))
    limit = ctx.rules.max_per_kk
    if kk and limit is not None:
        members = ctx.kk_members(kk)
        if members >= limit:
            findings.append(warning(Code.KK_LIMIT_EXCEEDED, "kk", count=members, limit=limit))
    return findings


def check_age(born: date, ctx: ValidationContext, field_name: str = "birth_date") -> list[Finding]:
    """The rule set's minimum and maximum age, on `ctx.today`. Judged on the form's birth date;
    on the NIK's birth digits (`field_name` "nik") only while the form has none yet."""
    rules = ctx.rules
    age = age_on(born, ctx.today)
    # The NIK's date may have been corrected since (its digits never change), so the age the NIK
    # shows warns at the NIK and says where it comes from; the birth date, once typed, decides.
    at_nik = field_name == "nik"
    variant = {"variant": "nik", "born": born.strftime("%d-%m-%Y")} if at_nik else {}
    finding = warning if at_nik else error
    findings: list[Finding] = []
    if age < rules.min_age:
        findings.append(
            finding(Code.AGE_BELOW_MIN, field_name, age=age, min=rules.min_age, **variant)
        )
    if rules.max_age is not None and age > rules.max_age:
        findings.append(
            finding(Code.AGE_ABOVE_MAX, field_name, age=age, max=rules.max_age, **variant)
        )
    return findings


def check_eligibility(values: dict[str, Any], ctx: ValidationContext) -> list[Finding]:
    """Age, formal education and occupation against the office's rule set."""
    rules = ctx.rules
    findings: list[Finding] = []
    born: date | None = values.get("birth_date")
    if born is not None:
        findings.extend(check_age(born, ctx))
    if rules.exclude_in_formal_education and values.get("in_school"):
        findings.append(error(Code.IN_FORMAL_EDUCATION, "in_school"))
    occupation = values.get("occupation")
    if occupation:
        group = rules.excluded_occupation(occupation)
        if group is not None:
            findings.append(error(Code.EXCLUDED_OCCUPATION, "occupation", group=group.label))
        elif (
            rules.exclude_in_formal_education
            and values.get("in_school") is False
            and _STUDENT.search(occupation)
        ):
            findings.append(warning(Code.OCCUPATION_STUDENT, "occupation", occupation=occupation))
    if rules.social_assistance_lower_priority and values.get("social_assistance"):
        findings.append(info(Code.SOCIAL_ASSISTANCE_LOW_PRIORITY, "social_assistance"))
    return findings


def check_nik_against_form(nik: NikInfo, values: dict[str, Any]) -> list[Finding]:
    """What the NIK says vs what the form says: warnings only, a corrected birth date keeps its NIK."""
    findings: list[Finding] = []
    born = values.get("birth_date")
    if nik.birth_date is not None and born is not None and nik.birth_date != born:
        findings.append(
            warning(
                Code.NIK_BIRTHDATE_MISMATCH,
                "birth_date",
                nik_date=nik.birth_date.isoformat(),
                form_date=born.isoformat(),
            )
        )
    gender = values.get("gender")
    if nik.gender is not None and gender is not None and nik.gender != gender:
        findings.append(
            warning(Code.NIK_GENDER_MISMATCH, "gender", nik_gender=nik.gender, form_gender=gender)
        )
    return findings


def validate_applicant(
    form: dict[str, Any],
    ctx: ValidationContext,
    *,
    numeric_cells: frozenset[str] = frozenset(),
) -> Validated:
    """Validate a whole applicant form (raw values keyed by FIELDS names)."""
    return _validate(form, ctx, numeric_cells, answered=_ALL_FIELDS)


def validate_answered(form: dict[str, Any], ctx: ValidationContext) -> Validated:
    """Validate a form asked one field at a time, with the fields answered so far (the keys of
    `form`): its findings are what those fields already decide. Each answered field's own checks,
    and every rule between fields whose fields are all answered (the rules pass over a field that
    is still None); an unanswered field is not "missing" yet. Until the birth date is answered,
    the age is judged on the NIK's birth digits (on the field "nik"), so an applicant the NIK
    already shows to be too young is refused before the rest of the form is typed."""
    answered = frozenset(name for name in FIELDS if name in form)
    return _validate(form, ctx, frozenset(), answered)


def _remembered(
    memo: dict[str, dict[tuple[type, Any], tuple[Any, tuple[Finding, ...]]]],
    name: str,
    raw: Any,
    ctx: ValidationContext,
) -> tuple[Any, list[Finding]]:
    """check_field of a BY_VALUE field whose value the memo does not hold yet, remembered. The
    key holds the type: 1, 1.0 and True are equal keys in a dict but not the same cell."""
    value, found = check_field(name, raw, ctx)
    known = memo.setdefault(name, {})
    if len(known) < MEMO_LIMIT:
        known[(type(raw), raw)] = (value, tuple(found))
    return value, found


@dataclass(slots=True)
class Checked:
    """What a form shows on its own, before the store is asked (check_form): each field's value
    and findings and the NIK against the form (`findings`), and the rules between its fields that
    are listed after the store's findings (`later`: eligibility, places). Pure: a roster import
    computes these in worker processes (roster/rows.py) and asks the store in file order."""

    values: dict[str, Any]
    findings: list[Finding]
    later: list[Finding]
    nik_info: NikInfo | None


def check_form(
    form: dict[str, Any],
    ctx: ValidationContext,
    numeric_cells: frozenset[str] = frozenset(),
    answered: frozenset[str] = _ALL_FIELDS,
) -> Checked:
    """Every check of a form that needs no store: reads only ctx's rules, today, regions, places
    and memo (never find_live_nik, kk_members or similar_records)."""
    values: dict[str, Any] = {}
    findings: list[Finding] = []
    nik_info: NikInfo | None = None
    memo = ctx.memo
    for name in FIELDS:
        raw = form.get(name)
        if memo is not None and name in BY_VALUE and type(raw) in _MEMO_TYPES:
            hit = memo.get(name, _NO_MEMO).get((type(raw), raw))
            if hit is not None:  # the common case, inline: no call, no list
                if hit[1] and name in answered:
                    findings.extend(hit[1])
                values[name] = hit[0]
                continue
            value, found = _remembered(memo, name, raw, ctx)
        else:
            nik_born = nik_info.birth_date if nik_info is not None else None
            value, found = check_field(
                name, raw, ctx, numeric_cell=name in numeric_cells, nik_born=nik_born
            )
        if name in answered:  # an unanswered field is not missing yet
            findings.extend(found)
        if name == "nik" and isinstance(value, NikInfo):
            nik_info = value
            value = value.nik
        values[name] = value
    if nik_info is not None and nik_info.nik is not None:
        findings.extend(check_nik_against_form(nik_info, values))
    later = check_eligibility(values, ctx)
    if ctx.places is not None:
        later.extend(ctx.places.check(values.get("district"), values.get("village")))
    return Checked(values, findings, later, nik_info)


def check_against_store(
    checked: Checked, ctx: ValidationContext, answered: frozenset[str] = _ALL_FIELDS
) -> Validated:
    """A checked form against the store (duplicates, the KK's members, similar records), and
    the age its NIK shows while no birth date is answered: the whole validation's findings, in
    the order validate_applicant gives them."""
    values, nik_info = checked.values, checked.nik_info
    findings = checked.findings
    if nik_info is not None and nik_info.nik is not None:
        # The fields asked so far (a desk form asks them one by one); differing_fields compares
        # only the FIELDS in the dict, so a whole form is passed as it is.
        asked = (
            values if answered >= _ALL_FIELDS else {n: values[n] for n in FIELDS if n in answered}
        )
        findings.extend(check_duplicates(nik_info.nik, values.get("kk"), ctx, asked))
        if "birth_date" not in answered and nik_info.birth_date is not None:
            findings.extend(check_age(nik_info.birth_date, ctx, "nik"))
        similar = ctx.similar_records
        key = key_of(values) if similar is not None and "name" in answered else None
        if similar is not None and key is not None and (candidates := similar(*key)):
            findings.extend(possible_duplicate(values, candidates))
    findings.extend(checked.later)
    low = any(x.code is Code.SOCIAL_ASSISTANCE_LOW_PRIORITY for x in findings)
    return Validated(values, findings, nik_info, priority="low" if low else "normal")


def _validate(
    form: dict[str, Any],
    ctx: ValidationContext,
    numeric_cells: frozenset[str],
    answered: frozenset[str],
) -> Validated:
    return check_against_store(check_form(form, ctx, numeric_cells, answered), ctx, answered)
