"""Normalisers for the form's fields: name, phone, e-mail, dates, choices. Pure functions.

Each returns (normalised value or None, findings). The desk form calls them one by one as the clerk
types; `validate.validate_applicant` calls the same ones for a whole record.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from prakerja_cli.core.findings import Code, Finding, error, warning

# Letter runs joined by separators; the separator is required so there is one way to match and no
# exponential backtracking on a long name followed by a stray character.
_NAME_OK = re.compile(r"[^\W\d_]+(?:[ '.\-]+[^\W\d_]+)*\.?")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_PHONE_SEPARATORS = re.compile(r"[\s\u00a0.\-()/]+")
_FLOAT_DIGITS = re.compile(r"\d+\.0")
_PHONE_CHARS = re.compile(r"\+?\d+")
_NOT_KEY = re.compile(r"[^0-9a-z]")

MONTHS_ID = {
    "januari": 1, "jan": 1, "februari": 2, "pebruari": 2, "feb": 2, "peb": 2, "maret": 3,
    "mar": 3, "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "agust": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "november": 11, "nov": 11, "nopember": 11, "nop": 11,
    "desember": 12, "des": 12,
    # English month names, for files exported from English-language Excel.
    "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8,
    "aug": 8, "october": 10, "oct": 10, "december": 12, "dec": 12,
}  # fmt: skip

# "17 Agustus 1990", "17-Agu-1990" (Excel's dd-mmm-yyyy as text), "17/Aug/90".
_TEXT_DATE = re.compile(
    r"(\d{1,2})(?:\s+|\s*[/\-.]\s*)([A-Za-z]+)\.?(?:\s+|\s*[/\-.]\s*)(\d{4}|\d{2})"
)
_DMY = re.compile(r"(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4}|\d{2})")
_YMD = re.compile(r"(\d{4})([/\-.])(\d{1,2})\2(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_EXCEL_EPOCH = date(1899, 12, 30)


def collapse_spaces(text: str) -> str:
    """Collapse runs of whitespace, non-breaking spaces included, to one space; trim; drop
    control and format characters (an ESC sequence in a roster cell must never reach a clerk's
    terminal, nor a bidi override flip how a name reads)."""
    # str.split() splits on exactly the characters regex \s matches in str patterns (the Unicode
    # whitespace of str.isspace(), U+00A0, U+2007 and U+202F included), at a fraction of the cost.
    text = " ".join(text.split())
    if text.isprintable():  # after the join, only ' ' is left of the spaces: the common case
        return text
    return " ".join("".join(ch for ch in text if ch.isprintable() or ch == " ").split())


def drop_invisible(text: str) -> str:
    """Text without format characters (Unicode Cf: zero-width space, zero-width joiner and
    non-joiner, BOM, soft hyphen, word joiner, bidi marks). They are invisible: pasted from a
    web page or a chat into a NIK, they must not make it 'not 16 digits' with a '?' the clerk
    cannot see."""
    if text.isprintable():
        return text  # nearly every value: no format character can be in it
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def fold(text: str) -> str:
    """Text as a search compares it: accents dropped (JOSÉ ~ jose), case folded, spaces collapsed,
    curly apostrophes plain."""
    text = " ".join(text.translate(_APOSTROPHES).split())
    if text.isascii():
        return text.lower()  # nearly every name: nothing to decompose
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def blank(value: Any) -> bool:
    """None, or text with nothing left once collapse_spaces has cleaned it."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    return not text or (not text.isprintable() and not collapse_spaces(text))


#: What offices write in a cell they mean to leave empty ("-" above all). Yes/no fields read "-"
#: as "tidak" (see NO); every other field takes these as blank.
PLACEHOLDERS = frozenset(
    ("-", "--", "---", "\u2013", "\u2014", "\u2212", ".", "tidak ada", "tdk ada", "belum ada",
     "n/a", "nihil", "kosong")
)  # fmt: skip


_PLACEHOLDER_STARTS = frozenset("-\u2013\u2014\u2212.tbnkTBNK")


def placeholder(text: str) -> bool:
    """A stand-in for an empty cell (PLACEHOLDERS), whatever its case and spacing."""
    if len(text) > 12 or text.lstrip()[:1] not in _PLACEHOLDER_STARTS:
        return False  # most cells: one length test and one set test
    return text in PLACEHOLDERS or " ".join(text.lower().split()) in PLACEHOLDERS


