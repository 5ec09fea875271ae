"""The office's roster template (.xlsx): the canonical columns, Text cells, drop-downs, guidance.

Villages, unions and companies fill it in and send it back; every choice it offers is one the
import understands, and the cells that Excel would damage (NIK, KK, phone, RT/RW) are Text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prakerja_cli.core.fields import EDUCATION, EMPLOYMENT, GENDERS
from prakerja_cli.core.validate import FIELDS
from prakerja_cli.roster.columns import COLUMNS, Column

if TYPE_CHECKING:
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

#: Rows below the header that get Text/date formats and drop-downs (the column styles cover the rest
#: in Excel, but not every spreadsheet program honours column styles).
TEMPLATE_ROWS = 5000
DATA_SHEET = "Data"
GUIDE_SHEET = "Petunjuk"
DATE_FORMAT = "DD-MM-YYYY"
TEXT_FORMAT = "@"
YES_NO: dict[str, str] = {"ya": "ya", "tidak": "tidak"}


def _thousands(number: int) -> str:
    """5000 -> '5.000', as Indonesian writes it."""
    return f"{number:,}".replace(",", ".")


@dataclass(frozen=True, slots=True)
class ColumnGuide:
    """What a column asks for, in the words shown to whoever fills the template in."""

    what: str  # what to enter
    fmt: str  # how to write it
    width: int  # column width in characters


#: The one place for the per-column explanations (Indonesian); keyed by field.
GUIDE: dict[str, ColumnGuide] = {
    "nik": ColumnGuide(
        "Nomor Induk Kependudukan pemohon, sesuai e-KTP.",
        "16 angka tanpa spasi atau titik, diketik sebagai teks.",
        20,
    ),
    "kk": ColumnGuide(
        "Nomor Kartu Keluarga tempat pemohon tercantum.",
        "16 angka tanpa spasi atau titik, diketik sebagai teks.",
        20,
    ),
    "name": ColumnGuide(
        "Nama lengkap persis seperti di e-KTP, tanpa singkatan.",
        "Huruf, spasi, titik, tanda petik dan tanda hubung.",
        30,
    ),
    "birth_place": ColumnGuide("Tempat lahir sesuai e-KTP.", "Teks, mis. BANDUNG.", 16),
    "birth_date": ColumnGuide(
        "Tanggal lahir sesuai e-KTP.",
        "Tampil sebagai HH-BB-TTTT, mis. 17-08-1990. Terbaca benar di Excel mana pun bila "
        "diketik TTTT-BB-HH, mis. 1990-08-17.",
        14,
    ),
    "gender": ColumnGuide("Jenis kelamin sesuai e-KTP.", "Pilih dari daftar: L atau P.", 10),
    "phone": ColumnGuide(
        "Nomor HP aktif pemohon.",
        "Nomor HP Indonesia, mis. 0812-3456-7890, diketik sebagai teks agar angka 0 di depan "
        "tidak hilang.",
        17,
    ),
    "email": ColumnGuide("Alamat email pemohon.", "Mis. nama@contoh.id.", 24),
    "address": ColumnGuide(
        "Alamat domisili: nama jalan, nomor rumah, blok.", "Teks, mis. JL. MERDEKA 1.", 30
    ),
    "rt": ColumnGuide("Nomor RT alamat domisili.", "Angka, mis. 003, sebagai teks.", 6),
    "rw": ColumnGuide("Nomor RW alamat domisili.", "Angka, mis. 007, sebagai teks.", 6),
    "village": ColumnGuide("Kelurahan atau desa alamat domisili.", "Teks, mis. GEGERKALONG.", 18),
    "district": ColumnGuide("Kecamatan alamat domisili.", "Teks, mis. SUKASARI.", 16),
    "education": ColumnGuide("Pendidikan terakhir yang ditamatkan.", "Pilih kode dari daftar.", 16),
    "employment": ColumnGuide("Status pekerjaan saat mendaftar.", "Pilih kode dari daftar.", 17),
    "occupation": ColumnGuide(
        "Pekerjaan saat ini, bila ada (mis. buruh pabrik, pedagang).",
        "Teks. ASN, TNI, Polri, anggota DPR/DPRD, kepala/perangkat desa serta direksi/komisaris "
        "BUMN/BUMD tidak memenuhi syarat.",
        20,
    ),
    "in_school": ColumnGuide(
        "Apakah pemohon masih sekolah atau kuliah?",
        "Pilih ya atau tidak. Yang masih sekolah/kuliah tidak memenuhi syarat.",
        12,
    ),
    "social_assistance": ColumnGuide(
        "Apakah pemohon menerima bantuan sosial lain?",
        "Pilih ya atau tidak; kosong berarti tidak.",
        12,
    ),
    "training": ColumnGuide("Jenis pelatihan yang diinginkan.", "Teks bebas.", 28),
}

#: Allowed values of the drop-down columns: code -> Indonesian label.
CHOICES: dict[str, dict[str, str]] = {
    "gender": {code: label for code, (label, _) in GENDERS.items()},
    "education": {code: label for code, (label, _) in EDUCATION.items()},
    "employment": {code: label for code, (label, _) in EMPLOYMENT.items()},
    "in_school": YES_NO,
    "social_assistance": YES_NO,
}

NOTES: tuple[str, ...] = (
    "Isi satu pemohon per baris pada lembar Data, mulai baris 2. Jangan mengubah, menghapus atau "
    "memindahkan judul kolom.",
    "NIK dan Nomor KK WAJIB diketik sebagai TEKS (16 angka). Kolomnya sudah berformat Teks. Excel "
    "hanya menyimpan 15 angka dari sebuah bilangan: bila sel menampilkan 3,27301E+15 atau angka "
    "terakhir menjadi 0, NIK sudah rusak dan tidak dapat diperbaiki; ketik ulang dari e-KTP/KK.",
    "Bila menyalin dari berkas lain, kolom asalnya juga harus berformat Teks. Mengetik tanda petik "
    "(') di depan angka juga membuat Excel menyimpannya sebagai teks.",
    "Nomor HP, RT dan RW juga berformat Teks agar angka 0 di depan tidak hilang.",
    "Tanggal lahir tampil sebagai HH-BB-TTTT, mis. 17-08-1990. Excel membaca tanggal yang diketik "
    "menurut pengaturan wilayah Windows: di pengaturan Inggris (AS) 05-08-1990 menjadi 8 Mei. "
    "Ketik TTTT-BB-HH, mis. 1990-08-17, agar terbaca benar di komputer mana pun.",
    "Kolom berpilihan: klik sel lalu pilih dari tanda panah; arti setiap kode ada di tabel di "
    "bawah.",
    "Judul kolom berlatar kuning wajib diisi; yang berlatar abu-abu boleh kosong.",
    f"Format dan daftar pilihan disiapkan untuk {_thousands(TEMPLATE_ROWS)} baris (baris 2 sampai "
    f"{_thousands(TEMPLATE_ROWS + 1)}).",
    "Berkas ini berisi data pribadi. Kirimkan hanya kepada Dinas Tenaga Kerja dan hapus salinan "
    "yang tidak diperlukan lagi.",
)

_REQUIRED_FILL = "FFF2CC"
_OPTIONAL_FILL = "EDEDED"


def required_label(field: str) -> str:
    return "Wajib" if FIELDS[field] else "Boleh kosong"


def choices_text(field: str, separator: str = "\n") -> str:
    """'CODE = label' lines for a drop-down column, or '' for a free column."""
    choices = CHOICES.get(field)
    if not choices:
        return ""
    return separator.join(
        code if code == label else f"{code} = {label}" for code, label in choices.items()
    )


def input_message(field: str) -> str:
    """The note Excel shows beside a selected cell; Excel refuses more than 255 characters."""
    guide = GUIDE[field]
    ending = "Wajib diisi." if FIELDS[field] else "Boleh kosong."
    base = f"{guide.what} {guide.fmt} {ending}"
    codes = choices_text(field, "; ")
    if codes and any(code != label for code, label in CHOICES[field].items()):
        with_codes = f"{base} {codes}."
        return with_codes if len(with_codes) <= 255 else f"{base} Arti kode: lembar {GUIDE_SHEET}."
    return base


def write_template(path: Path, *, force: bool = False) -> None:
    """Write the roster template workbook to `path` (.xlsx). An existing file is replaced only
    with `force`: a template handed out may have come back filled in under the same name."""
    from openpyxl import Workbook

    from prakerja_cli.roster.output import check_output, replacing

    check_output(
        path, (".xlsx",), hint="hint.template_suffix", example="template_pendaftar.xlsx",
        force=force,
    )  # fmt: skip
    book = Workbook()
    data = book.active
    assert data is not None  # a new Workbook always has one sheet
    data.title = DATA_SHEET
    _fill_data_sheet(data)
    _fill_guide_sheet(book.create_sheet(GUIDE_SHEET))
    book.properties.title = "Template daftar pendaftar Kartu Prakerja (luring)"
    with replacing(path) as tmp:
        book.save(tmp)


def _fill_data_sheet(ws: Worksheet) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    wrap = Alignment(vertical="center", wrap_text=True)
    last = TEMPLATE_ROWS + 1
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index, value=column.header)
        cell.font = bold
        cell.alignment = wrap
        fill = _REQUIRED_FILL if FIELDS[column.field] else _OPTIONAL_FILL
        cell.fill = PatternFill("solid", start_color=fill, end_color=fill)
        dimension = ws.column_dimensions[letter]
        dimension.width = GUIDE[column.field].width
        number_format = _number_format(column)
        if number_format:
            # The column style reaches rows past the prepared range in Excel; the cells are set
            # too because LibreOffice and others read only the cells' own formats.
            dimension.number_format = number_format
            for row in range(2, last + 1):
                ws.cell(row=row, column=index).number_format = number_format
        ws.add_data_validation(_validation(column, f"{letter}2:{letter}{last}"))
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"


def _number_format(column: Column) -> str | None:
    if column.text:
        return TEXT_FORMAT
    if column.field == "birth_date":
        return DATE_FORMAT
    return None


def _validation(column: Column, cells: str) -> DataValidation:
    """One validation per column: its drop-down or check, and always its input message."""
    from openpyxl.worksheet.datavalidation import DataValidation

    field = column.field
    if field in CHOICES:
        rule = DataValidation(
            type="list", formula1='"' + ",".join(CHOICES[field]) + '"', allow_blank=True
        )
        rule.error = f"Pilih salah satu dari daftar: {', '.join(CHOICES[field])}."
    elif field in ("nik", "kk"):
        rule = DataValidation(type="textLength", operator="equal", formula1="16", allow_blank=True)
        rule.error = "Harus tepat 16 angka, tanpa spasi atau titik, diketik sebagai teks."
    elif field == "birth_date":
        rule = DataValidation(
            type="date",
            operator="between",
            formula1="DATE(1900,1,1)",
            formula2="TODAY()",
            allow_blank=True,
        )
        rule.error = (
            "Excel tidak membaca isian ini sebagai tanggal lahir yang sah. Ketik TTTT-BB-HH, "
            "mis. 1990-08-17."
        )
    else:  # free text: no check, only the input message
        rule = DataValidation(allow_blank=True)
    if rule.error:
        rule.errorTitle = column.header[:32]
        # A date Excel did not recognise may still be text the import reads (17-08-1990), so the
        # date check warns; the others refuse what the import would reject anyway.
        rule.errorStyle = "warning" if field == "birth_date" else "stop"
        rule.showErrorMessage = True
    rule.promptTitle = column.header[:32]
    rule.prompt = input_message(field)
    rule.showInputMessage = True
    rule.add(cells)
    return rule


def _fill_guide_sheet(ws: Worksheet) -> None:
    from openpyxl.styles import Alignment, Font

    from prakerja_cli.roster.output import neutralised

    top = Alignment(vertical="top", wrap_text=True)
    ws.append(["Petunjuk pengisian daftar pendaftar Kartu Prakerja (pendaftaran luring)"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    for number, note in enumerate(NOTES, start=1):
        ws.append(neutralised([f"{number}.", note]))
        ws.merge_cells(start_row=ws.max_row, start_column=2, end_row=ws.max_row, end_column=5)
        ws.cell(row=ws.max_row, column=2).alignment = top
        ws.row_dimensions[ws.max_row].height = 15 * (1 + len(note) // 110)
    ws.append([])
    ws.append(["Kolom", "Wajib?", "Yang diisi", "Format", "Pilihan (kode = arti)"])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        guide = GUIDE[column.field]
        choices = choices_text(column.field)
        ws.append(
            neutralised(
                [column.header, required_label(column.field), guide.what, guide.fmt, choices]
            )
        )
        for cell in ws[ws.max_row]:
            cell.alignment = top
        ws.row_dimensions[ws.max_row].height = 15 * max(
            2, choices.count("\n") + 1, 1 + len(guide.fmt) // 40
        )
    for letter, width in zip("ABCDE", (26, 13, 42, 46, 40), strict=True):
        ws.column_dimensions[letter].width = width
