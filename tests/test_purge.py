"""`prakerja purge`: personal fields of centrally verified records removed, the NIK still caught.

Records become verified through the reference central server (its registry decides who passes).
The sync runs in-process with its clock set to two earlier days, so that some records were
verified before the purge date and some after.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from centralserver import TOKEN, central, stats
from rosters import person, write_xlsx

from prakerja_cli.i18n.format import moment
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke

JANUARY, MARCH = "2025-01-10", "2025-03-10"
BEFORE = "2025-02-01"
PERSONAL = ("nik", "kk", "name", "birth_place", "birth_date", "phone", "email", "address", "rt",
            "rw", "occupation", "name_folded")  # fmt: skip
PEOPLE = {i: person(i) for i in range(1, 8)}
#: Roster import order gives the numbers: 1-4 in January, 5 before the March sync, 6 after it.
NUMBER = {i: f"3273-D01-{i:06d}" for i in range(1, 7)}


def nik(i: int) -> str:
    return str(PEOPLE[i]["NIK"])


def registry(path: Path) -> Path:
    """Dukcapil knows everyone but person 4 (who is then registry_rejected)."""
    lines = ["nik,name,birth_date,kk"]
    for i, p in PEOPLE.items():
        if i != 4:
            lines.append(f"{p['NIK']},{p['Nama Sesuai KTP']},{p['Tgl Lahir']},{p['No. KK']}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sync_on(day: str, url: str) -> dict[str, Any]:
    """`prakerja sync` as if run on `day` (the status pull stamps verified_at with that day)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRAKERJA_API_URL", url)
        mp.setenv("PRAKERJA_API_TOKEN", TOKEN)
        mp.setattr("prakerja_cli.sync.outbox.now_iso", lambda: f"{day}T10:00:00+07:00")
        run = invoke(["sync", "--json"])
    assert run.exit_code == 0, run.stderr
    return dict(run.json())


def import_people(
    tmp: Path, name: str, *numbers: int, options: tuple[str, ...] = (), **changes: Any
) -> Any:
    people = [person(i, **changes) for i in numbers]
    path = write_xlsx(tmp / name, people, title=False)
    return invoke(["roster", "import", str(path), "--json", *options])