def normalise_name(raw: str, field_name: str = "name") -> tuple[str | None, list[Finding]]:
    """Full name as on the KTP: letters, spaces, apostrophes, periods, hyphens; upper case."""
    # Phones and word processors turn ' into a curly quote; the KTP has a plain apostrophe.
    name = unicodedata.normalize("NFC", collapse_spaces(raw)).upper()
    name = name.translate(_APOSTROPHES)
    if not name:
        return None, [error(Code.REQUIRED_MISSING, field_name)]
    if not _NAME_OK.fullmatch(name):
        return None, [error(Code.NAME_INVALID, field_name)]
    return name, []


def normalise_text(raw: str) -> str:
    """Free text fields (place, address, village): spaces collapsed, upper case.

    The apostrophe a spreadsheet (or our own export) puts before = + - @ to stop a formula is
    not part of the text.
    """
    text = collapse_spaces(raw)
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text.upper()


def normalise_phone(raw: str, field_name: str = "phone") -> tuple[str | None, list[Finding]]:
    """An Indonesian mobile number in any common form, as E.164 (+628...).

    Accepts 0812..., 62812..., +62 812-..., and 812... (a number typed into a spreadsheet loses its
    leading 0).
    """
    text = raw.strip().lstrip("'")
    if _FLOAT_DIGITS.fullmatch(text):  # a phone number that went through a float
        text = text[:-2]
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits and not _PHONE_CHARS.fullmatch(digits):  # phonenumbers would drop or map letters
        return None, [error(Code.PHONE_INVALID, field_name)]
    if digits.startswith("+"):
        candidate = digits
    elif digits.startswith("62"):
        candidate = "+" + digits
    elif digits.startswith("8"):
        candidate = "0" + digits
    else:
        candidate = digits
    if not candidate:
        return None, [error(Code.REQUIRED_MISSING, field_name)]
    if national := _PLAIN_ID_NUMBER.fullmatch(candidate):
        # The common shape (0 or +62, then 8 and digits only): classify the national number
        # straight from phonenumbers' own metadata instead of running its generic parser.
        if _id_is_mobile(national[1]):
            return "+62" + national[1], []
        return None, [error(Code.PHONE_INVALID, field_name)]
    return _phone_by_library(candidate, field_name)


#: 0 or +62 followed by a national number that starts with 8: nothing for a parser to strip.
_PLAIN_ID_NUMBER = re.compile(r"(?:0|\+62)(8\d{1,16})")


_Desc = tuple[re.Pattern[str], frozenset[int]] | None


def _phone_by_library(candidate: str, field_name: str) -> tuple[str | None, list[Finding]]:
    import phonenumbers

    try:
        number = phonenumbers.parse(candidate, "ID")
    except phonenumbers.NumberParseException:
        return None, [error(Code.PHONE_INVALID, field_name)]
    # For +62 (one region, ID) is_valid_number(n) is exactly number_type(n) != UNKNOWN, so testing
    # the type alone gives the same answer without classifying the number twice.
    if (
        number.country_code != 62
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        return None, [error(Code.PHONE_INVALID, field_name)]
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), []


@lru_cache(maxsize=1)
def _id_descriptions() -> tuple[_Desc, re.Pattern[str] | None, _Desc]:
    """Indonesia's number descriptions from phonenumbers' metadata, compiled once: general, one
    pattern for every kind number_type tries before mobile (each with its lengths), mobile."""
    from phonenumbers import PhoneMetadata

    meta = PhoneMetadata.metadata_for_region("ID")
    assert meta is not None  # phonenumbers ships Indonesia's metadata

    def desc(d: Any) -> _Desc:
        if d is None or d.national_number_pattern is None:
            return None
        return re.compile(d.national_number_pattern), frozenset(d.possible_length or ())

    before_mobile = (meta.premium_rate, meta.toll_free, meta.shared_cost, meta.voip,
                     meta.personal_number, meta.pager, meta.uan, meta.voicemail, meta.fixed_line)  # fmt: skip
    branches = []
    for d in before_mobile:
        if d is None or d.national_number_pattern is None:
            continue
        lengths = "|".join(f"\\d{{{n}}}" for n in d.possible_length or ())
        guard = f"(?=(?:{lengths})\\Z)" if lengths else ""
        branches.append(f"{guard}(?:{d.national_number_pattern})")
    others = re.compile("|".join(branches)) if branches else None
    return desc(meta.general_desc), others, desc(meta.mobile)


