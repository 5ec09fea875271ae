"""The roster template: columns, Text cells, drop-downs, input messages, Petunjuk; it imports."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import typer
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from prakerja_cli.cli import GuardedGroup
from prakerja_cli.cli.roster_template_cmd import template
from prakerja_cli.core.fields import EDUCATION, EMPLOYMENT
from prakerja_cli.demo import synthetic_nik
from prakerja_cli.errors import UsageError
from prakerja_cli.roster.columns import COLUMNS, field_for_header
from prakerja_cli.roster.template import TEMPLATE_ROWS, write_template
from tests.conftest import Run, invoke

LETTER = {c.field: openpyxl.utils.get_column_letter(i) for i, c in enumerate(COLUMNS, start=1)}
LAST = TEMPLATE_ROWS + 1


def run(args: list[str]) -> Run:
    """The command through a tiny app of its own (the real app wires it as `roster template`)."""
    app = typer.Typer(cls=GuardedGroup)
    app.command("template")(template)
    app.command("unused", hidden=True)(lambda: None)  # two commands: a group, like the real one
    result = CliRunner().invoke(app, ["template", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def book(tmp_path: Path) -> openpyxl.Workbook:
    path = tmp_path / "template.xlsx"
    write_template(path)
    return openpyxl.load_workbook(path)


def _validations(ws: Worksheet) -> dict[str, Any]:
    """Data validations by the column letter they cover."""
    found: dict[str, Any] = {}
    for rule in ws.data_validations.dataValidation:
        for cells in rule.sqref.ranges:
            letter = openpyxl.utils.get_column_letter(cells.min_col)
            assert (cells.min_col, cells.min_row, cells.max_row) == (cells.max_col, 2, LAST)
            found[letter] = rule
    return found


def test_data_sheet_has_the_canonical_headers_bold_and_frozen(book: openpyxl.Workbook) -> None:
    assert book.sheetnames == ["Data", "Petunjuk"]
    ws = book["Data"]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert all(field_for_header(c.value) == c2.field for c, c2 in zip(ws[1], COLUMNS, strict=True))
    assert ws.column_dimensions[LETTER["nik"]].width >= 18  # 16 digits fit
    assert ws.column_dimensions[LETTER["name"]].width > ws.column_dimensions[LETTER["rt"]].width


def test_nik_kk_phone_rt_rw_are_text_cells_and_the_birth_date_a_date(
    book: openpyxl.Workbook,
) -> None:
    ws = book["Data"]
    text_fields = {c.field for c in COLUMNS if c.text}
    assert text_fields == {"nik", "kk", "phone", "rt", "rw"}
    for field in text_fields:
        letter = LETTER[field]
        for row in (2, 100, LAST):
            assert ws[f"{letter}{row}"].number_format == "@", (field, row)
        assert ws.column_dimensions[letter].number_format == "@"
    assert ws[f"{LETTER['birth_date']}2"].number_format == "DD-MM-YYYY"
    assert ws[f"{LETTER['name']}2"].number_format == "General"
    assert ws[f"{LETTER['nik']}1"].number_format == "General"  # the header stays a header


def test_drop_downs_checks_and_input_messages(book: openpyxl.Workbook) -> None:
    rules = _validations(book["Data"])
    assert set(rules) == set(LETTER.values())  # every column has its input message

    def listed(field: str) -> list[str]:
        rule = rules[LETTER[field]]
        assert rule.type == "list" and rule.showErrorMessage
        return str(rule.formula1).strip('"').split(",")

    assert listed("gender") == ["L", "P"]
    assert listed("education") == list(EDUCATION)
    assert listed("employment") == list(EMPLOYMENT)
    assert listed("in_school") == ["ya", "tidak"]
    assert listed("social_assistance") == ["ya", "tidak"]
    for field in ("nik", "kk"):
        rule = rules[LETTER[field]]
        assert (rule.type, rule.operator, rule.formula1) == ("textLength", "equal", "16")
    born = rules[LETTER["birth_date"]]
    assert born.type == "date" and born.formula1 == "DATE(1900,1,1)" and born.formula2 == "TODAY()"
    assert rules[LETTER["training"]].type is None  # free text: only the message
    for column in COLUMNS:
        rule = rules[LETTER[column.field]]
        assert rule.showInputMessage and rule.promptTitle == column.header
        # Excel calls the file damaged beyond these lengths.
        assert 20 < len(rule.prompt) <= 255 and len(rule.promptTitle) <= 32
        assert len(rule.error or "") <= 255 and len(str(rule.formula1 or "")) <= 255
    assert "Wajib diisi" in rules[LETTER["nik"]].prompt
    assert "Boleh kosong" in rules[LETTER["email"]].prompt
    assert "L = Laki-laki" in rules[LETTER["gender"]].prompt
    assert "KORBAN_PHK = Pekerja terkena PHK" in rules[LETTER["employment"]].prompt


def test_petunjuk_explains_every_column_in_indonesian(book: openpyxl.Workbook) -> None:
    ws = book["Petunjuk"]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert "NIK dan Nomor KK WAJIB diketik sebagai TEKS" in text
    assert "3,27301E+15" in text
    rows = {r[0].value: [c.value for c in r] for r in ws.iter_rows() if r[0].value}
    for column in COLUMNS:
        assert column.header in rows, column.header
    assert rows["NIK"][1] == "Wajib" and rows["Email"][1] == "Boleh kosong"
    assert "16 angka" in rows["NIK"][3]
    for code, (label, _) in EDUCATION.items():
        assert code in rows["Pendidikan Terakhir"][4]
        assert label in rows["Pendidikan Terakhir"][4]
    assert "P = Perempuan" in rows["Jenis Kelamin"][4]
    assert rows["Masih Sekolah/Kuliah"][4] == "ya\ntidak"


def test_write_template_refuses_another_suffix(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        write_template(tmp_path / "template.xls")
    assert caught.value.key == "error.output_suffix"
    assert not (tmp_path / "template.xls").exists()


def test_a_filled_template_imports(office: Path, tmp_path: Path) -> None:
    path = tmp_path / "isi.xlsx"
    write_template(path)
    book = openpyxl.load_workbook(path)
    ws = book["Data"]
    nik = synthetic_nik("327301", date(1990, 8, 17), "P", 9101)
    values = {
        "nik": nik, "kk": "3273010101100002", "name": "Siti Aminah", "birth_date":
        datetime(1990, 8, 17), "gender": "P", "phone": "081234567890", "address": "Jl. Merdeka 1",
        "rt": "003", "rw": "007", "village": "Gegerkalong", "district": "Sukasari",
        "education": "SMA", "employment": "KORBAN_PHK", "in_school": "tidak",
        "social_assistance": "tidak", "training": "Menjahit",
    }  # fmt: skip
    for field, value in values.items():
        ws[f"{LETTER[field]}2"] = value
    book.save(path)
    done = invoke(["roster", "import", str(path), "--json"])
    assert done.exit_code == 0, done.stdout + done.stderr
    summary = done.json()
    assert (summary["stored"], summary["rejected"], summary["unknown_columns"]) == (1, 0, [])
    stored = invoke(["applicants", "show", nik, "--json", "--reveal"]).json()
    assert (stored["nik"], stored["phone"], stored["rt"]) == (nik, "+6281234567890", "003")
    assert stored["birth_date"] == "1990-08-17"


def test_command_writes_and_will_not_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "template_pendaftar.xlsx"
    done = run([str(path)])
    assert done.exit_code == 0, done.stderr
    assert str(path) in done.stdout and path.is_file()
    path.write_bytes(b"filled in by a village")
    refused = run([str(path)])
    assert refused.exit_code == 2
    assert "sudah ada" in refused.stderr and "--force" in refused.stderr
    assert path.read_bytes() == b"filled in by a village"
    forced = run([str(path), "--force", "--json"])
    assert forced.exit_code == 0
    assert forced.json() == {"file": str(path.resolve())}
    assert openpyxl.load_workbook(path).sheetnames == ["Data", "Petunjuk"]


def test_command_refuses_other_suffixes_and_missing_folders(tmp_path: Path) -> None:
    wrong = run([str(tmp_path / "template.csv")])
    assert wrong.exit_code == 2 and ".csv" in wrong.stderr and ".xlsx" in wrong.stderr
    nowhere = run([str(tmp_path / "tidak-ada" / "template.xlsx")])
    assert nowhere.exit_code == 2 and "tidak-ada" in nowhere.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_command_help_ends_with_an_example() -> None:
    from tests.conftest import invoke

    done = invoke(["roster", "template", "--help"])
    assert done.exit_code == 0 and "Contoh: prakerja roster template" in done.stdout
    english = invoke(["roster", "template", "--help", "--lang", "en"])
    assert "Example: prakerja roster template" in english.stdout
