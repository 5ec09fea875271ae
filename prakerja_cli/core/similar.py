"""Possible duplicates: one person registered twice under two NIKs.

A NIK mistyped in a way the structure check cannot see (a wrong serial digit, two digits swapped
in the serial) gives the central system a new person, and it registers both. What stays the same
is the person: their birth date, their name, where they live. Two live records are a possible
duplicate when they have different NIKs, the same birth date, the same kecamatan or the same KK,
and names that are the same once folded or differ by a letter or two (a typo, a dropped `h`,
words in another order).

It is a warning (POSSIBLE_DUPLICATE), never a refusal: twins share a birth date and a KK, and a
kecamatan holds many a `Muhammad Rizki` born on one day. The clerk looks at the other record the
finding names and at the KTP in front of them.

Blocking keeps it cheap on a million records: candidates come from the store's
(birth_date, district) and kk indexes (store.applicants.similar_records), a few rows each; only
those are compared, with rapidfuzz.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from prakerja_cli.core.fields import fold
from prakerja_cli.core.findings import Code, Finding, warning
from prakerja_cli.core.nik import mask

#: The similarity (0-100, see `similarity`) from which two folded names count as one person's:
#: `siti nurhaliza` / `siti nurhalizah` 97, `ahmad fauzi` / `fauzi ahmad` 100, `nur aini` /
#: `nuraini` 100, `muhammad rizki` / `muhamad rizky` 89, `eko prasetyo` / `eko prasetya` 92 are;
#: `ahmad fauzi` / `ahmad fauzan` 87 (brothers, twins in one KK) and `budi santoso` /
#: `budi susanto` 83 are not. tests/test_similar.py holds the pairs that settle it.
SIMILAR_FROM = 88


@dataclass(frozen=True, slots=True)
class Candidate:
    """A record an applicant might duplicate: stored (registration_number) or an earlier row of
    the same roster (row)."""

    nik: str
    name: str
    birth_date: str
    district: str | None
    kk: str | None
    registration_number: str | None = None
    row: int | None = None


def key_of(values: dict[str, Any]) -> tuple[str, str | None, str | None] | None:
    """(birth date ISO, kecamatan, KK) of a validated form: what blocks the comparison; None when
    there is no birth date or no name to compare."""
    born = values.get("birth_date")
    if not isinstance(born, date) or not values.get("name"):
        return None
    return born.isoformat(), values.get("district"), values.get("kk")


@lru_cache(maxsize=4096)
def _place(district: str) -> str:
    """A kecamatan as blocks compare it (an office has a few dozen: folded once each)."""
    return "d:" + fold(district)


def blocks(born: str, district: str | None, kk: str | None) -> list[tuple[str, str]]:
    """The blocks a record falls in: (birth date, kecamatan as folded) and (birth date, KK).
    Records that share one are compared; a roster's rows are grouped by them."""
    found = [(born, _place(district))] if district else []
    return [*found, (born, "k:" + kk)] if kk else found


def possible_duplicate(values: dict[str, Any], candidates: Iterable[Candidate]) -> list[Finding]:
    """POSSIBLE_DUPLICATE (warning, on the NIK: the field to check again) naming the most similar candidate that shares
    the birth date and the kecamatan or the KK, has another NIK and a similar name; [] if none."""
    key = key_of(values)
    if key is None:
        return []
    born, district, kk = key
    nik = values.get("nik")
    name: str | None = None
    place = _place(district) if district else None
    best: tuple[float, Candidate] | None = None
    for other in candidates:
        if other.birth_date != born or other.nik == nik or not other.name:
            continue
        same_kk = kk is not None and kk == other.kk
        if not same_kk and (place is None or not other.district or _place(other.district) != place):
            continue
        name = name or fold(str(values["name"]))
        score = similarity(name, fold(other.name))
        if score >= SIMILAR_FROM and (best is None or score > best[0]):
            best = (score, other)
    if best is None:
        return []
    other = best[1]
    where = "kk" if kk and kk == other.kk else "district"
    params: dict[str, Any] = {"name": other.name, "nik": mask(other.nik), "same": where}
    if other.registration_number is not None:
        params["registration_number"] = other.registration_number
    else:
        params.update(row=other.row, variant="row")
    return [warning(Code.POSSIBLE_DUPLICATE, "nik", **params)]


def similarity(a: str, b: str) -> float:
    """How alike two folded names are, 0-100: rapidfuzz's token_sort_ratio (word order does not
    count, a letter in ten costs ~10), or the plain ratio with the spaces taken out where that is
    higher (`nur aini` is `nuraini`)."""
    if a == b:
        return 100.0
    from rapidfuzz.fuzz import ratio, token_sort_ratio  # only when a candidate shares the block

    return float(max(token_sort_ratio(a, b), ratio(a.replace(" ", ""), b.replace(" ", ""))))