def _matches(national: str, desc: _Desc) -> bool:
    if desc is None:
        return False
    pattern, lengths = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


def _id_is_mobile(national: str) -> bool:
    """phonenumbers' number_type(...) == MOBILE for an Indonesian national number, as its
    _number_type_helper decides it: the general pattern, none of the kinds it tries before mobile
    (a fixed-line match is never plain MOBILE either), then mobile."""
    general, others, mobile = _id_descriptions()
    return (
        _matches(national, mobile)
        and _matches(national, general)
        and (others is None or others.fullmatch(national) is None)
    )


#: Mail providers applicants use (yahoo.co.id the Indonesian one). A domain that is not one of
#: them but nearly spells one (gmial.com, yahoo.co.od) is most likely a typo of it.
COMMON_EMAIL_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.id", "ymail.com", "rocketmail.com",
    "hotmail.com", "outlook.com", "outlook.co.id", "live.com", "icloud.com", "mail.com",
    "email.com", "aol.com", "protonmail.com", "yandex.com",
)  # fmt: skip
#: How alike (difflib's ratio) a domain must be to a common one to be taken for its typo: every
#: one-letter slip in these domains scores 0.88 or more; yahoo.com.sg, a real one, 0.857.
_DOMAIN_TYPO_CUTOFF = 0.86


@lru_cache(maxsize=1024)
def suspect_email_domain(domain: str) -> str | None:
    """The common provider a normalised e-mail domain is a near-miss of, or None."""
    if domain in COMMON_EMAIL_DOMAINS:
        return None
    close = difflib.get_close_matches(domain, COMMON_EMAIL_DOMAINS, n=1, cutoff=_DOMAIN_TYPO_CUTOFF)
    return close[0] if close else None


#: Domains email-validator has accepted -> (the domain as it normalised it, the common provider
#: it is a near-miss of): both decided once per domain, not once per row. Bounded: a hostile file
#: of distinct domains only costs the library's own speed.
_EMAIL_DOMAINS: dict[str, tuple[str, str | None]] = {}
_EMAIL_DOMAINS_MAX = 10_000


def _email_findings(domain: str, suggestion: str | None, field_name: str) -> list[Finding]:
    if suggestion is None:
        return []
    return [warning(Code.EMAIL_DOMAIN_SUSPECT, field_name, domain=domain, suggestion=suggestion)]


def normalise_email(raw: str, field_name: str = "email") -> tuple[str | None, list[Finding]]:
    """E-mail syntax only: offices are offline, so deliverability is not checked. A domain that
    nearly spells a common provider's is a warning (EMAIL_DOMAIN_SUSPECT), never a refusal.

    email-validator decides; an address whose domain it has already accepted and whose local part
    is a plain ASCII dot-atom (its own pattern) is not sent through it again.
    """
    from email_validator import EmailNotValidError, validate_email
    from email_validator import rfc_constants as rfc

    text = collapse_spaces(raw)
    if not text:
        return None, []
    local, _, domain = text.rpartition("@")
    known = _EMAIL_DOMAINS.get(domain)
    if (
        known is not None
        and len(text) <= rfc.EMAIL_MAX_LENGTH
        and len(local) <= rfc.LOCAL_PART_MAX_LENGTH
        and rfc.DOT_ATOM_TEXT.match(local)
        and local.lower() not in rfc.CASE_INSENSITIVE_MAILBOX_NAMES
    ):
        return f"{local}@{known[0]}", _email_findings(known[0], known[1], field_name)
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None, [error(Code.EMAIL_INVALID, field_name)]
    suggestion = suspect_email_domain(result.domain)
    if domain.isascii() and len(_EMAIL_DOMAINS) < _EMAIL_DOMAINS_MAX:
        _EMAIL_DOMAINS[domain] = (result.domain, suggestion)
    return str(result.normalized), _email_findings(result.domain, suggestion, field_name)


