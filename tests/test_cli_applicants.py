"""`prakerja applicants list|show|search|edit|withdraw`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from prakerja_cli.core.fields import EDUCATION, EMPLOYMENT
from prakerja_cli.demo import synthetic_nik
from prakerja_cli.i18n import t
from tests.conftest import applicant_args, invoke

SITI = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)
BUDI = synthetic_nik("327302", date(1985, 3, 2), "L", 9002)


@pytest.fixture
def two(office: Path) -> Path:
    assert invoke(applicant_args(nik=SITI)).exit_code == 0
    budi = applicant_args(
        nik=BUDI, kk="3273020202100003", name="Budi Santoso", birth_date="1985-03-12", gender="L"
    )
    budi[budi.index("Sukasari")] = "Coblong"
    budi[budi.index("Gegerkalong")] = "Dago"
    assert invoke(budi).exit_code == 0
    return office


def test_list_masks_nik_and_kk_unless_revealed(two: Path) -> None:
    rows = invoke(["applicants", "list", "--json"]).json()
    assert {r["name"] for r in rows} == {"SITI AMINAH", "BUDI SANTOSO"}
    for row in rows:
        assert set(row) >= {"id", "registration_number", "nik", "name", "status", "findings"}
        assert "*" in row["nik"] and len(row["nik"]) == 16
        assert "*" in row["kk"]
    revealed = invoke(["applicants", "list", "--json", "--reveal"]).json()
    assert {r["nik"] for r in revealed} == {SITI, BUDI}
    human = invoke(["applicants", "list"])
    assert SITI not in human.stdout and "327301" in human.stdout
    assert SITI in invoke(["applicants", "list", "--reveal"]).stdout


def test_list_filters(two: Path) -> None:
    def names(*args: str) -> set[str]:
        return {r["name"] for r in invoke(["applicants", "list", "--json", *args]).json()}

    assert names("--status", "flagged") == {"BUDI SANTOSO"}  # form date differs from the NIK
    assert names("--status", "valid") == {"SITI AMINAH"}
    assert names("--district", "cobl") == {"BUDI SANTOSO"}
    assert names("--desk", "d01") == {"SITI AMINAH", "BUDI SANTOSO"}
    assert names("--desk", "D09") == set()
    today = date.today().isoformat()
    assert names("--since", today, "--until", today) == {"SITI AMINAH", "BUDI SANTOSO"}
    assert names("--since", "2999-01-01") == set()
    assert len(invoke(["applicants", "list", "--json", "--limit", "1"]).json()) == 1
    bad = invoke(["applicants", "list", "--since", "17/08/2026"])
    assert bad.exit_code == 2 and "--since" in bad.stderr


def test_search_by_name_fragment_or_nik(two: Path) -> None:
    assert [r["name"] for r in invoke(["applicants", "search", "santo", "--json"]).json()] == [
        "BUDI SANTOSO"
    ]
    assert [r["name"] for r in invoke(["applicants", "search", SITI[:8], "--json"]).json()] == [
        "SITI AMINAH"
    ]
    assert [r["name"] for r in invoke(["applicants", "search", SITI, "--json"]).json()] == [
        "SITI AMINAH"
    ]
    empty = invoke(["applicants", "search", "nobody"])
    assert empty.exit_code == 0 and "Tidak ada" in empty.stderr


def test_a_huge_limit_means_all_and_a_limit_below_one_is_refused(two: Path) -> None:
    huge = "99999999999999999999999"  # beyond SQLite's integers: was "database cannot be opened"
    for command in (["list"], ["search", "a"]):
        run = invoke(["applicants", *command, "--limit", huge, "--json"])
        assert run.exit_code == 0 and len(run.json()) == 2, run.stderr
    for limit in ("0", "-1"):  # search took these as "no limit"
        run = invoke(["applicants", "search", "a", "--limit", limit])
        assert run.exit_code == 2 and f"galat: --limit {limit} tidak sah" in run.stderr
        assert "--all" not in run.stderr  # search has no --all


def test_search_by_kk_and_phone_as_the_form_normalises_them(two: Path) -> None:
    def names(query: str) -> list[str]:
        return [r["name"] for r in invoke(["applicants", "search", query, "--json"]).json()]

    assert names("3273020202100003") == ["BUDI SANTOSO"]  # Budi's KK
    assert names("3273.0202.0210.0003") == ["BUDI SANTOSO"]
    assert names("32730202") == ["BUDI SANTOSO"]  # the start of a KK
    args = applicant_args(nik=synthetic_nik("327301", date(1991, 1, 2), "L", 9003),
                          name="Agus Salim", gender="L", birth_date="1991-01-02")  # fmt: skip
    args[args.index("0812-3456-7890")] = "0813 1111 2222"
    assert invoke(args).exit_code == 0
    for typed in ("081311112222", "+62 813-1111-2222", "62813 1111 2222", "813.1111.2222"):
        assert names(typed) == ["AGUS SALIM"], typed
    assert names("0899-0000-0000") == []
    human = invoke(["applicants", "search", "3273020202100003"])
    assert "BUDI SANTOSO" in human.stdout
    assert "3273020202100003" not in human.stdout + human.stderr and BUDI not in human.stdout
    masked = invoke(["applicants", "search", "3273020202100003", "--json"]).json()[0]
    assert masked["kk"] != "3273020202100003" and "*" in masked["kk"] and "*" in masked["nik"]


def test_name_search_ignores_case_and_accents(office: Path) -> None:
    accented = applicant_args(
        nik=synthetic_nik("327301", date(1990, 8, 17), "P", 9004), name="Renée Müller-Hoëlle"
    )
    assert invoke(accented).exit_code == 0
    assert invoke(applicant_args(nik=SITI)).exit_code == 0

    def names(query: str) -> list[str]:
        return [r["name"] for r in invoke(["applicants", "search", query, "--json"]).json()]

    for query in ("renee", "RENEE", "Renée", "muller-hoelle", "MÜLLER", "renée"):
        assert names(query) == ["RENÉE MÜLLER-HOËLLE"], query
    assert names("siti  AMINAH") == ["SITI AMINAH"]
    assert names("amínah") == ["SITI AMINAH"]


def test_show_by_number_id_or_nik(two: Path) -> None:
    by_number = invoke(["applicants", "show", "3273-D01-000002", "--json"]).json()
    assert by_number["name"] == "BUDI SANTOSO"
    assert [f["code"] for f in by_number["findings"]] == ["NIK_BIRTHDATE_MISMATCH"]
    assert "message" in by_number["findings"][0]
    assert (
        invoke(["applicants", "show", by_number["id"], "--json"]).json()["name"] == "BUDI SANTOSO"
    )
    assert invoke(["applicants", "show", BUDI, "--json"]).json()["name"] == "BUDI SANTOSO"
    human = invoke(["applicants", "show", "3273-D01-000002"])
    assert "BUDI SANTOSO" in human.stdout and "NIK_BIRTHDATE_MISMATCH" in human.stdout
    assert BUDI not in human.stdout
    missing = invoke(["applicants", "show", "3273-D01-999999"])
    assert missing.exit_code == 1 and "tidak ditemukan" in missing.stderr


def test_edit_revalidates(two: Path) -> None:
    fixed = invoke(
        ["applicants", "edit", "3273-D01-000002", "--set", "birth_date=1985-03-02", "--json"]
    )
    assert fixed.exit_code == 0
    assert fixed.json()["status"] == "valid"
    row = invoke(["applicants", "show", "3273-D01-000002", "--json"]).json()
    assert row["birth_date"] == "1985-03-02" and row["status"] == "valid" and row["findings"] == []
    assert row["updated_at"] >= row["created_at"]

    refused = invoke(["applicants", "edit", "3273-D01-000002", "--set", "phone=0212345678"])
    assert refused.exit_code == 3 and "PHONE_INVALID" in refused.stderr
    assert (
        invoke(["applicants", "show", "3273-D01-000002", "--json"]).json()["phone"]
        == "+6281234567890"
    )

    # Taking another live record's NIK is refused; keeping one's own NIK is not a duplicate.
    clash = invoke(["applicants", "edit", "3273-D01-000002", "--set", f"nik={SITI}", "--json"])
    assert clash.exit_code == 3 and "NIK_DUPLICATE" in [f["code"] for f in clash.json()["findings"]]
    same = invoke(["applicants", "edit", "3273-D01-000002", "--set", "training=Las", "--json"])
    assert same.exit_code == 0 and same.json()["status"] == "valid"


def test_edit_usage_errors(two: Path) -> None:
    assert invoke(["applicants", "edit", "3273-D01-000001", "--set", "nonsense"]).exit_code == 2
    unknown = invoke(["applicants", "edit", "3273-D01-000001", "--set", "shoe_size=42"])
    assert unknown.exit_code == 2 and "shoe_size" in unknown.stderr


def test_edit_takes_the_field_as_a_roster_header_names_it(two: Path) -> None:
    """An Indonesian clerk writes `--set nama=...`; it was refused as an unknown field."""
    run = invoke(
        ["applicants", "edit", "3273-D01-000002", "--set", "nama=Budi Santosa",
         "--set", "tgl_lahir=02-03-1985", "--set", "No HP=0813 1111 2222", "--json"]
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    row = invoke(["applicants", "show", "3273-D01-000002", "--json"]).json()
    assert (row["name"], row["birth_date"], row["phone"]) == (
        "BUDI SANTOSA", "1985-03-02", "+6281311112222"
    )  # fmt: skip


def test_withdraw_keeps_the_record_and_frees_the_nik(two: Path) -> None:
    run = invoke(["applicants", "withdraw", "3273-D01-000001", "--reason", "Salah orang", "--json"])
    assert run.exit_code == 0 and run.json()["status"] == "withdrawn"
    row = invoke(["applicants", "show", "3273-D01-000001", "--json"]).json()
    assert row["status"] == "withdrawn" and row["withdrawn_reason"] == "Salah orang"
    again = invoke(["applicants", "withdraw", "3273-D01-000001", "--reason", "x"])
    assert again.exit_code == 2
    assert invoke(["applicants", "edit", "3273-D01-000001", "--set", "training=x"]).exit_code == 2
    # The NIK can be registered again, and `show NIK` then finds the live record.
    assert invoke(applicant_args(nik=SITI)).exit_code == 0
    assert invoke(["applicants", "show", SITI, "--json"]).json()["status"] == "valid"
    blank = invoke(["applicants", "withdraw", "3273-D01-000002", "--reason", "  "])
    assert blank.exit_code == 2


def test_unknown_status_filter_is_a_usage_error(two: Path) -> None:
    run = invoke(["applicants", "list", "--status", "bogus"])
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "galat: --status bogus tidak dikenal.",
        "saran: Pilih salah satu: valid, flagged, withdrawn (huruf besar/kecil bebas; labelnya "
        "juga diterima, mis. Sah, Dibatalkan).",
    ]


@pytest.mark.parametrize(
    ("given", "name"),
    [("FLAGGED", "BUDI SANTOSO"), ("sah, dengan  catatan", "BUDI SANTOSO"), ("Sah", "SITI AMINAH"),
     ("Valid, with warnings", "BUDI SANTOSO")],
)  # fmt: skip
def test_status_takes_any_case_and_the_labels(two: Path, given: str, name: str) -> None:
    rows = invoke(["applicants", "list", "--json", "--status", given]).json()
    assert [r["name"] for r in rows] == [name]


def _import(tmp_path: Path, count: int) -> None:
    from rosters import person, write_csv

    roster = write_csv(tmp_path / "desa.csv", [person(i) for i in range(1, count + 1)])
    assert invoke(["roster", "import", str(roster)]).exit_code == 0


def test_list_shows_the_newest_50_and_says_how_to_see_more(office: Path, tmp_path: Path) -> None:
    _import(tmp_path, 53)
    run = invoke(["applicants", "list", "--json"])
    rows = run.json()
    assert len(rows) == 50
    assert rows[0]["registration_number"] == "3273-D01-000053"  # newest first
    assert run.stderr.splitlines()[-1] == (
        "Menampilkan 50 terbaru dari 53; 3 lainnya tidak ditampilkan: tambahkan --all untuk "
        "melihat semuanya (atau --limit N)."
    )
    everything = invoke(["applicants", "list", "--all", "--json"])
    assert len(everything.json()) == 53 and "--all" not in everything.stderr
    assert len(invoke(["applicants", "list", "--limit", "53", "--json"]).json()) == 53
    human = invoke(["applicants", "list", "--limit", "5"])
    assert "5 pendaftar." in human.stderr and "48 lainnya" in human.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--limit", "0"], "galat: --limit 0 tidak sah: paling sedikit 1."),
        (["--limit", "-3"], "galat: --limit -3 tidak sah: paling sedikit 1."),
        (["--all", "--limit", "5"], "galat: --all dan --limit tidak dapat dipakai bersama."),
        (["--central", "lost"], "galat: --central lost tidak dikenal."),
    ],
)
def test_bad_list_options_are_one_line(two: Path, args: list[str], says: str) -> None:
    run = invoke(["applicants", "list", *args])
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == says
    assert run.stdout == ""


def test_central_filter_including_parked(two: Path) -> None:
    import sqlite3

    with sqlite3.connect(two / "prakerja.db") as conn:
        conn.execute(
            "UPDATE applicants SET central_status = 'duplicate' WHERE name = 'BUDI SANTOSO'"
        )

    def names(state: str) -> set[str]:
        return {
            r["name"] for r in invoke(["applicants", "list", "--json", "--central", state]).json()
        }

    assert names("parked") == {"BUDI SANTOSO"}
    assert names("DUPLICATE") == {"BUDI SANTOSO"}
    assert names("Duplikat di pusat") == {"BUDI SANTOSO"}
    assert names("pending") == {"SITI AMINAH"}
    assert names("belum terkirim") == {"SITI AMINAH"}
    assert names("verified") == set()


def test_gender_mismatch_message_uses_words(office: Path) -> None:
    doc = invoke([*applicant_args(nik=SITI, gender="L"), "--json"]).json()
    (finding,) = doc["findings"]
    assert finding["code"] == "NIK_GENDER_MISMATCH"
    assert "(Laki-laki)" in finding["message"] and "(Perempuan)" in finding["message"]


def test_choices_are_shown_in_the_clerks_language(two: Path) -> None:
    indonesian = invoke(["applicants", "show", "3273-D01-000002"])
    english = invoke(["--lang", "en", "applicants", "show", "3273-D01-000002"])
    assert indonesian.exit_code == english.exit_code == 0
    assert "Laki-laki" in indonesian.stdout and "Male" in english.stdout
    stored = invoke(["applicants", "show", "3273-D01-000002", "--json"]).json()
    for field, catalogue in (("education", EDUCATION), ("employment", EMPLOYMENT)):
        label = catalogue[stored[field]][0]
        english_label = t(f"choice.{field}.{stored[field]}", "en")
        shown_id, shown_en = (" ".join(run.stdout.split()) for run in (indonesian, english))
        assert label in shown_id and label not in shown_en
        assert english_label in shown_en and english_label != label


def test_show_of_an_unknown_nik_never_echoes_it_whole(office: Path) -> None:
    nik = synthetic_nik("327301", date(1991, 4, 9), "L", 9931)
    for args in (["applicants", "show", nik], ["applicants", "show", nik, "--json"]):
        run = invoke(args)
        assert run.exit_code == 1
        assert nik not in run.stdout + run.stderr
        assert f"{nik[:6]}********{nik[-2:]}" in run.stderr
