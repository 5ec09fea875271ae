"""The roster's columns: the canonical Indonesian header of each field, and the synonyms offices use.

One table serves the header mapping of imports, the template, the error report and the export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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
    Column("birth_place", "Tempat Lahir", ("Tmp Lahir", "Tempat Lhr", "Place of Birth", "Birth Place")),
    Column("birth_date", "Tanggal Lahir", ("Tgl Lahir", "Tgl. Lahir", "Tanggal Lhr", "Tgl Lhr", "Date of Birth", "Birth Date", "DOB", "Birthdate")),
    Column("gender", "Jenis Kelamin", ("L/P", "JK", "Kelamin", "Jenis Kelamin (L/P)", "Gender", "Sex")),
    Column("phone", "Nomor HP", ("No HP", "No. HP", "Nomor Handphone", "No Handphone", "No Telp", "No. Telp", "Nomor Telepon", "No Telepon", "Telepon", "HP", "WA", "No WA", "Nomor WA", "HP/WA", "No HP/WA", "Phone", "Mobile", "Phone Number", "Mobile Number", "Mobile Phone", "Phone No", "Cell Phone", "WhatsApp", "WhatsApp Number"), text=True),
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

BY_FIELD: dict[str, Column] = {c.field: c for c in COLUMNS}

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


_SYNONYMS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.field, _column.header, *_column.synonyms):
        _SYNONYMS.setdefault(header_key(_name), _column.field)
IGNORED_KEYS = frozenset(header_key(name) for name in _IGNORED)


def field_for_header(text: object) -> str | None:
    """The field a header names, or None."""
    return _SYNONYMS.get(header_key(text))
