"""`prakerja nik`: decode without storing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prakerja_cli.demo import synthetic_nik
from tests.conftest import INIT_ARGS, invoke

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
        "eligible": True,
        "eligibility": [],
        "rules": "normal-2023",
        "rules_from": "default",
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


def _aged(years: int) -> str:
    """A synthetic NIK of someone `years` old today (born 1 January, no leap-day trouble)."""
    return synthetic_nik("327301", date(date.today().year - years, 1, 1), "P", 9005)


def test_an_under_age_nik_is_valid_but_the_age_finding_is_shown(office: Path) -> None:
    """`nik` said only "SAH" for a 13-year-old, who cannot register under the rule set."""
    young = _aged(13)
    run = invoke(["nik", young])
    assert run.exit_code == 0  # the NIK itself is valid
    assert run.stdout.splitlines()[0] == f"{young}  NIK SAH, USIA TIDAK MEMENUHI SYARAT"
    assert (
        "DITOLAK Tanggal lahir: usia 13 tahun, di bawah batas minimal 18 tahun. Pemohon belum "
        "dapat mendaftar. (AGE_BELOW_MIN)"
    ) in run.stdout
    assert "aturan bawaan" not in run.stderr  # the office's rule set, not the default
    (item,) = invoke(["nik", young, "--json"]).json()
    assert (item["valid"], item["eligible"], item["rules"], item["rules_from"]) == (
        True, False, "normal-2023", "office"
    )  # fmt: skip
    assert [(f["code"], f["severity"]) for f in item["eligibility"]] == [("AGE_BELOW_MIN", "error")]
    assert item["findings"] == []


def test_the_age_is_judged_by_the_offices_rule_set(office: Path) -> None:
    old = _aged(70)
    (normal,) = invoke(["nik", old, "--json"]).json()
    assert [f["code"] for f in normal["eligibility"]] == ["AGE_ABOVE_MAX"]  # normal-2023: 64
    init = [*INIT_ARGS, "--force"]
    init[init.index("normal-2023")] = "permenaker-17-2020"  # no upper age bound
    assert invoke(init).exit_code == 0
    (old_rules,) = invoke(["nik", old, "--json"]).json()
    assert (old_rules["eligible"], old_rules["rules"]) == (True, "permenaker-17-2020")


def test_without_an_office_the_default_rule_set_judges_and_says_so() -> None:
    run = invoke(["--lang", "en", "nik", _aged(13)])
    assert run.exit_code == 0
    assert "VALID NIK, AGE NOT ELIGIBLE" in run.stdout and "(AGE_BELOW_MIN)" in run.stdout
    assert run.stderr.splitlines() == [
        "Age judged by the default rule set normal-2023: no office is set up on this computer "
        "yet (`prakerja init`)."
    ]


def test_invisible_characters_in_a_pasted_nik_are_dropped_and_others_written_out() -> None:
    """Issue 13: a zero-width space pasted into a NIK made it "has ?" at `prakerja nik`, which
    reads the NIK without the form's cleaning. Invisible format characters are dropped in the
    core's number cleaning; a control character that is a real mistake is named, written out."""
    pasted = "3273015708\u200b9000\ufeff01\u00ad"
    run = invoke(["nik", pasted, "--json"])
    assert run.exit_code == 0, run.stdout
    assert run.json()[0]["valid"] is True
    bell = invoke(["nik", "32730157089000\a1"])
    assert bell.exit_code == 3
    assert "tetapi ada \\u0007." in bell.stdout + bell.stderr
    assert "ada ?" not in bell.stdout + bell.stderr
