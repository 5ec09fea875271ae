"""The import's fast paths give the findings the plain validation core gives: generated rows are
validated through one memoising context (as an import does, values repeating across rows) and
each through a fresh context without a memo; values and findings must be equal."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from prakerja_cli.core.nik import _checked_digits, _number_digits
from prakerja_cli.core.rules import load_rule_set
from prakerja_cli.core.validate import (
    BY_VALUE,
    FIELDS,
    MEMO_LIMIT,
    ValidationContext,
    validate_applicant,
)
from tests.strategies import REFERENCE, make_kk, make_nik, valid_form

RULES = load_rule_set("normal-2023")

# Cells as rosters give them: the usual spellings, their odd cases, and what breaks a check.
ODD = st.sampled_from(
    ["", " ", "-", "tidak ada", "\u200b", "Ya", "T", "tdk", "1", "0", "2", "X", "??", "n/a",
     "RT 03", "RW.7", "003", "3.0", "1234", "Rt 1/2", "L", "P", "lk", "Perempuan", "pria",
     "SMA/SMK", "s1", "Sarjana", "D3", "sd", "Korban PHK", "pencari kerja", "Wiraswasta",
     "Pelajar", "Mahasiswa", "PNS", "TNI", "Buruh pabrik", "Gegerkalong", "sukasari", "Isola",
     "Bandung", "'=1+1", "a" * 70, "x" * 90, "  Coblong  ", "Dago\t", "ÉLISE"]
)  # fmt: skip
CELL = st.one_of(
    ODD,
    st.none(),
    st.booleans(),
    st.integers(-5, 1200),
    st.sampled_from([0.0, 1.0, 3.0, 2.5, float("nan")]),
    st.text(max_size=12),
)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    born = draw(st.dates(min_value=date(1960, 1, 1), max_value=date(2010, 12, 31)))
    gender = draw(st.sampled_from("LP"))
    form: dict[str, Any] = valid_form(
        nik=make_nik("327301", born, gender, draw(st.integers(1, 9999))),
        kk=make_kk(serial=draw(st.integers(1, 9999))),
        birth_date=born,
    )
    for name in sorted(BY_VALUE):
        if draw(st.booleans()):
            form[name] = draw(CELL)
    return form


def _context(memo: dict[str, Any] | None) -> ValidationContext:
    return ValidationContext(rules=RULES, today=REFERENCE, memo=memo)


@settings(max_examples=60, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=25))
def test_memoised_validation_gives_the_same_findings(forms: list[dict[str, Any]]) -> None:
    shared = _context({})
    for form in [*forms, *forms]:  # the second pass is answered from the memo
        fast = validate_applicant(form, shared)
        slow = validate_applicant(form, _context(None))
        assert fast.values == slow.values or _same_with_nan(fast.values, slow.values)
        assert fast.findings == slow.findings
        assert fast.status == slow.status
        assert fast.priority == slow.priority


def _same_with_nan(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(
        x == y or (x != x and y != y) for x, y in ((a[k], b[k]) for k in a)
    )


def test_memo_only_holds_value_only_fields_and_stays_bounded() -> None:
    memo: dict[str, Any] = {}
    shared = _context(memo)
    for n in range(MEMO_LIMIT + 50):
        validate_applicant(valid_form(occupation=f"Pedagang {n}"), shared)
    assert set(memo) <= BY_VALUE
    assert set(BY_VALUE) <= set(FIELDS)
    assert len(memo["occupation"]) == MEMO_LIMIT
    # Equal keys of another type are other cells: 1, 1.0 and True each have their own entry.
    for cell in (True, 1, 1.0, "1"):
        validate_applicant(valid_form(rt=cell), shared)
    assert {key for key in memo["rt"] if key[1] == 1} == {(bool, True), (int, 1), (float, 1.0)}


NUMBER_TEXT = st.one_of(
    st.text(alphabet="0123456789", min_size=16, max_size=16),
    st.text(alphabet="0123456789 .-'*E+,\u0663\uff11\u00a0", min_size=14, max_size=18),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(NUMBER_TEXT, st.booleans(), st.sampled_from(["nik", "kk"]))
def test_nik_fast_path_gives_what_the_checked_path_gives(
    raw: str, numeric: bool, field: str
) -> None:
    assert _number_digits(raw, numeric, field) == _checked_digits(raw, numeric, field)
