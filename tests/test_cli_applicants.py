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
    assert SITI not in human.stdout and "3273**********01" in human.stdout
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
    bad = invoke(["applicants", "list", "--since", "kemarin"])
    assert bad.exit_code == 2 and "--since" in bad.stderr


@pytest.mark.parametrize(
    "written",
    ["{iso}", "{d:02d}-{m:02d}-{y}", "{d}/{m}/{y}", "{d:02d}.{m:02d}.{y}", "{d} {month} {y}"],
)
def test_date_options_take_the_forms_the_form_takes(two: Path, written: str) -> None:
    """`--since 31-12-2026` was refused though the form's birth date takes it."""
    from prakerja_cli.core.fields import MONTHS_ID

    today = date.today()
    month = next(name for name, number in MONTHS_ID.items() if number == today.month)
    day = written.format(iso=today.isoformat(), d=today.day, m=today.month, y=today.year,
                         month=month.capitalize())  # fmt: skip
    run = invoke(["applicants", "list", "--json", "--since", day, "--until", day])
    assert run.exit_code == 0, run.stderr
    assert {r["name"] for r in run.json()} == {"SITI AMINAH", "BUDI SANTOSO"}
    export = invoke(["export", str(two / "rekap.csv"), "--since", day, "--json"])
    assert export.exit_code == 0 and export.json()["rows"] == 2, export.stdout
    assert invoke(["audit", "log", "--since", day, "--json"]).exit_code == 0


@pytest.mark.parametrize("value", ["17-13-2026", "31/02/2026", "45000", "31-12-26", "besok"])
def test_a_date_option_that_is_no_date_names_the_forms(two: Path, value: str) -> None:
    run = invoke(["applicants", "list", "--until", value])
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        f"galat: --until {value} bukan tanggal yang dikenal.",
        'saran: Tulis misalnya --until 31-12-2026, --until 2026-12-31 atau --until "31 Desember '
        '2026".',
    ]


def test_list_today_is_the_days_work(two: Path) -> None:
    """The README's "today's work": --today leaves out what was registered on other days."""
    from prakerja_cli.store.engine import dbapi as sqlite3

    with sqlite3.connect(two / "prakerja.db") as conn:
        conn.execute("UPDATE applicants SET created_at = '2025-01-02T10:00:00+07:00' "
                     "WHERE name = 'BUDI SANTOSO'")  # fmt: skip
    rows = invoke(["applicants", "list", "--today", "--json"]).json()
    assert [r["name"] for r in rows] == ["SITI AMINAH"]
    assert len(invoke(["applicants", "list", "--json"]).json()) == 2
    both = invoke(["applicants", "list", "--today", "--since", "2025-01-01"])
    assert both.exit_code == 2
    assert both.stderr.startswith(
        "galat: --today tidak dapat dipakai bersama --since atau --until."
    )


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


def test_search_by_registration_number_or_id_as_show_takes_them(two: Path) -> None:
    """`show 3273-D01-000002` found Budi; `search 3273-D01-000002` found nobody."""

    def names(query: str) -> list[str]:
        return [r["name"] for r in invoke(["applicants", "search", query, "--json"]).json()]

    assert names("3273-D01-000002") == ["BUDI SANTOSO"]
    assert names(" 3273-d01-000002 ") == ["BUDI SANTOSO"]
    assert names("3273-D01-000009") == []
    budi = invoke(["applicants", "show", "3273-D01-000002", "--json"]).json()["id"]
    assert names(budi.upper()) == ["BUDI SANTOSO"]


def test_name_search_takes_the_words_in_any_order(two: Path) -> None:
    """`search "aminah siti"` found nobody: the words had to be in the stored order."""

    def names(query: str) -> list[str]:
        return [r["name"] for r in invoke(["applicants", "search", query, "--json"]).json()]

    assert names("aminah siti") == ["SITI AMINAH"]
    assert names("SANTO bud") == ["BUDI SANTOSO"]
    assert names("siti santoso") == []  # every word must be in the one name
    assert names("siti") == ["SITI AMINAH"]


