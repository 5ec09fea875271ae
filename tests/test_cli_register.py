"""`prakerja register`: with options for scripts, and the interactive desk form."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.i18n import t
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke

NIK = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)
KK = "3273010101100002"


def count_rows(home: Path) -> int:
    with sqlite3.connect(home / "prakerja.db") as conn:
        return int(conn.execute("SELECT count(*) FROM applicants").fetchone()[0])


def test_register_with_options_stores_and_prints_a_receipt(office: Path) -> None:
    run = invoke(applicant_args(nik=NIK))
    assert run.exit_code == 0, run.stderr
    assert "3273-D01-000001" in run.stdout
    assert "SITI AMINAH" in run.stdout
    assert NIK not in run.stdout  # the receipt masks the NIK
    assert "3273**********01" in run.stdout
    row = invoke(["applicants", "show", "3273-D01-000001", "--json", "--reveal"]).json()
    assert row["nik"] == NIK
    assert row["phone"] == "+6281234567890"
    assert row["status"] == "valid"
    assert row["source"] == "desk"
    assert row["desk"] == "D01" and row["operator"] == "Rina"
    assert row["regency"] == "KOTA BANDUNG" and row["province"] == "JAWA BARAT"


def test_register_json_is_one_document(office: Path) -> None:
    run = invoke([*applicant_args(nik=NIK), "--json"])
    assert run.exit_code == 0
    doc = run.json()
    assert doc["stored"] is True
    assert doc["registration_number"] == "3273-D01-000001"
    assert doc["status"] == "valid"
    assert doc["findings"] == []


def test_registration_numbers_count_up_per_desk(office: Path) -> None:
    for serial in (1, 2, 3):
        nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
        assert invoke([*applicant_args(nik=nik, kk=f"327301010110000{serial}")]).exit_code == 0
    numbers = [r["registration_number"] for r in invoke(["applicants", "list", "--json"]).json()]
    assert sorted(numbers) == ["3273-D01-000001", "3273-D01-000002", "3273-D01-000003"]


def test_blocking_findings_store_nothing_and_exit_3(office: Path) -> None:
    young = synthetic_nik("327301", date(2012, 5, 1), "L", 9002)
    run = invoke(
        [*applicant_args(nik=young, birth_date="2012-05-01", gender="L", name="Andi"), "--json"]
    )
    assert run.exit_code == 3
    doc = run.json()
    assert doc["stored"] is False
    assert "AGE_BELOW_MIN" in [f["code"] for f in doc["findings"]]
    assert count_rows(office) == 0


def test_rejection_message_names_field_and_fix(office: Path) -> None:
    run = invoke(applicant_args(nik=NIK, extra=["--phone", "12345"]))
    assert run.exit_code == 3
    assert "Nomor HP" in run.stderr and "0812-3456-7890" in run.stderr
    assert "PHONE_INVALID" in run.stderr


def test_warnings_are_stored_as_flagged(office: Path) -> None:
    run = invoke([*applicant_args(nik=NIK, birth_date="1990-08-18"), "--json"])
    assert run.exit_code == 0
    doc = run.json()
    assert doc["stored"] and doc["status"] == "flagged"
    assert [f["code"] for f in doc["findings"]] == ["NIK_BIRTHDATE_MISMATCH"]


def test_duplicate_nik_is_refused(office: Path) -> None:
    assert invoke(applicant_args(nik=NIK)).exit_code == 0
    run = invoke([*applicant_args(nik=NIK), "--json"])
    assert run.exit_code == 3
    assert [f["code"] for f in run.json()["findings"]] == ["NIK_DUPLICATE"]
    assert count_rows(office) == 1


def test_a_duplicate_with_other_content_names_the_fields_not_their_values(office: Path) -> None:
    assert invoke(applicant_args(nik=NIK)).exit_code == 0
    run = invoke([*applicant_args(nik=NIK, name="Siti Aminah Putri"), "--email", "s@contoh.id"])
    assert run.exit_code == 3
    said = " ".join(run.stderr.split())
    assert "dengan isi yang berbeda pada: Nama lengkap (sesuai KTP), Email." in said
    assert "s@contoh.id" not in run.stderr and NIK not in run.stderr
    same = invoke([*applicant_args(nik=NIK), "--json"]).json()["findings"][0]["message"]
    assert "sudah terdaftar" in same and "berbeda" not in same  # identical: nothing to name
    assert count_rows(office) == 1


def test_third_member_of_a_kk_is_warned(office: Path) -> None:
    # Three people of one family born on one day (triplets): not one person twice.
    for serial, name in ((1, "Siti Aminah"), (2, "Dewi Lestari")):
        nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
        assert invoke(applicant_args(nik=nik, kk=KK, name=name)).exit_code == 0
    third = synthetic_nik("327301", date(1990, 8, 17), "P", 3)
    doc = invoke([*applicant_args(nik=third, kk=KK, name="Rina Wati"), "--json"]).json()
    assert doc["status"] == "flagged"
    assert [f["code"] for f in doc["findings"]] == ["KK_LIMIT_EXCEEDED"]


def test_editing_an_early_member_of_a_full_kk_is_not_warned(office: Path) -> None:
    """Only the third member registered is one too many; editing the first two stays clean."""
    for serial, name in ((1, "Siti Aminah"), (2, "Dewi Lestari"), (3, "Rina Wati")):
        nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
        assert invoke(applicant_args(nik=nik, kk=KK, name=name)).exit_code == 0
    first = invoke(["applicants", "edit", "3273-D01-000001", "--set", "rt=7", "--json"])
    assert first.exit_code == 0, first.stderr
    assert [f["code"] for f in first.json()["findings"]] == []
    third = invoke(["applicants", "edit", "3273-D01-000003", "--set", "rt=7", "--json"])
    assert [f["code"] for f in third.json()["findings"]] == ["KK_LIMIT_EXCEEDED"]


def test_without_yes_the_options_path_asks_to_confirm(office: Path) -> None:
    args = [a for a in applicant_args(nik=NIK) if a != "--yes"]
    run = invoke(args, input="n\n")
    assert run.exit_code == 130
    assert count_rows(office) == 0
    assert invoke(args, input="y\n").exit_code == 0
    assert count_rows(office) == 1


# The interactive form. Fields are asked in core.validate.FIELDS order:
# nik, kk, name, birth_place, birth_date, gender, phone, email, address, rt, rw, village,
# district, education, employment, occupation, in_school, social_assistance, training.


def form_answers(nik: str = NIK, *, kk: str = KK, phone: str = "0812 3456 7890") -> list[str]:
    return [
        nik, kk, "siti  aminah", "Bandung", "", "", phone, "", "Jl. Merdeka 1", "3", "7",
        "Gegerkalong", "Sukasari", "sma", "phk", "", "", "", "Menjahit",
    ]  # fmt: skip


def test_interactive_form_stores_after_confirmation(office: Path) -> None:
    run = invoke(["register"], input="\n".join([*form_answers(), "y"]) + "\n")
    assert run.exit_code == 0, run.stderr
    assert "3273-D01-000001" in run.stdout
    # What the NIK says is shown as soon as it is typed, and becomes the default.
    assert "Perempuan, lahir 17-08-1990" in run.stderr
    row = invoke(["applicants", "show", "3273-D01-000001", "--json", "--reveal"]).json()
    assert row["birth_date"] == "1990-08-17" and row["gender"] == "P"
    assert row["name"] == "SITI AMINAH"
    assert row["employment"] == "KORBAN_PHK"
    assert row["training"] == "MENJAHIT"
    assert row["rt"] == "003"


def test_interactive_form_asks_again_after_a_bad_value(office: Path) -> None:
    answers = form_answers()
    answers[0:1] = [
        "3273015708900",
        "3.27301E+15",
        NIK,
    ]  # too short, then Excel-rounded, then right
    answers[8:9] = ["12345", "0812 3456 7890"]  # phone (shifted by the two retries): wrong, right
    run = invoke(["register"], input="\n".join([*answers, "y"]) + "\n")
    assert run.exit_code == 0, run.stderr
    assert "NIK_FORMAT" in run.stderr
    assert "NIK_PRECISION_LOST" in run.stderr
    assert "PHONE_INVALID" in run.stderr
    assert count_rows(office) == 1


def test_interactive_form_shows_an_existing_registration(office: Path) -> None:
    assert invoke(applicant_args(nik=NIK, name="Siti Aminah")).exit_code == 0
    other = synthetic_nik("327301", date(1990, 8, 17), "P", 9002)
    answers = form_answers()
    answers[0:1] = [NIK, other]
    # The same name and birth date under the other NIK: possibly one person (a NIK typo); once
    # the birth date is typed the NIK is offered again, and Enter keeps it.
    answers[6:6] = [""]
    run = invoke(["register"], input="\n".join([*answers, "y"]) + "\n")
    assert run.exit_code == 0, run.stderr
    assert "sudah terdaftar: 3273-D01-000001 atas nama SITI AMINAH" in run.stderr
    assert "NIK_DUPLICATE" in run.stderr
    said = " ".join(run.stderr.split())
    assert "mungkin orang yang sama dengan 3273-D01-000001 (SITI AMINAH" in said
    assert f"NIK (Enter = tetap {other}, atau ketik ulang)" in said
    assert count_rows(office) == 2


def test_interactive_form_warns_on_a_third_kk_member(office: Path) -> None:
    for serial, name in ((1, "Dewi Lestari"), (2, "Rina Wati")):
        nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
        assert invoke(applicant_args(nik=nik, kk=KK, name=name)).exit_code == 0
    answers = form_answers()
    answers[2:2] = [""]  # after the warning, Enter keeps the KK
    run = invoke(["register"], input="\n".join([*answers, "y"]) + "\n")
    assert run.exit_code == 0, run.stderr
    assert "KK_LIMIT_EXCEEDED" in run.stderr
    assert "Nomor KK (Enter = tetap 3273010101100002, atau ketik ulang)" in run.stderr
    rows = invoke(["applicants", "list", "--json"]).json()
    assert [r["status"] for r in rows if r["registration_number"].endswith("3")] == ["flagged"]


def test_interactive_form_lets_the_clerk_correct_a_field(office: Path) -> None:
    # Keeps a warned gender, says "no" at the summary, takes the suggested field (Enter: 6,
    # gender), corrects it, then confirms.
    answers = form_answers()
    answers[5:6] = ["L", ""]  # wrong gender: a warning at once; Enter keeps it
    run = invoke(["register"], input="\n".join([*answers, "n", "", "P", "y"]) + "\n")
    assert run.exit_code == 0, run.stderr
    assert "NIK_GENDER_MISMATCH" in run.stderr
    row = invoke(["applicants", "list", "--json"]).json()[0]
    assert row["findings"] == [] and row["status"] == "valid"


def test_interactive_form_blocks_an_ineligible_applicant_until_fixed(office: Path) -> None:
    answers = form_answers()
    answers[16:17] = ["ya", "tidak"]  # still in school: refused at the field, asked again
    run = invoke(["register"], input="\n".join([*answers, "y"]) + "\n")
    assert run.exit_code == 0, run.stderr
    refused = run.stderr.index("IN_FORMAL_EDUCATION")
    assert refused < run.stderr.index(t("form.summary")), "refused when typed"
    assert "IN_FORMAL_EDUCATION" not in run.stderr[refused + 1 :]
    assert count_rows(office) == 1


def test_cancelling_the_form_stores_nothing(office: Path) -> None:
    # End of input (what Ctrl-C/Ctrl-D does at a prompt) half-way through the form.
    run = invoke(["register"], input="\n".join(form_answers()[:5]) + "\n")
    assert run.exit_code == 130
    assert "tidak ada yang disimpan" in run.stderr
    assert count_rows(office) == 0
    # Leaving at the summary asks once more; Enter there goes back to the summary.
    answers = [*form_answers(), "n", "0", "", "n", "0", "ya"]
    run = invoke(["register"], input="\n".join(answers) + "\n")
    assert run.exit_code == 130
    assert run.stderr.count(t("prompt.confirm_discard")) == 2
    assert run.stderr.count(t("form.summary")) == 2
    assert count_rows(office) == 0


def test_form_speaks_english_on_request(office: Path) -> None:
    run = invoke(["--lang", "en", "register"], input="\n".join([*form_answers(), "y"]) + "\n")
    assert run.exit_code == 0
    assert "Offline Kartu Prakerja registration" in run.stderr
    assert "Registration number: 3273-D01-000001" in run.stdout


def test_interactive_form_names_a_misspelt_kecamatan_at_once(office: Path) -> None:
    answers = form_answers()
    answers[12:13] = ["Sukasri", ""]  # Kecamatan Sukasari, misspelt: a warning; Enter keeps it
    run = invoke(["register"], input="\n".join([*answers, "y"]) + "\n")
    assert run.exit_code == 0, run.stderr
    shown = run.stderr.index("DISTRICT_UNKNOWN")
    assert shown < run.stderr.index(t("form.summary")), "named when typed, not only at the end"
    assert "Nama terdekat: Sukasari" in " ".join(run.stderr.split())
    assert count_rows(office) == 1


def test_the_help_example_stores_a_clean_record(office: Path) -> None:
    """The example in `register --help`, run as written, stored a flagged record (its village
    was not a desa of its kecamatan)."""
    import re
    import shlex

    shown = " ".join(invoke(["register", "--help"]).stdout.split())
    shown = re.sub(r"[│|]", " ", shown)  # rich's help box
    example = re.search(r"(?:Example|Contoh): prakerja (register .*?--yes)", shown)
    assert example is not None, shown
    args = shlex.split(" ".join(example[1].split()))
    run = invoke([*args, "--json"])
    assert run.exit_code == 0, run.stdout
    assert (run.json()["status"], run.json()["findings"]) == ("valid", [])
