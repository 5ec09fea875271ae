"""`prakerja nik`: decode without storing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prakerja_cli.demo import synthetic_nik
from tests.conftest import invoke

NIK = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)


def test_nik_json_shape_without_an_office() -> None:
    run = invoke(["nik", NIK, "--json"])
    assert run.exit_code == 0, run.stderr
    (item,) = run.json()
    assert item == {
        "nik": NIK,
        "valid": True,
        "province": "Jawa Barat",
        "regency": "Kota Bandung",
        "district": "Sukasari",
        "birth_date": "1990-08-17",
        "gender": "P",
        "age": item["age"],
        "serial": "9001",
        "findings": [],
    }
    assert item["age"] >= 36


def test_nik_reports_each_problem_and_exits_3(office: Path) -> None:
    broken = NIK[:6] + "32" + NIK[8:]  # day 32 is nobody's birthday
    run = invoke(["nik", NIK, broken, "3.27301E+15", "--json"])
    assert run.exit_code == 3
    good, bad, rounded = run.json()
    assert good["valid"] and not bad["valid"] and not rounded["valid"]
    assert [f["code"] for f in bad["findings"]] == ["NIK_BIRTHDATE_INVALID"]
    assert bad["findings"][0]["severity"] == "error"
    assert [f["code"] for f in rounded["findings"]] == ["NIK_PRECISION_LOST"]


def test_nik_human_output_in_both_languages(office: Path) -> None:
    run = invoke(["nik", NIK])
    assert run.exit_code == 0
    assert "Perempuan, lahir 17-08-1990" in run.stdout
    assert "Kota Bandung" in run.stdout
    run = invoke(["--lang", "en", "nik", NIK[:15]])
    assert run.exit_code == 3
    assert "NIK: must be 16 digits (read 15)" in run.stdout


def test_nik_stores_nothing(office: Path) -> None:
    invoke(["nik", NIK])
    assert invoke(["applicants", "list", "--json"]).json() == []


def test_unknown_kecamatan_is_a_warning_only(office: Path) -> None:
    odd = synthetic_nik("327399", date(1990, 8, 17), "L", 9001)
    run = invoke(["nik", odd, "--json"])
    assert run.exit_code == 0
    (item,) = run.json()
    assert item["valid"] is True
    assert [(f["code"], f["severity"]) for f in item["findings"]] == [
        ("NIK_REGION_UNKNOWN", "warning")
    ]


def test_an_unknown_kecamatan_is_left_out_of_the_place_not_shown_as_a_question_mark(
    office: Path,
) -> None:
    """Was: "Kec. ?, Kota Bandung, Jawa Barat"."""
    odd = synthetic_nik("327399", date(1990, 8, 17), "L", 9001)
    run = invoke(["nik", odd])
    assert "?" not in run.stdout
    assert "\n  Kota Bandung, Jawa Barat\n" in run.stdout
    assert "Kec. Sukasari, Kota Bandung, Jawa Barat" in invoke(["nik", NIK]).stdout


def test_unknown_language_is_a_usage_error() -> None:
    run = invoke(["--lang", "fr", "nik", NIK])
    assert run.exit_code == 2
    assert "--lang" in run.stderr


def test_a_letter_in_the_nik_is_named_with_the_fix() -> None:
    """Was "must be 16 digits (read 16)" for a NIK typed with the letter O for a zero."""
    typo = NIK[:4] + "O" + NIK[5:]
    run = invoke(["nik", typo])
    assert run.exit_code == 3
    assert (
        "DITOLAK NIK: hanya boleh angka 0-9, tetapi ada O. Huruf O ditulis 0, huruf l atau I "
        "ditulis 1; salin ulang dari e-KTP. (NIK_FORMAT)" in run.stdout
    )
    english = invoke(["--lang", "en", "nik", typo, "--json"])
    (item,) = english.json()
    assert item["findings"][0]["message"].startswith("NIK: digits 0-9 only, but it has O.")
