"""The roster's columns: the canonical Indonesian header of each field, and the synonyms offices use.

One table serves the header mapping of imports, the template, the error report and the export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Column:
    field: str
    header: str  # canonical header, as written in the template and the export
    synonyms: tuple[str, ...] = ()
    text: bool = False  # written as Text so Excel cannot round it or drop a leading 0


COLUMNS: tuple[Column, ...] = (
    Column("nik", "NIK", ("No KTP", "Nomor KTP", "No. KTP", "Nomor Induk Kependudukan", "NIK KTP", "No NIK", "Nomor NIK", "ID Number", "National ID", "National ID Number", "KTP Number", "NIK Number"), text=True),
    Column("kk", "Nomor KK", ("No KK", "No. KK", "KK", "Nomor Kartu Keluarga", "No Kartu Keluarga", "NKK", "Family Card Number", "Family Card No", "Family Card", "KK Number", "Family Registration Number"), text=True),
    Column("name", "Nama Lengkap", ("Nama", "Nama Sesuai KTP", "Nama Lengkap Sesuai KTP", "Nama Peserta", "Nama Pemohon", "Full Name", "Name")),
    Column("birth_place", "Tempat Lahir", ("Tmp Lahir", "Tempat Lhr", "Tempat Kelahiran", "Place of Birth", "Birth Place")),
    Column("birth_date", "Tanggal Lahir", ("Tgl Lahir", "Tgl. Lahir", "Tanggal Lhr", "Tgl Lhr", "Tanggal Kelahiran", "Date of Birth", "Birth Date", "DOB", "Birthdate")),
    Column("gender", "Jenis Kelamin", ("L/P", "JK", "Kelamin", "Jenis Kelamin (L/P)", "Gender", "Sex")),
    Column("phone", "Nomor HP", ("No HP", "No. HP", "Nomor Handphone", "No Handphone", "No Telp", "No. Telp", "Nomor Telepon", "No Telepon", "Telepon", "HP", "WA", "No WA", "Nomor WA", "HP/WA", "No HP/WA", "Telp/HP", "No Telp/HP", "No HP/Telp", "Phone", "Mobile", "Phone Number", "Mobile Number", "Mobile Phone", "Phone No", "Cell Phone", "WhatsApp", "WhatsApp Number"), text=True),
    Column("email", "Email", ("E-mail", "Alamat Email", "Surel", "Alamat Surel", "Email Address")),
    Column("address", "Alamat", ("Alamat Domisili", "Alamat Lengkap", "Jalan", "Address", "Home Address")),
    Column("rt", "RT", (), text=True),
    Column("rw", "RW", (), text=True),
    Column("village", "Desa/Kelurahan", ("Desa", "Kelurahan", "Kelurahan/Desa", "Kel/Desa", "Desa/Kel", "Village")),
    Column("district", "Kecamatan", ("Kec", "Kec.", "District", "Sub-district", "Subdistrict")),
    Column("education", "Pendidikan Terakhir", ("Pendidikan", "Pendidikan Akhir", "Ijazah Terakhir", "Education", "Last Education", "Highest Education", "Education Level")),
    Column("employment", "Status Pekerjaan", ("Status Kerja", "Status Bekerja", "Employment Status", "Employment", "Work Status")),
    Column("occupation", "Pekerjaan", ("Jenis Pekerjaan", "Pekerjaan Saat Ini", "Occupation", "Job", "Current Job", "Current Occupation")),
    Column("in_school", "Masih Sekolah/Kuliah", ("Masih Sekolah", "Masih Kuliah", "Sedang Sekolah", "Sedang Sekolah/Kuliah", "Status Sekolah", "In School", "Still in School", "Still in School/University", "Still Studying", "Currently Studying")),
    Column("social_assistance", "Penerima Bansos", ("Bansos", "Penerima Bantuan Sosial", "Menerima Bansos", "Social Assistance")),
    Column("training", "Pelatihan yang Diinginkan", ("Pelatihan", "Minat Pelatihan", "Pelatihan Diminati", "Training")),
)  # fmt: skip

#: A column holding two fields at once: "TTL" (tempat, tanggal lahir) = "Bandung, 17-08-1990".
#: The import splits it (headers.split_combined); the template and export never write one.
BIRTH_PLACE_DATE = Column(
    "birth_place_date",
    "Tempat, Tanggal Lahir",
    ("TTL", "Tempat Tgl Lahir", "Tempat/Tgl Lahir", "Tempat/Tanggal Lahir", "Tempat Tanggal Lahir",
     "Tempat & Tanggal Lahir", "Tempat dan Tanggal Lahir", "Tempat, Tgl. Lahir", "Place and Date of Birth",
     "Place/Date of Birth"),
)  # fmt: skip
#: What a combined column stands for, in the fields it is split into.
COMBINED: dict[str, tuple[str, ...]] = {BIRTH_PLACE_DATE.field: ("birth_place", "birth_date")}

BY_FIELD: dict[str, Column] = {c.field: c for c in (*COLUMNS, BIRTH_PLACE_DATE)}

#: The error report's column naming the registration a warned (yellow) row is stored as. An import
#: of the report applies a fixed yellow row to that registration instead of refusing its NIK as a
#: duplicate (roster.importer); a red row has it empty.
STORED_AS = "Tersimpan Sebagai"
#: Columns of our own error report that an import passes over (a fixed report imports as it is).
REPORT_COLUMNS = ("Baris Asal", STORED_AS, "Kode Temuan", "Keterangan")
#: Columns the export (the rekap) writes before and after the canonical ones; an import of an
#: export passes over them too.
LEAD_HEADERS = ("No", "Nomor Pendaftaran")
TAIL_HEADERS = (
    "Kabupaten/Kota",
    "Provinsi",
    "Status",
    "Temuan",
    "Tanggal Daftar",
    "Meja",
    "Petugas",
)
_IGNORED = (
    "No.", "Nomor", "No Urut", "Nomor Urut", "#", *REPORT_COLUMNS, *LEAD_HEADERS, *TAIL_HEADERS,
)  # fmt: skip


def header_key(text: object) -> str:
    """Compare headers ignoring case, spaces and punctuation: 'No. KTP' == 'no ktp' == 'NOKTP'."""
    return re.sub(r"[^0-9a-z]", "", str(text or "").lower())


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[0-9a-z]+", text.lower()))


_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")

#: Every name a header may have: (its words, the field or "" for a column passed over).
_NAMES: list[tuple[tuple[str, ...], str]] = []
_SYNONYMS: dict[str, str] = {}
for _column in (*COLUMNS, BIRTH_PLACE_DATE):
    for _name in (_column.field, _column.header, *_column.synonyms):
        _SYNONYMS.setdefault(header_key(_name), _column.field)
        _NAMES.append((_words(_name.replace("_", " ")), _column.field))
IGNORED_KEYS = frozenset(header_key(name) for name in _IGNORED)
_NAMES += [(_words(name), "") for name in _IGNORED]
#: Names by (number of words, first letter): an abbreviation keeps both.
_BY_SHAPE: dict[tuple[int, str], list[tuple[tuple[str, ...], str]]] = {}
for _entry in _NAMES:
    if _entry[0]:
        _BY_SHAPE.setdefault((len(_entry[0]), _entry[0][0][0]), []).append(_entry)


def _abbreviates(short: str, word: str) -> bool:
    """'tgl' for 'tanggal', 'no' for 'nomor', 'kel' for 'kelamin': the same first letter, the
    rest of the letters in order. Digits only ever match themselves."""
    if short == word:
        return True
    if len(short) < 2 or len(short) >= len(word) or short[0] != word[0] or short.isdigit():
        return False
    rest = iter(word[1:])
    return all(letter in rest for letter in short[1:])


@lru_cache(maxsize=4096)
def _abbreviated(text: str) -> str | None:
    """The field a header names in abbreviated words ('NO. INDUK KEPENDUDUKAN', 'Jenis Kel.',
    'Tgl Lhr'): each word abbreviates the same word of one known name. '' for a column passed
    over; None for no match, or names of different fields matching alike (ambiguous)."""
    words = _words(text)
    if not words or len(words) > 6:
        return None
    found = {
        target
        for names, target in _BY_SHAPE.get((len(words), words[0][0]), ())
        if all(_abbreviates(w, n) for w, n in zip(words, names, strict=True))
    }
    return found.pop() if len(found) == 1 else None


def field_for_header(text: object) -> str | None:
    """The field a header names, or None: the known names and their spellings ('No. KTP' ==
    'no ktp'), then without a bracketed note ('NIK (16 digit)'), then abbreviated word by word
    ('Jenis Kel.', 'NO. INDUK KEPENDUDUKAN')."""
    found = _SYNONYMS.get(header_key(text))
    if found is not None or not isinstance(text, str) or len(text) > 80:
        return found
    plain = _BRACKETS.sub(" ", text)
    if plain != text and (found := _SYNONYMS.get(header_key(plain))) is not None:
        return found
    return _abbreviated(plain) or None