def parse_date(value: Any, *, century_of: date | None = None) -> date | None:
    """A date from a date/datetime, an Excel serial number, or text in the forms offices use:
    yyyy-mm-dd (or / or .), dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy, "17 Agustus 1990", "17-Agu-1990".

    A two-digit year (05-03-91) names no century by itself: it is read only when `century_of`
    (the birth date in the NIK) ends in the same two digits, and takes that date's century.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel's serial range (1900-01-01 .. 9999-12-31)
            return _EXCEL_EPOCH + timedelta(days=int(value))
        return None
    if not isinstance(value, str):
        return None
    text = collapse_spaces(value)
    try:
        if m := _YMD.fullmatch(text):
            return date(int(m[1]), int(m[3]), int(m[4]))
        if m := _DMY.fullmatch(text):
            return date(_year(m[3], century_of), int(m[2]), int(m[1]))
        if m := _TEXT_DATE.fullmatch(text):
            month = MONTHS_ID.get(m[2].lower())
            return date(_year(m[3], century_of), month, int(m[1])) if month else None
    except ValueError:
        return None
    if text.isdigit() and len(text) == 5:  # a serial (1927-2173) that arrived as text, not a year
        return parse_date(int(text))
    return None


def _year(digits: str, century_of: date | None) -> int:
    """A four-digit year as written; a two-digit one in the century of `century_of` when that
    year ends in the same digits. ValueError otherwise (no date is guessed)."""
    if len(digits) == 4:
        return int(digits)
    if century_of is not None and century_of.year % 100 == int(digits):
        return century_of.year
    raise ValueError(digits)


def two_digit_year(value: Any) -> bool:
    """Text that would be a date if its two-digit year named a century."""
    if not isinstance(value, str):
        return False
    text = collapse_spaces(value)
    m = _DMY.fullmatch(text) or _TEXT_DATE.fullmatch(text)
    return m is not None and len(m[3]) == 2


def normalise_birth_date(
    value: Any, today: date, field_name: str = "birth_date", *, nik_born: date | None = None
) -> tuple[date | None, list[Finding]]:
    if blank(value):
        return None, [error(Code.REQUIRED_MISSING, field_name)]
    born = parse_date(value, century_of=nik_born)
    if born is None or born > today or born.year < 1900:
        text = as_read(value)
        us_order = _day_after_month(text) if born is None else None
        if us_order is not None:
            return None, [error(Code.BIRTHDATE_INVALID, field_name, text=text,
                                expected=us_order, variant="us_order")]  # fmt: skip
        if born is None and two_digit_year(value):
            return None, [error(Code.BIRTHDATE_INVALID, field_name, text=text,
                                variant="two_digit_year")]  # fmt: skip
        return None, [error(Code.BIRTHDATE_INVALID, field_name, text=text)]
    return born, []


def as_read(value: Any) -> str:
    """A cell or typed value as the clerk would recognise it in a message (kept short)."""
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = collapse_spaces(str(value))
    return text if len(text) <= 40 else text[:39] + "\u2026"


def _day_after_month(text: str) -> str | None:
    """For a date written month first, as US Excel writes it (12/25/1990), the same date day
    first (25/12/1990); None when the text is no such date."""
    m = _DMY.fullmatch(text)
    if m is None or int(m[1]) > 12 or len(m[3]) != 4:
        return None
    try:
        date(int(m[3]), int(m[1]), int(m[2]))
    except ValueError:
        return None
    separator = text[len(m[1])]
    return separator.join((m[2].zfill(2), m[1].zfill(2), m[3]))


# Choices: canonical code -> (Indonesian label, synonyms). Synonyms are compared after `_key`.
Choices = dict[str, tuple[str, tuple[str, ...]]]

GENDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "L": ("Laki-laki", ("l", "lk", "laki", "lakilaki", "pria", "m", "male", "man")),
    "P": ("Perempuan", ("p", "pr", "wanita", "perempuan", "f", "female", "woman", "w")),
}

EDUCATION: dict[str, tuple[str, tuple[str, ...]]] = {
    "TIDAK_SEKOLAH": ("Tidak/belum sekolah", ("tidaksekolah", "belumsekolah", "tidakbelumsekolah", "none")),
    "SD": ("SD/sederajat", ("sd", "mi", "sdmi", "sdsederajat", "paketa", "sekolahdasar", "primary")),
    "SMP": ("SMP/sederajat", ("smp", "mts", "sltp", "smpmts", "smpsederajat", "paketb", "juniorhigh")),
    "SMA": ("SMA/SMK/sederajat", ("sma", "smk", "ma", "slta", "smu", "stm", "smasmk", "smasmkma", "smasederajat", "smasmksederajat", "paketc", "seniorhigh", "highschool")),
    "D1": ("D1", ("d1", "di", "diploma1", "diplomai")),
    "D2": ("D2", ("d2", "dii", "diploma2", "diplomaii")),
    "D3": ("D3", ("d3", "diii", "diploma3", "diplomaiii")),
    "D4": ("D4", ("d4", "div", "diploma4", "diplomaiv")),
    "S1": ("S1", ("s1", "sarjana", "strata1", "bachelor")),
    "S2": ("S2", ("s2", "magister", "master", "strata2")),
    "S3": ("S3", ("s3", "doktor", "doctor", "phd", "strata3")),
}  # fmt: skip

EMPLOYMENT: dict[str, tuple[str, tuple[str, ...]]] = {
    "PENCARI_KERJA": ("Pencari kerja / belum bekerja", ("pencarikerja", "belumbekerja", "tidakbekerja", "menganggur", "pengangguran", "unemployed", "jobseeker")),
    "PEKERJA": ("Pekerja/buruh", ("pekerja", "buruh", "pekerjaburuh", "karyawan", "bekerja", "employed", "worker")),
    "KORBAN_PHK": ("Pekerja terkena PHK", ("phk", "korbanphk", "pekerjaterkenaphk", "terkenaphk", "laidoff")),
    "DIRUMAHKAN": ("Pekerja yang dirumahkan", ("dirumahkan", "pekerjayangdirumahkan", "furloughed")),
    "USAHA_MIKRO": ("Pelaku usaha mikro/kecil", ("umk", "umkm", "wiraswasta", "pedagang", "usahamikro", "usahakecil", "wirausaha", "pelakuusaha", "pelakuusahamikrokecil", "selfemployed")),
}  # fmt: skip

YES = ("y", "ya", "yes", "1", "true", "benar", "iya", "masih", "v", "x")
NO = ("n", "t", "tidak", "no", "0", "false", "bukan", "tdk", "")


@lru_cache(maxsize=4096)
def _key(text: str) -> str:
    """Letters and digits only, lower case. Cached: a roster repeats a few spellings 100k times."""
    return _NOT_KEY.sub("", text.lower())


def _choice_index(choices: Choices) -> dict[str, str]:
    """Every key a choice answers to -> its code; the first code listed wins, as in a scan."""
    index: dict[str, str] = {}
    for code, (label, synonyms) in choices.items():
        for key in (*synonyms, _key(code), _key(label)):
            index.setdefault(key, code)
    return index


#: The module's own choice lists, indexed once (the identity check guards against a reused id).
_CHOICE_INDEXES: dict[int, tuple[Choices, dict[str, str]]] = {
    id(c): (c, _choice_index(c)) for c in (GENDERS, EDUCATION, EMPLOYMENT)
}


def normalise_choice(
    raw: str, choices: Choices, field_name: str
) -> tuple[str | None, list[Finding]]:
    """Map a typed value (code, label or synonym, any case or punctuation) to its code."""
    key = _key(raw)
    if not key:
        return None, [error(Code.REQUIRED_MISSING, field_name)]
    known = _CHOICE_INDEXES.get(id(choices))
    index = known[1] if known is not None and known[0] is choices else _choice_index(choices)
    found = index.get(key)
    if found is not None:
        return found, []
    code = Code.GENDER_INVALID if choices is GENDERS else Code.CHOICE_INVALID
    return None, [error(code, field_name, allowed=", ".join(choices))]


def parse_yes_no(value: Any, field_name: str) -> tuple[bool | None, list[Finding]]:
    if isinstance(value, bool):
        return value, []
    if isinstance(value, int | float):
        if value != value:  # NaN: an empty cell some readers give as a float
            return None, [error(Code.CHOICE_INVALID, field_name, allowed="ya, tidak")]
        return bool(value), []
    key = _key(str(value)) if value is not None else ""
    if key in YES:
        return True, []
    if key in NO:
        return False, []
    return None, [error(Code.CHOICE_INVALID, field_name, allowed="ya, tidak")]
