"""NIK (Nomor Induk Kependudukan) and KK (Kartu Keluarga) number decoding and checks.

A NIK is province (2) + regency/city (2) + kecamatan (2) + birth date DDMMYY, with 40 added
to a woman's day, + a serial 0001-9999. The region digits are where the NIK was first issued.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from prakerja_cli.core.findings import Code, Finding, error, warning

#: Province codes of every Kemendagri list since 2015; 93-96 were split from 91/92 in 2022,
#: and NIKs issued before keep 91/92, so all are valid.
PROVINCE_CODES: frozenset[str] = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "21",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "51",
        "52",
        "53",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "72",
        "73",
        "74",
        "75",
        "76",
        "81",
        "82",
        "91",
        "92",
        "93",
        "94",
        "95",
        "96",
    ]
)

#: Returns a region's name for a 2-, 4- or 6-digit code, or None when the office does not know it.
RegionLookup = Callable[[str], str | None]

_STRIP = re.compile(r"[\s.\-\u00a0\u2007\u202f]+")
_SCIENTIFIC = re.compile(r"'?\d[.,]\d+[eE]\+?\d+")
_DIGITS16 = re.compile(r"[0-9]{16}")  # ASCII only: \d would take Arabic-Indic or full-width digits


@dataclass(frozen=True, slots=True)
class NikInfo:
    """What a NIK says. Fields are None when the NIK is too broken to decode them."""

    nik: str | None
    province_code: str | None = None
    regency_code: str | None = None
    district_code: str | None = None
    birth_date: date | None = None
    gender: str | None = None  # "L" (laki-laki) or "P" (perempuan)
    serial: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(f.blocking for f in self.findings)


def clean_number(raw: str) -> str:
    """Drop what people and spreadsheets put around the digits: spaces, dots, dashes, a leading ',
    and the invisible format characters a paste brings (zero-width space, BOM, soft hyphen...):
    every path, the `nik` command's too, reads the digits a clerk sees."""
    if not raw.isprintable():
        raw = "".join(ch for ch in raw if unicodedata.category(ch) != "Cf")
    text = raw.strip().lstrip("'")
    return _STRIP.sub("", text)


def precision_lost(raw: str, *, numeric_cell: bool) -> bool:
    """True when Excel rounded the number to 15 significant digits.

    Scientific-notation text (3.27301E+15, 3,27301E+15) has lost digits for sure; a 16-digit number
    from a numeric cell that ends in 0 is what Excel leaves of a NIK typed into a General cell.
    """
    # Spaces removed first (at most 40 characters looked at): no backtracking over long runs.
    if len(raw) <= 40 and _SCIENTIFIC.fullmatch("".join(raw.split())):
        return True
    digits = clean_number(raw)
    return numeric_cell and len(digits) == 16 and digits.isdigit() and digits.endswith("0")


def _damaged(raw: str, numeric_cell: bool, field_name: str) -> Finding | None:
    """A NIK or KK whose digits are gone: rounded by Excel, or starred by our masked export."""
    if precision_lost(raw, numeric_cell=numeric_cell):
        return error(Code.NIK_PRECISION_LOST, field_name)
    if "*" in raw:
        return error(Code.NIK_MASKED, field_name)
    return None


def _number_digits(raw: str, numeric_cell: bool, field_name: str) -> tuple[str, Finding | None]:
    """A NIK or KK cell's digits (clean_number), or the finding that its digits are gone."""
    if len(raw) == 16 and raw.isascii() and raw.isdigit() and not numeric_cell:
        # Nearly every cell: 16 plain ASCII digits in a text cell. Nothing to clean, no E+15,
        # no star, and only a number cell can have been rounded: what the slow path gives.
        return raw, None
    return _checked_digits(raw, numeric_cell, field_name)


def _checked_digits(raw: str, numeric_cell: bool, field_name: str) -> tuple[str, Finding | None]:
    damaged = _damaged(raw, numeric_cell, field_name)
    return ("", damaged) if damaged is not None else (clean_number(raw), None)


