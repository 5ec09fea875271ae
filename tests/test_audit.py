"""The audit trail records every change and access, masks personal numbers, and finds tampering."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rosters import HEADERS, person, write_xlsx

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke

NIK = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)


def audit_rows(home: Path) -> list[tuple[int, str, str | None, str]]:
    with sqlite3.connect(home / "prakerja.db") as conn:
        return conn.execute(
            "SELECT seq, action, applicant_id, details FROM audit ORDER BY seq"
        ).fetchall()


def busy_office(office: Path, tmp_path: Path) -> None:
    assert invoke(applicant_args(nik=NIK)).exit_code == 0
    assert (
        invoke(["applicants", "edit", "3273-D01-000001", "--set", "phone=081398765432"]).exit_code
        == 0
    )
    assert invoke(["applicants", "show", "3273-D01-000001", "--reveal"]).exit_code == 0
    assert (
        invoke(
            ["roster", "import", str(write_xlsx(tmp_path / "r.xlsx", [person(1), person(2)]))]
        ).exit_code
        == 0
    )
    assert invoke(["export", str(tmp_path / "rekap.xlsx")]).exit_code == 0
    assert (
        invoke(
            ["applicants", "withdraw", "3273-D01-000001", "--reason", "Salah orang", "--yes"]
        ).exit_code
        == 0
    )


def test_every_action_is_recorded_without_personal_values(office: Path, tmp_path: Path) -> None:
    """Was: the `create` entry kept the masked NIK (327301********01) and `edit` the old and new
    phone number (masked), kept for good after the record was purged."""
    busy_office(office, tmp_path)
    rows = audit_rows(office)
    assert [r[1] for r in rows] == ["create", "edit", "reveal", "import", "export", "withdraw"]
    text = " ".join(r[3] for r in rows)
    assert NIK not in text and "6281398765432" not in text
    assert NIK[:6] not in text and "*" not in text  # no masked NIK, KK or phone either
    applicant = rows[0][2]
    assert rows[1][2] == applicant and rows[5][2] == applicant
    log = invoke(["audit", "log", "--applicant", "3273-D01-000001", "--json"]).json()
    assert [e["action"] for e in log] == ["create", "edit", "reveal", "withdraw"]
    assert log[0]["details"] == {"registration_number": "3273-D01-000001", "source": "desk",
                                 "status": "valid"}  # fmt: skip
    assert log[1]["details"]["fields"] == ["phone"] and "changes" not in log[1]["details"]
    assert log[0]["operator"] == "Rina" and log[0]["desk"] == "D01"


def test_edit_entries_name_the_fields_and_hold_no_values(office: Path, tmp_path: Path) -> None:
    """Was: `edit` entries kept names and addresses, old and new, for good (issue 14 finding 8)."""
    assert invoke(applicant_args(nik=NIK)).exit_code == 0
    edit = ["applicants", "edit", "3273-D01-000001", "--set", "name=Dewi Lestari Baru",
            "--set", "address=Jl. Kenanga Nomor 99", "--set", "email=dewi.baru@contoh.id"]  # fmt: skip
    assert invoke(edit).exit_code == 0
    roster = write_xlsx(tmp_path / "r.xlsx", [person(1)])
    assert invoke(["roster", "import", str(roster)]).exit_code == 0
    changed = person(1, **{"Alamat": "Jl. Melati Gang Sempit 7", "No HP": "081355557777"})
    again = write_xlsx(tmp_path / "r2.xlsx", [changed])
    assert invoke(["roster", "import", str(again), "--update"]).exit_code == 0
    edits = [r for r in audit_rows(office) if r[1] == "edit"]
    assert len(edits) == 2
    text = " ".join(r[3] for r in audit_rows(office))
    for value in ("Dewi", "Lestari", "Kenanga", "contoh.id", "Melati", "55557777", "Setiabudi",
                  "+6281", str(person(1)["Nama Sesuai KTP"])):  # fmt: skip
        assert value not in text, value
    log = invoke(["audit", "log", "--json"]).json()
    fields = [e["details"]["fields"] for e in log if e["action"] == "edit"]
    assert fields == [["name", "email", "address"], ["phone", "address"]]


def test_the_log_reads_as_sentences_in_the_clerks_language(office: Path, tmp_path: Path) -> None:
    """Was: actions `create`/`edit`, details as raw JSON, the time headed "Didaftarkan" and
    written as an ISO timestamp."""
    busy_office(office, tmp_path)
    run = invoke(["audit", "log", "--applicant", "3273-D01-000001"])
    assert run.exit_code == 0
    text = " ".join(run.stdout.split())
    for heading in ("Waktu", "Meja / petugas", "Tindakan", "Rincian"):
        assert heading in text
    assert "Didaftarkan" not in text
    for action in ("dibuat", "diubah", "NIK/KK dibuka", "dibatalkan"):
        assert action in text
    assert not {"create", "edit", "withdraw", "reveal"} & set(text.split())
    assert "{" not in text and '"changes"' not in text
    assert "3273-D01-000001: Nomor HP." in text and "+6281" not in text
    assert 'alasan: "Salah orang"' in text
    assert re.search(r"\d\d-\d\d-\d{4} \d\d\.\d\d (WIB|WITA|WIT|UTC)", text)
    english = " ".join(invoke(["audit", "log", "--lang", "en"]).stdout.split())
    for words in ("Time", "created", "edited", "imported", "exported", "withdrawn",
                  "3273-D01-000001: Mobile number.", 'reason: "Salah orang"'):  # fmt: skip
        assert words in english


def test_an_action_the_catalogue_does_not_know_is_listed_not_dropped() -> None:
    from prakerja_cli.cli.render import audit_action, audit_summary

    assert audit_action("renumber") == "renumber"
    assert audit_summary("renumber", {"from": 3, "to": 7}) == "from: 3; to: 7"
    # A known action whose details lack a key the sentence names falls back the same way.
    assert audit_summary("withdraw", {"reason": "x"}) == "reason: x"


def test_verify_passes_on_an_intact_chain(office: Path, tmp_path: Path) -> None:
    busy_office(office, tmp_path)
    run = invoke(["audit", "verify", "--json"])
    assert run.exit_code == 0
    assert run.json() == {"entries": 6, "intact": True, "broken_at": None, "problem": None,
                          "changed": [], "anchor_lost": None}  # fmt: skip
    assert "utuh" in invoke(["audit", "verify"]).stdout


def _tamper(office: Path, sql: str) -> dict[str, object]:
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.execute(sql)
    run = invoke(["audit", "verify", "--json"])
    assert run.exit_code == 1
    return dict(run.json())


def test_an_edited_entry_is_found(office: Path, tmp_path: Path) -> None:
    busy_office(office, tmp_path)
    doc = _tamper(
        office, "UPDATE audit SET details = replace(details, 'Salah orang', 'Pindah') WHERE seq = 6"
    )
    assert (doc["broken_at"], doc["problem"]) == (6, "edited")
    run = invoke(["audit", "verify"])
    assert "#6" in run.stderr


def test_a_changed_operator_is_found(office: Path, tmp_path: Path) -> None:
    busy_office(office, tmp_path)
    doc = _tamper(office, "UPDATE audit SET operator = 'Budi' WHERE seq = 2")
    assert (doc["broken_at"], doc["problem"]) == (2, "edited")


def test_a_deleted_entry_is_found(office: Path, tmp_path: Path) -> None:
    busy_office(office, tmp_path)
    doc = _tamper(office, "DELETE FROM audit WHERE seq = 3")
    assert (doc["broken_at"], doc["problem"]) == (3, "deleted")


def test_deleting_the_newest_entries_is_found(office: Path, tmp_path: Path) -> None:
    busy_office(office, tmp_path)
    doc = _tamper(office, "DELETE FROM audit WHERE seq >= 5")
    assert (doc["broken_at"], doc["problem"]) == (5, "deleted")


def test_a_forged_entry_is_found(office: Path, tmp_path: Path) -> None:
    busy_office(office, tmp_path)
    with sqlite3.connect(office / "prakerja.db") as conn:
        last = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0]
        # Without the office key a forger can link the entry but not sign it.
        conn.execute(
            "INSERT INTO audit VALUES (7, '2026-01-01T00:00:00+07:00', 'x', 'D01', 'create', NULL, '{}', ?, ?, NULL)",
            [last, "f" * 64],
        )
        conn.execute("UPDATE meta SET value = '7:' || ? WHERE key = 'audit_head'", ["f" * 64])
    run = invoke(["audit", "verify", "--json"])
    assert run.exit_code == 1
    assert run.json()["broken_at"] == 7


def test_an_edit_entry_written_before_fields_only_still_reads() -> None:
    """Entries are never rewritten: an old `edit` entry with its {field: [old, new]} still reads."""
    from prakerja_cli.cli.render import audit_summary

    old = {"registration_number": "3273-D01-000001", "changes": {"status": ["valid", "flagged"]}}
    assert "→" in audit_summary("edit", old)
    new = {"registration_number": "3273-D01-000001", "fields": ["phone", "address"]}
    assert "→" not in audit_summary("edit", new)


def test_a_record_edited_behind_the_apps_back_is_found(office: Path, tmp_path: Path) -> None:
    """A direct `UPDATE applicants ...` left `audit verify` and `doctor` green (issue 14,
    finding 5): every entry now commits to the content of the records it changes."""
    busy_office(office, tmp_path)
    assert invoke(["audit", "verify"]).exit_code == 0
    with sqlite3.connect(office / "prakerja.db") as conn:  # an imported record: one entry for all
        (name,) = conn.execute("SELECT name FROM applicants WHERE registration_number = ?",
                               ["3273-D01-000002"]).fetchone()  # fmt: skip
        conn.execute("UPDATE applicants SET name = 'ORANG LAIN' WHERE registration_number = ?",
                     ["3273-D01-000002"])  # fmt: skip
    run = invoke(["audit", "verify"])
    assert run.exit_code == 1
    assert "3273-D01-000002" in run.stderr and "3273-D01-000001" not in run.stderr
    doc = invoke(["audit", "verify", "--json"]).json()
    assert (doc["intact"], doc["broken_at"], doc["changed"]) == (False, None, ["3273-D01-000002"])
    # Reading it again (an audited reveal) does not vouch for the edited content.
    assert invoke(["applicants", "show", "3273-D01-000002", "--reveal"]).exit_code == 0
    assert invoke(["audit", "verify", "--json"]).json()["changed"] == ["3273-D01-000002"]
    checks = {c["check"]: c for c in invoke(["doctor", "--json"]).json()}
    assert checks["audit"]["ok"] is False and "3273-D01-000002" in checks["audit"]["detail"]
    # Putting the value back makes the record match its entry again.
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.execute("UPDATE applicants SET name = ? WHERE registration_number = ?",
                     [name, "3273-D01-000002"])  # fmt: skip
    assert invoke(["audit", "verify"]).exit_code == 0, invoke(["audit", "verify"]).stderr


def test_a_record_inserted_or_withdrawn_behind_the_apps_back_is_found(office: Path) -> None:
    assert invoke(applicant_args(nik=NIK)).exit_code == 0
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.execute("UPDATE applicants SET status = 'withdrawn' WHERE registration_number = ?",
                     ["3273-D01-000001"])  # fmt: skip
        conn.execute(
            "INSERT INTO applicants SELECT 'forged-id', '3273-D01-000099', "
            + ", ".join(
                name
                for name in _applicant_columns(conn)
                if name not in ("id", "registration_number")
            )
            + " FROM applicants WHERE registration_number = '3273-D01-000001'"
        )
    doc = invoke(["audit", "verify", "--json"]).json()
    assert doc["changed"] == ["3273-D01-000001", "3273-D01-000099"]


def _applicant_columns(conn: sqlite3.Connection) -> list[str]:
    return [row[1] for row in conn.execute("PRAGMA table_info(applicants)")]


def test_a_store_from_before_record_hashes_is_sealed_once(office: Path) -> None:
    assert invoke(applicant_args(nik=NIK)).exit_code == 0
    with sqlite3.connect(office / "prakerja.db") as conn:  # as m009 finds an older store
        conn.execute("UPDATE audit SET records = NULL")
    # (the chain no longer verifies that way: rebuild it as an older version would have signed it)
    from prakerja_cli.store import audit

    with sqlite3.connect(office / "prakerja.db") as conn:
        prev = audit.GENESIS
        rows = conn.execute("SELECT seq, at, operator, desk, action, applicant_id, details"
                            " FROM audit ORDER BY seq").fetchall()  # fmt: skip
        for seq, *rest in rows:
            digest = audit._digest(prev, seq, *rest)
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?",
                         [prev, digest, seq])  # fmt: skip
            prev = digest
        conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", [f"{seq}:{prev}"])
    assert invoke(["audit", "verify"]).exit_code == 0  # the open sealed it
    assert [row[1] for row in audit_rows(office)][-1] == "seal"
    assert invoke(["audit", "verify"]).exit_code == 0
    assert [row[1] for row in audit_rows(office)].count("seal") == 1


def test_an_imports_hashes_made_before_the_insert_are_those_of_the_stored_records(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import hashes its new records from the values it inserts (NewRecordHashes), not read
    back: over varied rows (NULLs, a warned row, RT/RW, social assistance, training, e-mail
    present and absent) each hash is the one record_hashes computes from the stored record."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store import audit

    made: list[audit.NewRecordHashes] = []
    add = audit.NewRecordHashes.add

    def keep(self: audit.NewRecordHashes, records: Any) -> None:
        made.append(self)
        add(self, records)

    monkeypatch.setattr(audit.NewRecordHashes, "add", keep)
    headers = [*HEADERS, "Email", "Penerima Bansos", "Pelatihan yang Diinginkan"]
    people = [
        person(1, Email="siti@gmail.com", **{"Penerima Bansos": "Ya"}),
        person(2, Email=None, RT=None, RW=None, **{"Tempat Lahir": None}),
        person(3, Email="dewi@gmial.com"),  # warned: a likely typo in the domain
        person(4, **{"Pelatihan yang Diinginkan": "Barista"}),
        person(5, RT="RT 03", RW="RW.12", Pekerjaan=None, **{"Nama Sesuai KTP": "José Ñúñez"}),
    ]
    path = write_xlsx(tmp_path / "desa.xlsx", people, headers=headers)
    run = invoke(["roster", "import", str(path), "--json"])
    assert run.json()["stored"] == 5 and run.json()["warned"] >= 1, run.json()["findings"]
    ws = open_workspace()
    ids = [str(r[0]) for r in ws.db.execute("SELECT id FROM applicants")]
    hashes = made[0].hashes
    assert len(ids) == 5 and made[0].unsure == [] and sorted(hashes) == sorted(ids)
    assert hashes == audit.record_hashes(ws.db, ids)
    nulls = ws.db.execute("SELECT count(*) FROM applicants WHERE email IS NULL AND rt IS NULL")
    assert nulls.fetchone()[0] == 1
    varied = "SELECT sum(social_assistance), count(training), count(DISTINCT rt) FROM applicants"
    assert tuple(ws.db.execute(varied).fetchone()) == (1, 1, 2)
    assert audit.verify(ws.db).intact
    verify = invoke(["audit", "verify", "--json"])
    assert verify.exit_code == 0 and verify.json()["intact"]


def test_a_record_whose_values_a_column_would_convert_is_read_back(office: Path) -> None:
    """A value SQLite's column affinity converts (a number in a TEXT column, True in an INTEGER
    one) is not hashed from memory: its id is left to record_hashes, which reads the record."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store import audit
    from prakerja_cli.store.applicants import NEW_COLUMNS

    ws = open_workspace()
    hashes = audit.NewRecordHashes(ws.db, NEW_COLUMNS)
    assert hashes.sure
    base = dict.fromkeys(NEW_COLUMNS, "x") | {"in_school": 0, "social_assistance": 0}
    plain = tuple((base | {"id": "a"}).values())
    number = tuple((base | {"id": "b", "rt": 3}).values())
    flag = tuple((base | {"id": "c", "in_school": True}).values())
    hashes.add([plain, number, flag])
    assert list(hashes.hashes) == ["a"] and hashes.unsure == ["b", "c"]