@pytest.fixture(scope="module")
def _verified_template(
    _office_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """1-3 verified in January (3 then withdrawn), 4 rejected by Dukcapil in January, 5 verified
    in March, 6 never sent."""
    root = tmp_path_factory.mktemp("verified")
    home, data = root / "home", root / "central"
    shutil.copytree(_office_template, home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRAKERJA_HOME", str(home))
        assert import_people(root, "jan.xlsx", 1, 2, 3, 4).exit_code == 0
        with central(data, "--registry", str(registry(root / "dukcapil.csv"))) as url:
            first = sync_on(JANUARY, url)
            assert (first["verified"], first["registry_rejected"]) == (3, 1)
            withdrawn = invoke(
                ["applicants", "withdraw", NUMBER[3], "--reason", "Pindah kota", "--yes"]
            )
            assert withdrawn.exit_code == 0
            assert import_people(root, "feb.xlsx", 5).exit_code == 0
            assert sync_on(MARCH, url)["verified"] == 1
        assert import_people(root, "apr.xlsx", 6).exit_code == 0
    return home, data


@pytest.fixture
def verified(_verified_template: tuple[Path, Path], tmp_path: Path) -> Iterator[Path]:
    """A copy of the template office in this test's app directory; the central data beside it."""
    home, data = _verified_template
    shutil.copytree(home, tmp_path / "home")
    shutil.copytree(data, tmp_path / "central")
    yield tmp_path / "home"


def rows(home: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(home / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        return {r["registration_number"]: dict(r) for r in conn.execute("SELECT * FROM applicants")}


def table(home: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "prakerja.db") as conn:
        return conn.execute(sql).fetchall()


def test_the_template_is_what_the_tests_assume(verified: Path) -> None:
    stored = rows(verified)
    states = {n: (r["status"], r["central_status"], r["verified_at"]) for n, r in stored.items()}
    assert states == {
        NUMBER[1]: ("valid", "verified", f"{JANUARY}T10:00:00+07:00"),
        NUMBER[2]: ("valid", "verified", f"{JANUARY}T10:00:00+07:00"),
        NUMBER[3]: ("withdrawn", "verified", f"{JANUARY}T10:00:00+07:00"),
        NUMBER[4]: ("valid", "registry_rejected", None),
        NUMBER[5]: ("valid", "verified", f"{MARCH}T10:00:00+07:00"),
        NUMBER[6]: ("valid", None, None),
    }


def test_dry_run_counts_and_changes_nothing(verified: Path) -> None:
    before = (rows(verified), table(verified, "SELECT * FROM audit"))
    run = invoke(["purge", "--verified-before", BEFORE, "--dry-run", "--json"])
    assert run.exit_code == 0, run.stderr
    assert run.json() == {
        "verified_before": BEFORE, "dry_run": True, "records": 3, "withdrawn": 1,
        "by_month": {"2025-01": 3}, "purged_at": None, "vacuumed": False,
    }  # fmt: skip
    human = invoke(["purge", "--verified-before", BEFORE, "--dry-run"])
    assert "3 pendaftar" in human.stdout and "terverifikasi Januari 2025: 3" in human.stdout
    assert "sebelum 01-02-2025" in human.stdout
    for written in ("01-02-2025", "1/2/2025", "1 Februari 2025"):  # as the form takes dates
        same = invoke(["purge", "--verified-before", written, "--dry-run", "--json"])
        assert same.json()["verified_before"] == BEFORE and same.json()["records"] == 3, written
    assert (rows(verified), table(verified, "SELECT * FROM audit")) == before
    assert table(verified, "SELECT count(*) FROM purged_niks") == [(0,)]


def test_purge_clears_only_records_verified_before_the_date(verified: Path) -> None:
    before = rows(verified)
    run = invoke(["purge", "--verified-before", BEFORE, "--yes", "--json"])
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert (doc["records"], doc["withdrawn"], doc["by_month"]) == (3, 1, {"2025-01": 3})
    assert doc["vacuumed"] is True and doc["purged_at"]
    after = rows(verified)
    for i in (1, 2, 3):
        old, new = before[NUMBER[i]], after[NUMBER[i]]
        assert all(new[f] is None for f in PERSONAL), new
        assert new["purged_at"] == doc["purged_at"] and new["sent_hash"] is None
        kept = {k: v for k, v in old.items() if k not in (*PERSONAL, "purged_at", "sent_hash")}
        assert {k: new[k] for k in kept} == kept  # region, gender, statuses, dates, source row
        assert new["village"] and new["district"] and new["gender"] and new["education"]
    for i in (4, 5, 6):  # Dukcapil-rejected, verified after the date, never sent
        assert after[NUMBER[i]] == before[NUMBER[i]]
    # The withdrawn record's NIK is free (withdrawal frees a NIK); the two live ones are kept.
    kept_hashes = table(verified, "SELECT registration_number FROM purged_niks ORDER BY 1")
    assert kept_hashes == [(NUMBER[1],), (NUMBER[2],)]
    again = invoke(["purge", "--verified-before", BEFORE, "--yes", "--json"]).json()
    assert again["records"] == 0


def test_no_purged_number_is_left_in_the_database_file(verified: Path) -> None:
    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    raw = b"".join(p.read_bytes() for p in verified.iterdir() if p.name.startswith("prakerja.db"))
    for i in (1, 2, 3):
        assert nik(i).encode() not in raw, i
        assert str(PEOPLE[i]["No. KK"]).encode() not in raw, i
    assert nik(5).encode() in raw  # not purged: the check above can see a NIK
    # January's delivered batch (1-4) no longer holds its body; March's (5) still does.
    bodies = table(verified, "SELECT length(body) FROM outbox_batches ORDER BY created_at")
    assert bodies[0] == (0,) and bodies[1][0] > 0


def desk_args(i: int) -> list[str]:
    """`prakerja register` of person i as typed at the desk (another KK: the old one is gone)."""
    p = PEOPLE[i]
    return applicant_args(nik=nik(i), kk="3273010101109999", birth_date=str(p["Tgl Lahir"]),
                          gender=str(p["L/P"]), extra=["--json"])  # fmt: skip


def test_a_purged_nik_is_still_a_duplicate_at_the_desk(verified: Path) -> None:
    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    run = invoke(desk_args(1))
    assert run.exit_code == 3
    findings = run.json()["findings"]
    assert [f["code"] for f in findings] == ["NIK_DUPLICATE"]
    assert NUMBER[1] in findings[0]["message"]
    # A withdrawn record's NIK may register again, purged or not.
    again = invoke(desk_args(3))
    assert again.exit_code == 0, again.stdout


def test_a_roster_row_with_a_purged_nik_is_rejected(verified: Path, tmp_path: Path) -> None:
    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    run = import_people(tmp_path, "again.xlsx", 2, 7)
    assert run.exit_code == 3, run.stdout
    doc = run.json()
    assert (doc["stored"], doc["rejected"]) == (1, 1)
    assert doc["rejected_by_code"] == {"NIK_DUPLICATE": 1}
    stored = rows(verified)
    assert len(stored) == 7 and stored[NUMBER[2]]["nik"] is None
    # Even with --update the purged record is not filled in again.
    changed = {"No HP": "081299990000"}
    update = import_people(tmp_path, "update.xlsx", 2, options=("--update",), **changed)
    assert update.exit_code == 3
    assert rows(verified)[NUMBER[2]]["phone"] is None


def test_a_purge_while_an_import_checks_its_file_is_caught_before_storing(
    verified: Path, tmp_path: Path
) -> None:
    """Person 5 is in the file as an update; person 5 is purged after the check, before the store."""
    from datetime import date

    from prakerja_cli.office import open_workspace
    from prakerja_cli.roster.importer import import_roster
    from prakerja_cli.store.purge import purge

    path = write_xlsx(tmp_path / "late.xlsx", [person(5, **{"No HP": "081299990000"})], title=False)
    ws = open_workspace()

    def purge_meanwhile(done: int, total: int | None, phase: str = "check") -> None:
        if phase == "check" and done == total:
            other = open_workspace()  # another process, as far as SQLite can tell
            assert purge(other.db, other.office, date(2025, 4, 1)).records == 4

    result = import_roster(ws, path, update=True, progress=purge_meanwhile)
    assert [r.outcome for r in result.rows] == ["rejected"]
    assert [str(f.code) for f in result.rows[0].findings] == ["NIK_DUPLICATE"]
    assert rows(verified)[NUMBER[5]]["phone"] is None


def test_audit_has_one_purge_entry_without_a_whole_nik_and_verifies(verified: Path) -> None:
    edit = [
        "applicants",
        "edit",
        NUMBER[1],
        "--set",
        "phone=081377778888",
        "--set",
        "kk=3273010101109999",
    ]
    assert invoke(edit).exit_code == 0  # an edit of a record about to be purged
    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    log = invoke(["audit", "log", "--json"]).json()
    purges = [e for e in log if e["action"] == "purge"]
    assert len(purges) == 1
    # The edited record's correction is still to go to the central system (an amendment): it is
    # kept until that is answered.
    assert purges[0]["details"] == {
        "verified_before": BEFORE, "records": 2, "withdrawn": 1, "by_month": {"2025-01": 2},
    }  # fmt: skip
    assert rows(verified)[NUMBER[1]]["purged_at"] is None
    text = str(table(verified, "SELECT * FROM audit"))
    assert not any(nik(i) in text for i in PEOPLE)
    # Nor a fragment: a masked NIK (first 6 + last 2) with the gender a purged row keeps left a
    # few million candidates (issue 14 finding 3).
    assert "*" not in text and not any(nik(i)[:6] in text for i in PEOPLE)
    verify = invoke(["audit", "verify", "--json"])
    assert verify.exit_code == 0 and verify.json()["intact"] is True


def test_purged_records_are_never_sent_again(verified: Path, tmp_path: Path) -> None:
    data = tmp_path / "central"
    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    with sqlite3.connect(data / "central.sqlite3") as conn:
        held = conn.execute("SELECT client_id, nik FROM registrations ORDER BY 1").fetchall()
    before = stats(data)["registrations"]
    with central(data, "--registry", str(registry(tmp_path / "dukcapil.csv"))) as url:
        doc = sync_on("2025-04-10", url)
    assert doc["sent"] == 1  # only person 6, who was never sent
    assert stats(data)["registrations"] == before + 1
    with sqlite3.connect(data / "central.sqlite3") as conn:
        now = dict(conn.execute("SELECT client_id, nik FROM registrations").fetchall())
    assert all(now[client] == number for client, number in held)  # nothing overwritten
    purged_ids = {r["id"] for r in rows(verified).values() if r["purged_at"]}
    items = table(verified, "SELECT applicant_id, content_hash FROM outbox_items")
    assert all(h == "" for a, h in items if a in purged_ids)
    status = invoke(["sync", "status", "--json"]).json()
    assert status["states"]["verified"] >= 3


def test_show_list_search_export_and_edit_of_a_purged_record(
    verified: Path, tmp_path: Path
) -> None:
    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    show = invoke(["applicants", "show", NUMBER[1]])
    assert show.exit_code == 0 and "Data pribadi dihapus" in show.stdout
    purged_at = rows(verified)[NUMBER[1]]["purged_at"]
    assert moment(purged_at) in show.stdout  # in the office's time zone, as people write it
    by_nik = invoke(["applicants", "show", nik(1), "--json"]).json()
    assert by_nik["registration_number"] == NUMBER[1]
    assert by_nik["nik"] is None and by_nik["name"] is None and by_nik["purged_at"] == purged_at
    assert [r["registration_number"] for r in invoke(["applicants", "search", nik(2), "--json"]).json()] == [NUMBER[2]]  # fmt: skip
    listed = invoke(["applicants", "list"])
    assert listed.exit_code == 0 and "data pribadi dihapus" in listed.stdout
    english = invoke(["--lang", "en", "applicants", "show", NUMBER[1]])
    assert "Personal data purged" in english.stdout
    export = invoke(["export", str(tmp_path / "rekap.csv"), "--json"])
    assert export.exit_code == 0 and export.json()["rows"] == 5  # the live ones, purged included
    text = (tmp_path / "rekap.csv").read_text(encoding="utf-8-sig")
    assert text.count("data pribadi dihapus") == 2
    edit = invoke(["applicants", "edit", NUMBER[1], "--set", "phone=081298765432"])
    assert edit.exit_code == 2 and "dihapus" in edit.stderr and "Traceback" not in edit.stderr
    withdraw = invoke(["applicants", "withdraw", NUMBER[1], "--reason", "Ganti data", "--yes"])
    assert withdraw.exit_code == 0
    assert table(verified, "SELECT registration_number FROM purged_niks") == [(NUMBER[2],)]


def test_doctor_and_backup_cope_with_purged_records(verified: Path, tmp_path: Path) -> None:
    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    checks = {c["check"]: c["ok"] for c in invoke(["doctor", "--json"]).json()}
    assert checks["integrity"] and checks["audit"]
    backup = invoke(["backup", str(tmp_path / "cadangan"), "--json"])
    assert backup.exit_code == 0 and backup.json()["counts"]["applicants"] == 6


@pytest.mark.parametrize("value", ["2025-13-01", "01/02/25", "kemarin", ""])
def test_a_bad_date_is_a_one_line_usage_error(verified: Path, value: str) -> None:
    run = invoke(["purge", "--verified-before", value])
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("galat: --verified-before")
    assert table(verified, "SELECT count(*) FROM applicants WHERE purged_at IS NOT NULL") == [(0,)]


def test_a_date_in_the_future_or_no_date_is_refused(verified: Path) -> None:
    future = invoke(["purge", "--verified-before", "2205-01-01", "--yes"])
    assert future.exit_code == 2 and "masa depan" in future.stderr
    assert invoke(["purge", "--yes"]).exit_code == 2  # the option is required


def test_purge_asks_first_and_no_changes_nothing(verified: Path) -> None:
    before = rows(verified)
    run = invoke(["purge", "--verified-before", BEFORE], input="n\n")
    assert run.exit_code == 130 and "3 pendaftar" in run.stderr
    assert rows(verified) == before
    yes = invoke(["--lang", "en", "purge", "--verified-before", BEFORE], input="y\n")
    assert yes.exit_code == 0 and "Purged the personal data of 3 applicants" in yes.stdout
    assert "Backups made before this" in yes.stderr


def test_nothing_to_purge_is_fine(verified: Path) -> None:
    run = invoke(["purge", "--verified-before", "2025-01-01"])
    assert run.exit_code == 0 and "Tidak ada pendaftar" in run.stdout


def test_purge_stars_out_the_email_domain_a_warning_quotes() -> None:
    import json

    from prakerja_cli.core.fields import normalise_email
    from prakerja_cli.store.purge import _redacted

    _, findings = normalise_email("siti@gmial.com")
    stored = json.dumps([f.to_stored() for f in findings])
    [kept] = json.loads(_redacted(stored))
    assert kept["code"] == "EMAIL_DOMAIN_SUSPECT" and kept["severity"] == "warning"
    assert kept["params"] == {"domain": "***", "suggestion": "gmail.com"}


def age(home: Path, day: str) -> None:
    """Make every record's last local change `day` (as if the retention period had passed)."""
    with sqlite3.connect(home / "prakerja.db") as conn:
        stamp = f"{day}T09:00:00+07:00"
        conn.execute("UPDATE applicants SET updated_at = ?, withdrawn_at = "
                     "CASE WHEN withdrawn_at IS NULL THEN NULL ELSE ? END", [stamp, stamp])  # fmt: skip


def test_retention_erases_withdrawn_and_refused_records_and_keeps_counts(verified: Path) -> None:
    """Was: withdrawn and refused records kept every field for good (issue 14 finding 8)."""
    age(verified, JANUARY)
    before = rows(verified)
    dry = invoke(["purge", "--retention", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.stderr
    assert dry.json()["records"] == 2
    assert dry.json()["by_kind"] == {"registry_rejected": 1, "withdrawn": 1}
    assert rows(verified) == before
    run = invoke(["purge", "--retention", "--yes", "--json"])
    assert run.exit_code == 0 and run.json()["records"] == 2 and run.json()["vacuumed"]
    after = rows(verified)
    assert len(after) == 7 - 1  # 1-6: every record stays, for the counts
    for i in (3, 4):  # withdrawn; refused by the registry
        record = after[NUMBER[i]]
        assert all(record[c] is None for c in PERSONAL), i
        assert record["purged_at"] and record["gender"] and record["status"], i
        assert record["central_status"] == before[NUMBER[i]]["central_status"]
    for i in (1, 2, 5, 6):  # verified, or not answered yet: not the retention's to erase
        assert after[NUMBER[i]]["nik"] == nik(i)
    assert table(verified, "SELECT count(*) FROM purged_niks") == [(0,)]  # no NIK kept
    raw = b"".join(p.read_bytes() for p in verified.iterdir() if p.name.startswith("prakerja.db"))
    for i in (3, 4):
        assert nik(i).encode() not in raw and str(PEOPLE[i]["No. KK"]).encode() not in raw
    log = invoke(["audit", "log", "--json"]).json()
    entry = [e for e in log if e["action"] == "retention"]
    assert len(entry) == 1 and entry[0]["details"]["records"] == 2
    assert entry[0]["details"]["by_kind"] == {"registry_rejected": 1, "withdrawn": 1}
    assert invoke(["audit", "verify", "--json"]).json()["intact"] is True
    # Their NIKs may register again; the withdrawn one cannot be made live again.
    assert invoke(desk_args(4)).exit_code == 0
    undo = invoke(["applicants", "withdraw", NUMBER[3], "--undo", "--yes"])
    assert undo.exit_code == 2 and "dihapus" in undo.stderr and "Traceback" not in undo.stderr


def test_retention_leaves_records_changed_within_the_period(verified: Path) -> None:
    run = invoke(["--lang", "en", "purge", "--retention", "--yes"])
    assert run.exit_code == 0 and "No withdrawn or refused applicant" in run.stdout
    assert table(verified, "SELECT count(*) FROM applicants WHERE purged_at IS NOT NULL") == [(0,)]


def test_retention_period_is_a_setting_with_a_default(verified: Path) -> None:
    assert invoke(["config", "show", "--json"]).json()["retention_days"] == "90"
    assert invoke(["config", "set", "retention_days", "0"]).exit_code == 2
    assert invoke(["config", "set", "retention_days", "tiga bulan"]).exit_code == 2
    assert invoke(["config", "set", "retention_days", "30"]).exit_code == 0
    assert invoke(["config", "show", "--json"]).json()["retention_days"] == "30"
    both = invoke(["purge", "--retention", "--verified-before", BEFORE, "--yes"])
    assert both.exit_code == 2 and both.stderr.startswith("galat: ")


def test_purged_niks_are_kept_as_a_slow_keyed_hash(verified: Path) -> None:
    """Was: HMAC-SHA256 under office.key, which sits beside the database: ~2 us per NIK tried,
    so whoever copied the desk's files recovered a purged NIK in seconds (issue 14 finding 3)."""
    from prakerja_cli.config import office_key
    from prakerja_cli.store.applicants import TOMBSTONE_SCHEME, nik_hmac, nik_tombstone

    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    kept = dict(table(verified, "SELECT registration_number, nik_hmac FROM purged_niks"))
    schemes = table(verified, "SELECT DISTINCT scheme FROM purged_niks")
    assert schemes == [(TOMBSTONE_SCHEME,)] and TOMBSTONE_SCHEME.startswith("scrypt-")
    key = office_key()
    for i in (1, 2):
        assert kept[NUMBER[i]] == nik_tombstone(nik(i), key) != nik_hmac(nik(i), key)


def test_a_nik_purged_before_tombstones_were_slow_is_still_a_duplicate(verified: Path) -> None:
    """A store purged by an earlier version keeps HMAC rows (their NIKs are gone: they cannot be
    keyed again); both the desk and a roster import still recognise them."""
    from prakerja_cli.config import office_key
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.applicants import LEGACY_SCHEME, PurgedNiks, find_purged_nik, nik_hmac

    assert invoke(["purge", "--verified-before", BEFORE, "--yes"]).exit_code == 0
    with sqlite3.connect(
        verified / "prakerja.db"
    ) as conn:  # number 2 as an earlier version kept it
        conn.execute("UPDATE purged_niks SET nik_hmac = ?, scheme = ? WHERE registration_number = ?",
                     [nik_hmac(nik(2), office_key()), LEGACY_SCHEME, NUMBER[2]])  # fmt: skip
    ws = open_workspace()
    for i in (1, 2):
        found = find_purged_nik(ws.db, nik(i))
        assert found is not None and found.registration_number == NUMBER[i]
        assert (hit := PurgedNiks(ws.db).find(nik(i))) and hit.registration_number == NUMBER[i]
    assert find_purged_nik(ws.db, nik(7)) is None and PurgedNiks(ws.db).find(nik(7)) is None