def _format_error(code: Code, number: str, field_name: str) -> Finding:
    """A NIK or KK that is not 16 digits. One with a letter in it (O for 0, l or I for 1, the
    typos of a handwritten form) names the letters: "16 digits, read 16" would not tell which."""
    others = [ch for ch in dict.fromkeys(number) if not "0" <= ch <= "9"]
    if others:  # each character once, a few at most: never the number itself
        # One the clerk cannot see is written out (\u0007), never shown as "?".
        chars = " ".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in others[:5])
        return error(code, field_name, variant="not_digits", chars=chars)
    return error(code, field_name, length=len(number))


def _birth_date(ddmmyy: str, today: date) -> tuple[date | None, str]:
    """Decode DDMMYY (+40 on the day for women); the century is the one giving an age of 0-100."""
    day, month, yy = int(ddmmyy[0:2]), int(ddmmyy[2:4]), int(ddmmyy[4:6])
    gender = "L"
    if day > 40:
        gender = "P"
        day -= 40
    if not 1 <= day <= 31:
        return None, gender
    candidates = []
    for century in (2000, 1900):
        try:
            born = date(century + yy, month, day)
        except ValueError:
            continue
        age = age_on(born, today)
        if 0 <= age <= 100 and born <= today:
            candidates.append(born)
    return (max(candidates) if candidates else None), gender


def age_on(born: date, on: date) -> int:
    """Completed years of age on a date."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def parse_nik(
    raw: str,
    *,
    regions: RegionLookup | None = None,
    today: date,
    numeric_cell: bool = False,
    field_name: str = "nik",
) -> NikInfo:
    """Decode and check a NIK. Pure: region names come from the `regions` lookup."""
    nik, damaged = _number_digits(raw, numeric_cell, field_name)
    if damaged is not None:
        return NikInfo(None, findings=[damaged])
    if not _DIGITS16.fullmatch(nik):
        return NikInfo(None, findings=[_format_error(Code.NIK_FORMAT, nik, field_name)])
    findings: list[Finding] = []
    province, regency, district = nik[0:2], nik[0:4], nik[0:6]
    if province not in PROVINCE_CODES:
        findings.append(error(Code.NIK_PROVINCE_UNKNOWN, field_name, province=province))
    elif regions is not None:
        if regions(regency) is None:
            findings.append(warning(Code.NIK_REGION_UNKNOWN, field_name, code=regency))
        elif regions(district) is None:
            findings.append(warning(Code.NIK_REGION_UNKNOWN, field_name, code=district))
    born, gender = _birth_date(nik[6:12], today)
    if born is None:
        findings.append(error(Code.NIK_BIRTHDATE_INVALID, field_name, digits=nik[6:12]))
    serial = nik[12:16]
    if serial == "0000":
        findings.append(error(Code.NIK_SERIAL_INVALID, field_name))
    return NikInfo(
        nik=nik,
        province_code=province,
        regency_code=regency,
        district_code=district,
        birth_date=born,
        gender=gender if born is not None else None,
        serial=serial,
        findings=findings,
    )


def parse_kk(
    raw: str, *, numeric_cell: bool = False, field_name: str = "kk"
) -> tuple[str, list[Finding]]:
    """Check a KK number: 16 digits starting with a real province. Returns (digits, findings)."""
    kk, damaged = _number_digits(raw, numeric_cell, field_name)
    if damaged is not None:
        return "", [damaged]
    if not _DIGITS16.fullmatch(kk):
        return kk, [_format_error(Code.KK_FORMAT, kk, field_name)]
    if kk[0:2] not in PROVINCE_CODES:
        return kk, [error(Code.KK_FORMAT, field_name, province=kk[0:2])]
    return kk, []


def mask(number: str | None) -> str:
    """Show the first 4 digits (province and regency) and the last 2 of a NIK or KK number; star
    the rest: the kecamatan and the six date digits never show (see docs/security.md). Other
    numbers (a phone) keep their first 6 and last 2."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    keep = 4 if len(number) == 16 else 6
    return number[:keep] + "*" * (len(number) - keep - 2) + number[-2:]


def mask_birth_date(value: object) -> str:
    """A birth date where the NIK is masked: the year only. Day and month beside a masked NIK
    would give its date digits back (see docs/security.md)."""
    text = value.isoformat() if isinstance(value, date) else str(value or "")
    return text[:4] if len(text) >= 4 and text[:4].isdigit() else ""