@pytest.mark.parametrize("query", ["", "  ", "\t"])
def test_a_blank_search_is_refused_not_everyone(two: Path, query: str) -> None:
    run = invoke(["applicants", "search", query])
    assert run.exit_code == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        "galat: Kata pencarian kosong: pencarian akan menampilkan semua pendaftar.",
        "saran: Tulis sebagian nama, NIK, nomor KK, nomor HP atau nomor pendaftaran; untuk "
        "melihat semua, pakai `prakerja applicants list --all`.",
    ]
    assert invoke(["applicants", "search", query, "--json"]).json()["error"] == "search_blank"


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
    row = invoke(["applicants", "show", "3273-D01-000002", "--json", "--reveal"]).json()
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
    row = invoke(["applicants", "show", "3273-D01-000002", "--json", "--reveal"]).json()
    assert (row["name"], row["birth_date"], row["phone"]) == (
        "BUDI SANTOSA", "1985-03-02", "+6281311112222"
    )  # fmt: skip


def test_withdraw_keeps_the_record_and_frees_the_nik(two: Path) -> None:
    run = invoke(
        ["applicants", "withdraw", "3273-D01-000001", "--reason", "Salah orang", "--json", "--yes"]
    )
    assert run.exit_code == 0 and run.json()["status"] == "withdrawn"
    row = invoke(["applicants", "show", "3273-D01-000001", "--json"]).json()
    assert row["status"] == "withdrawn" and row["withdrawn_reason"] == "Salah orang"
    again = invoke(["applicants", "withdraw", "3273-D01-000001", "--reason", "x", "--yes"])
    assert again.exit_code == 2
    assert invoke(["applicants", "edit", "3273-D01-000001", "--set", "training=x"]).exit_code == 2
    # The NIK can be registered again, and `show NIK` then finds the live record.
    assert invoke(applicant_args(nik=SITI)).exit_code == 0
    assert invoke(["applicants", "show", SITI, "--json"]).json()["status"] == "valid"
    for reason in (["--reason", "  "], []):  # checked before anything is asked
        blank = invoke(["applicants", "withdraw", "3273-D01-000002", *reason])
        assert blank.exit_code == 2
        assert blank.stderr.splitlines() == [
            "galat: Alasan pembatalan wajib diisi.",
            'saran: Tambahkan --reason "...".',
        ]


def test_withdraw_asks_first_and_no_is_the_default(two: Path) -> None:
    args = ["applicants", "withdraw", "3273-D01-000001", "--reason", "Salah orang"]
    for answer in ("\n", "t\n", "tidak\n"):  # Enter keeps the registration
        kept = invoke(args, input=answer)
        assert kept.exit_code == 130, kept.stderr
        assert "Batalkan pendaftaran 3273-D01-000001 (SITI AMINAH)?" in kept.stderr
        assert "(ya/tidak; Enter = tidak)" in kept.stderr
    assert invoke(["applicants", "show", "3273-D01-000001", "--json"]).json()["status"] == "valid"
    done = invoke(args, input="ya\n")
    assert done.exit_code == 0 and "3273-D01-000001 dibatalkan" in done.stdout
    assert invoke(["applicants", "show", "3273-D01-000001", "--json"]).json()["status"] == (
        "withdrawn"
    )


def test_withdraw_without_a_terminal_or_yes_is_refused_naming_yes(two: Path) -> None:
    run = invoke(["applicants", "withdraw", "3273-D01-000001", "--reason", "Salah orang"])
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "galat: Tidak ada yang dapat menjawab pertanyaan di sini (bukan terminal); tambahkan --yes.",
        "saran: Jalankan perintah ini di terminal untuk menjawab pertanyaannya, atau tambahkan "
        "--yes di skrip.",
    ]
    assert invoke(["applicants", "show", "3273-D01-000001", "--json"]).json()["status"] == "valid"


