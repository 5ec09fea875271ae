"""The interactive `prakerja register` form at a real pseudo-terminal (tests/terminal.py): what a
field's value decides is shown right after it, a refused field is typed again, a warned one can
be kept with Enter or retyped in place, and only the clerk's own "store" stores anything."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from terminal import Terminal

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.engine import dbapi as sqlite3

NIK = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)
KK = "3273010101100002"

#: The form's questions (their labels' start) and a clean applicant's answers, in order.
CLEAN = [
    ("NIK", NIK), ("Nomor KK", KK), ("Nama lengkap", "Siti Aminah"), ("Tempat lahir", "Bandung"),
    ("Tanggal lahir", ""), ("Jenis kelamin", ""), ("Nomor HP", "0812 3456 7890"), ("Email", ""),
    ("Alamat", "Jl. Merdeka 1"), ("RT", "3"), ("RW", "7"), ("Kelurahan/desa", "Gegerkalong"),
    ("Kecamatan", "Sukasari"), ("Pendidikan terakhir", "SMA"), ("Status pekerjaan", "phk"),
    ("Pekerjaan", ""), ("Masih sekolah/kuliah", ""), ("Penerima bansos lain", ""),
    ("Pelatihan yang diinginkan", "Menjahit"),
]  # fmt: skip


def fill(terminal: Terminal, answers: list[tuple[str, str]]) -> None:
    for label, text in answers:
        terminal.answer(label, text)


def rows(office: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        query = "SELECT registration_number, nik, district, in_school, status FROM applicants"
        return [dict(row) for row in conn.execute(query)]


def test_a_mistyped_nik_is_typed_again_and_enter_at_the_summary_stores(office: Path) -> None:
    terminal = Terminal(["register"], office)
    terminal.answer("NIK", NIK[:15])  # one digit short
    screen = terminal.answer("NIK (ketik ulang", NIK)
    assert "NIK_FORMAT" in screen
    fill(terminal, CLEAN[1:])
    screen = terminal.answer("Simpan pendaftaran ini?", "")  # Enter: store
    assert "Ringkasan" in screen and "SITI AMINAH" in screen
    code, screen = terminal.close()
    assert code == 0, screen
    assert "Nomor pendaftaran: 3273-D01-000001" in screen
    assert rows(office) == [
        {"registration_number": "3273-D01-000001", "nik": NIK, "district": "SUKASARI",
         "in_school": 0, "status": "valid"},
    ]  # fmt: skip


def test_an_under_age_nik_is_shown_right_after_the_nik_and_corrected(office: Path) -> None:
    young = synthetic_nik("327301", date(date.today().year - 14, 1, 1), "P", 9002)  # aged 14
    terminal = Terminal(["register"], office)
    terminal.answer("NIK", young)
    # Said before the KK is asked: the NIK's birth digits already say the age.
    screen = terminal.answer(f"NIK (Enter = tetap {young}, atau ketik ulang)", NIK)
    assert "AGE_BELOW_MIN" in screen
    assert "usia 14 tahun, di bawah batas minimal 18 tahun" in " ".join(screen.split())
    assert "Nomor KK" not in screen
    fill(terminal, CLEAN[1:])
    terminal.answer("Simpan pendaftaran ini?", "ya")
    code, screen = terminal.close()
    assert code == 0, screen
    assert [(row["nik"], row["status"]) for row in rows(office)] == [(NIK, "valid")]


def test_an_under_age_nik_is_refused_at_its_birth_date_unless_dukcapil_corrected_it(
    office: Path,
) -> None:
    young = synthetic_nik("327301", date(date.today().year - 14, 1, 1), "P", 9004)
    terminal = Terminal(["register"], office)
    terminal.answer("NIK", young)
    terminal.answer(f"NIK (Enter = tetap {young}", "")  # the NIK is right, as on the e-KTP
    fill(terminal, CLEAN[1:4])
    # Enter takes the NIK's date: the birth date decides, and refuses.
    screen = terminal.answer("Tanggal lahir", "")
    screen = terminal.answer("Tanggal lahir (HH-BB-TTTT; ketik ulang", "01-01-1990")
    assert "AGE_BELOW_MIN" in screen
    # Dukcapil corrected the date on the e-KTP: it differs from the NIK (a warning), kept.
    screen = terminal.answer("Tanggal lahir (HH-BB-TTTT; Enter = tetap 01-01-1990", "")
    assert "NIK_BIRTHDATE_MISMATCH" in screen
    fill(terminal, CLEAN[5:])
    screen = terminal.answer("Simpan pendaftaran ini?", "")
    assert "NIK_BIRTHDATE_MISMATCH" in screen
    code, screen = terminal.close()
    assert code == 0, screen
    assert [(row["nik"], row["status"]) for row in rows(office)] == [(young, "flagged")]


def test_still_in_school_is_refused_at_the_field(office: Path) -> None:
    terminal = Terminal(["register"], office)
    at = [label for label, _ in CLEAN].index("Masih sekolah/kuliah")
    fill(terminal, CLEAN[:at])
    terminal.answer("Masih sekolah/kuliah", "ya")
    screen = terminal.answer("Masih sekolah/kuliah (ya/tidak; ketik ulang", "tidak")
    assert "IN_FORMAL_EDUCATION" in screen
    assert "Penerima bansos" not in screen
    fill(terminal, CLEAN[at + 1 :])
    terminal.answer("Simpan pendaftaran ini?", "")
    code, screen = terminal.close()
    assert code == 0, screen
    assert [(row["in_school"], row["status"]) for row in rows(office)] == [(0, "valid")]


def test_a_warned_kecamatan_is_retyped_in_place(office: Path) -> None:
    terminal = Terminal(["register"], office)
    at = [label for label, _ in CLEAN].index("Kecamatan")
    fill(terminal, CLEAN[:at])
    terminal.answer("Kecamatan", "Sukasri")
    # The natural retype goes to the same field, not to the next question.
    screen = terminal.answer("Kecamatan (Enter = tetap Sukasri, atau ketik ulang)", "Sukasari")
    assert "DISTRICT_UNKNOWN" in screen and "Nama terdekat: Sukasari" in " ".join(screen.split())
    screen = terminal.answer("Pendidikan terakhir", "SMA")
    assert "DISTRICT_UNKNOWN" not in screen and "CHOICE_INVALID" not in screen
    fill(terminal, CLEAN[at + 2 :])
    screen = terminal.answer("Simpan pendaftaran ini?", "")
    assert "DISTRICT_UNKNOWN" not in screen  # the summary has nothing left to say
    code, screen = terminal.close()
    assert code == 0, screen
    assert [(row["district"], row["status"]) for row in rows(office)] == [("SUKASARI", "valid")]


def test_a_warned_value_is_kept_with_enter(office: Path) -> None:
    terminal = Terminal(["register"], office)
    at = [label for label, _ in CLEAN].index("Kecamatan")
    fill(terminal, CLEAN[:at])
    terminal.answer("Kecamatan", "Sukasri")
    terminal.answer("Kecamatan (Enter = tetap Sukasri", "")
    fill(terminal, CLEAN[at + 1 :])
    terminal.answer("Simpan pendaftaran ini?", "")
    code, screen = terminal.close()
    assert code == 0, screen
    assert [(row["district"], row["status"]) for row in rows(office)] == [("SUKASRI", "flagged")]


def test_leaving_without_storing_asks_once_more(office: Path) -> None:
    terminal = Terminal(["register"], office)
    fill(terminal, CLEAN)
    terminal.answer("Simpan pendaftaran ini?", "tidak")
    terminal.answer("Nomor isian yang diperbaiki", "")  # nothing suggested: Enter is asked again
    terminal.answer("Nomor isian yang diperbaiki", "0")
    terminal.answer("Yakin tidak disimpan?", "")  # Enter: no, back to the summary
    screen = terminal.answer("Simpan pendaftaran ini?", "tidak")
    assert "Ringkasan" in screen
    assert rows(office) == []
    terminal.answer("Nomor isian yang diperbaiki", "0")
    terminal.answer("Yakin tidak disimpan?", "ya")
    code, screen = terminal.close()
    assert code == 130, screen
    assert "Pilih salah satu" in screen
    assert "Dibatalkan; tidak ada yang disimpan." in screen
    assert rows(office) == []


def test_ctrl_c_at_the_summary_stores_nothing(office: Path) -> None:
    terminal = Terminal(["register"], office)
    fill(terminal, CLEAN)
    terminal.expect(r"(?m)^Simpan pendaftaran ini\?[^\n]*: $")
    terminal.interrupt()
    code, screen = terminal.close()
    assert code == 130, screen
    assert "Dibatalkan; tidak ada yang disimpan." in screen
    assert "Traceback" not in screen
    assert rows(office) == []


def test_a_possible_duplicate_offers_the_nik_again_and_the_fix_is_typed_in_place(
    office: Path,
) -> None:
    """The same person under another NIK (a serial digit mistyped): once the birth date is typed
    the form names the stored registration and asks the NIK again; the clerk checks the KTP and
    types it right, and the form goes on where it was."""
    from tests.conftest import applicant_args, invoke

    stored = synthetic_nik("327301", date(1990, 8, 17), "P", 9101)
    assert invoke(applicant_args(nik=stored, name="Siti Aminah")).exit_code == 0
    typo = synthetic_nik("327301", date(1990, 8, 17), "P", 9107)
    terminal = Terminal(["register"], office)
    terminal.answer("NIK", typo)
    fill(terminal, CLEAN[1:4])
    terminal.answer("Tanggal lahir", "")
    # The KTP says the stored one is right: this is the same person, registered already.
    screen = terminal.answer(f"NIK (Enter = tetap {typo}", stored)
    said = " ".join(screen.split())
    assert "mungkin orang yang sama dengan 3273-D01-000001 (SITI AMINAH" in said
    assert stored not in screen  # the other record's NIK is masked
    assert "NIK_DUPLICATE" in terminal.expect("NIK_DUPLICATE")
    terminal.interrupt()
    code, _ = terminal.close()
    assert code == 130
    assert [row["nik"] for row in rows(office)] == [stored]