def test_withdraw_undo_brings_the_record_back_with_its_status(two: Path) -> None:
    for number in ("3273-D01-000001", "3273-D01-000002"):
        assert (
            invoke(["applicants", "withdraw", number, "--reason", "Keliru", "--yes"]).exit_code == 0
        )
    undone = invoke(["applicants", "withdraw", "3273-D01-000002", "--undo", "--json"])
    assert undone.exit_code == 0, undone.stderr
    assert undone.json()["status"] == "flagged"  # as before: its findings hold a warning
    human = invoke(
        ["applicants", "withdraw", "3273-D01-000001", "--undo", "--reason", "Salah klik"]
    )
    assert human.stdout.strip() == (
        "Pembatalan 3273-D01-000001 diurungkan; status: Sah. Pendaftaran ini ikut dikirim pada "
        "sinkronisasi berikutnya."
    )
    row = invoke(["applicants", "show", "3273-D01-000001", "--json"]).json()
    assert (row["status"], row["withdrawn_reason"], row["withdrawn_at"]) == ("valid", None, None)
    # It holds its NIK again, and goes with the next sync.
    assert invoke(applicant_args(nik=SITI)).exit_code == 3
    log = invoke(["audit", "log", "--applicant", "3273-D01-000001", "--json"]).json()
    assert [e["action"] for e in log] == ["create", "withdraw", "withdraw_undo"]
    assert log[-1]["details"] == {"registration_number": "3273-D01-000001", "status": "valid",
                                  "withdrawn_reason": "Keliru", "reason": "Salah klik"}  # fmt: skip
    again = invoke(["applicants", "withdraw", "3273-D01-000001", "--undo"])
    assert again.exit_code == 2
    assert again.stderr.startswith("galat: Pendaftaran 3273-D01-000001 tidak dibatalkan;")


def test_withdraw_undo_is_refused_once_sent_or_once_the_nik_registered_again(two: Path) -> None:
    from prakerja_cli.store.engine import dbapi as sqlite3

    for number in ("3273-D01-000001", "3273-D01-000002"):
        assert (
            invoke(["applicants", "withdraw", number, "--reason", "Keliru", "--yes"]).exit_code == 0
        )
    with sqlite3.connect(two / "prakerja.db") as conn:  # Budi went in a batch before
        conn.execute("INSERT INTO outbox_batches (id, body, records, created_at) "
                     "VALUES ('b1', X'', 1, '2026-01-01T00:00:00+07:00')")  # fmt: skip
        conn.execute("INSERT INTO outbox_items (batch_id, applicant_id, content_hash) "
                     "SELECT 'b1', id, 'x' FROM applicants WHERE name = 'BUDI SANTOSO'")  # fmt: skip
    sent = invoke(["applicants", "withdraw", "3273-D01-000002", "--undo"])
    assert sent.exit_code == 2
    assert sent.stderr.splitlines()[0] == (
        "galat: Pembatalan 3273-D01-000002 tidak dapat diurungkan: pendaftaran ini sudah dikirim "
        "ke pusat."
    )
    assert invoke(applicant_args(nik=SITI)).exit_code == 0  # 3273-D01-000003 holds the NIK now
    taken = invoke(["applicants", "withdraw", "3273-D01-000001", "--undo"])
    assert taken.exit_code == 2
    assert taken.stderr.splitlines()[0] == (
        "galat: Pembatalan 3273-D01-000001 tidak dapat diurungkan: NIK-nya sudah terdaftar lagi "
        "sebagai 3273-D01-000003."
    )
    statuses = {r["registration_number"]: r["status"]
                for r in invoke(["applicants", "list", "--json"]).json()}  # fmt: skip
    assert statuses == {"3273-D01-000001": "withdrawn", "3273-D01-000002": "withdrawn",
                        "3273-D01-000003": "valid"}  # fmt: skip


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
    from prakerja_cli.store.engine import dbapi as sqlite3

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
        assert f"{nik[:4]}**********{nik[-2:]}" in run.stderr


def test_masked_output_gives_no_birth_digits_back(two: Path, tmp_path: Path) -> None:
    """`327301********07` beside the birth date and gender left two unknown digits (issue 14,
    finding 7): where the NIK is masked neither its date digits nor the day and month of the
    birth date show, in any form, in list, show, search, export or JSON; --reveal shows them."""
    born = {SITI: date(1990, 8, 17), BUDI: date(1985, 3, 12)}  # Budi's form date differs
    nik_born = {SITI: date(1990, 8, 17), BUDI: date(1985, 3, 2)}

    def birth_forms(nik: str) -> list[str]:
        forms = [nik[6:12]]
        for day in (born[nik], nik_born[nik]):
            forms += [day.isoformat(), day.strftime("%d-%m-%Y"), day.strftime("%d/%m/%Y"),
                      day.strftime("%d%m%y"), day.strftime("%m-%d")]  # fmt: skip
        return forms

    (two / "out").mkdir()
    outputs = {
        "list": invoke(["applicants", "list"]).stdout,
        "list --json": invoke(["applicants", "list", "--json"]).stdout,
        "search --json": invoke(["applicants", "search", "a", "--json"]).stdout,
    }
    for nik in born:
        outputs[f"show {nik[-4:]}"] = invoke(["applicants", "show", nik]).stdout
        outputs[f"show --json {nik[-4:]}"] = invoke(["applicants", "show", nik, "--json"]).stdout
    for name in ("rekap.csv", "rekap.xlsx"):
        assert invoke(["export", str(two / "out" / name)]).exit_code == 0
    outputs["csv"] = (two / "out" / "rekap.csv").read_text(encoding="utf-8-sig")
    from openpyxl import load_workbook

    sheet = load_workbook(two / "out" / "rekap.xlsx").active
    assert sheet is not None
    outputs["xlsx"] = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row)
    for where, text in outputs.items():
        for nik in born:
            for form in birth_forms(nik):
                assert form not in text, (where, form)
    shown = invoke(["applicants", "show", SITI, "--json"]).json()
    assert shown["birth_date"] == "1990" and shown["nik"] == SITI[:4] + "*" * 10 + SITI[-2:]
    budi = invoke(["applicants", "show", BUDI, "--json"]).json()
    # Same year on both sides: the mismatch is said without dates, and how to see them.
    assert "--reveal" in budi["findings"][0]["message"]
    revealed = invoke(["applicants", "show", BUDI, "--json", "--reveal"]).json()
    assert revealed["birth_date"] == "1985-03-12"
    assert "02-03-1985" in " ".join(x["message"] for x in revealed["findings"])


def test_a_masked_birth_date_mismatch_is_said_without_two_bare_years(two: Path) -> None:
    """Beside a masked NIK the dates are years only; "(1985) differs from the NIK (1985)" read as
    nonsense, so the masked wording names no dates and says how to see them."""
    shown = " ".join(invoke(["applicants", "show", "3273-D01-000002"]).stdout.split())
    assert "tidak ditampilkan selama NIK disamarkan" in shown
    assert "(1985) berbeda" not in shown
    revealed = " ".join(
        invoke(["applicants", "show", "3273-D01-000002", "--reveal"]).stdout.split()
    )
    assert "(12-03-1985) berbeda dengan NIK (02-03-1985)" in revealed


def test_an_empty_reference_is_named_as_empty(office: Path) -> None:
    """Was "Pendaftar  tidak ditemukan." (two spaces round nothing)."""
    for ref in ("", "  "):
        run = invoke(["applicants", "show", ref])
        assert run.exit_code == 2
        assert run.stderr.splitlines()[0] == "galat: Nomor pendaftaran atau NIK pendaftar kosong."
