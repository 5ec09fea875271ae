"""What an edit does to a record's central state (docs/central-api.md: a `rejected` or `duplicate`
record was never registered, so corrected content under the same client_id is processed as new;
a registered one keeps its first content).

End to end against the reference central server on loopback, one server for the module (every
test uses its own people, so no NIK meets another test's); the sync runs in-process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from centralserver import TOKEN, central
from rosters import person, write_xlsx

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke

#: A KK whose province (00) does not exist: the central system rejects it (KK_INVALID).
BAD_KK = "0073010101100002"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("central")
    with central(data) as url:
        yield url, data


def sync(url: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRAKERJA_API_URL", url)
        mp.setenv("PRAKERJA_API_TOKEN", TOKEN)
        run = invoke(["sync", "--json"])
    assert run.exit_code in (0, 3), run.stderr
    return dict(run.json())


def register(i: int, **changes: Any) -> str:
    """Register person i at the desk; returns the registration number."""
    p = person(i)
    args = {"nik": p["NIK"], "kk": p["No. KK"], "name": p["Nama Sesuai KTP"],
            "birth_date": p["Tgl Lahir"].isoformat(), "gender": p["L/P"], **changes}  # fmt: skip
    run = invoke([*applicant_args(**args), "--json"])
    assert run.exit_code == 0, run.stdout
    return str(run.json()["registration_number"])


def db_row(office: Path, number: str) -> dict[str, Any]:
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM applicants WHERE registration_number = ?", [number])
        return dict(row.fetchone())


def set_column(office: Path, number: str, column: str, value: Any) -> None:
    """Store what an older check let through (the desk refuses such a value today)."""
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.execute(
            f"UPDATE applicants SET {column} = ? WHERE registration_number = ?", [value, number]
        )


def central_records(data: Path, client_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(data / "central.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM registrations WHERE client_id = ?", [client_id])
        return [dict(r) for r in rows.fetchall()]


def register_elsewhere(url: str, nik: str, number: str) -> None:
    """Another office's registration of `nik` reaches the central system first."""
    other = {"client_id": f"00000000-0000-4000-8000-{nik[-12:]}", "content_hash": "b" * 64,
             "record": {"registration_number": number, "nik": nik, "kk": "3273010101100099",
                        "name": "ORANG LAIN", "birth_date": "1981-02-02", "gender": "L"}}  # fmt: skip
    response = requests.post(
        f"{url}/v1/registrations/batches",
        json={"office_code": "3273", "records": [other]},
        headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": other["client_id"]},
        timeout=10,
    )
    assert response.json()["results"][0]["outcome"] == "accepted"


def audit_details(office: Path, applicant_id: str) -> list[dict[str, Any]]:
    entries = invoke(["audit", "log", "--json"]).json()
    return [
        e["details"] for e in entries if e["applicant_id"] == applicant_id and e["action"] == "edit"
    ]


def test_a_rejected_record_corrected_is_sent_again_and_accepted(
    office: Path, server: tuple[str, Path]
) -> None:
    url, data = server
    number = register(101)
    good_kk = db_row(office, number)["kk"]
    set_column(office, number, "kk", BAD_KK)
    first = sync(url)
    assert (first["sent"], first["rejected"]) == (1, 1)
    row = db_row(office, number)
    assert (row["central_status"], row["central_reason"]) == ("rejected", "KK_INVALID")

    edit = invoke(["applicants", "edit", number, "--set", f"kk={good_kk}", "--json"]).json()
    assert edit["stored"] and edit["resend"] and edit["central_unchanged"] is None
    assert "dikirim lagi" in edit["notice"]
    assert db_row(office, number)["central_status"] is None

    again = sync(url)  # counted once: sent and accepted
    assert [again[k] for k in ("sent", "accepted", "rejected", "pending")] == [1, 1, 0, 0]
    row = db_row(office, number)
    assert row["central_status"] == "verified" and row["central_id"]
    registered = central_records(data, row["id"])  # the same client_id, registered once
    assert [(r["central_id"], r["content_hash"]) for r in registered] == [
        (row["central_id"], row["sent_hash"])
    ]
    assert sync(url)["sent"] == 0
    assert {"resend": True}.items() <= audit_details(office, row["id"])[-1].items()


def test_a_duplicate_from_a_nik_typo_corrected_is_sent_again(
    office: Path, server: tuple[str, Path]
) -> None:
    url, data = server
    typo = str(person(103)["NIK"])
    register_elsewhere(url, typo, "3273-D09-000103")
    p = person(102)
    number = register(102, nik=typo)  # the NIK of someone else
    first = sync(url)
    assert first["duplicate"] == 1
    assert db_row(office, number)["central_status"] == "duplicate"

    run = invoke(["--lang", "en", "applicants", "edit", number, "--set", f"nik={p['NIK']}"])
    assert run.exit_code == 0, run.stdout
    assert "goes to the central system again with the next sync" in run.stdout
    row = db_row(office, number)
    assert (row["central_status"], row["central_id"], row["central_reason"]) == (None, None, None)

    second = sync(url)
    assert (second["sent"], second["accepted"], second["duplicate"]) == (1, 1, 0)
    row = db_row(office, number)
    assert row["central_status"] == "verified"
    assert [r["nik"] for r in central_records(data, row["id"])] == [p["NIK"]]


def test_an_edit_of_a_registered_record_is_amended_centrally_and_the_clerk_is_told(
    office: Path, server: tuple[str, Path]
) -> None:
    url, data = server
    number = register(104)
    assert sync(url)["accepted"] == 1
    sent = db_row(office, number)
    central_id = sent["central_id"]
    assert central_id

    edit = invoke(["applicants", "edit", number, "--set", "phone=0813-9999-0104", "--json"]).json()
    assert edit["stored"] and not edit["resend"] and edit["central_unchanged"] is None
    assert edit["amendment"]
    assert "dikirim ke pusat sebagai koreksi" in edit["notice"]
    human = invoke(["--lang", "en", "applicants", "edit", number, "--set", "address=Jl. Baru 4"])
    assert "goes to the central system as an amendment with the next sync" in human.stdout

    shown = invoke(["applicants", "show", number, "--json"]).json()
    assert shown["changed_since_sent"] is True
    assert shown["amendment"]["id"] == edit["amendment"]  # the second edit joined the first
    assert shown["amendment"]["outcome"] is None
    assert "koreksi menunggu dikirim ke pusat" in invoke(["applicants", "show", number]).stdout
    done = sync(url)
    assert done["sent"] == 0
    assert done["amendments"] == {"sent": 1, "applied": 1, "conflict": 0, "rejected": 0}
    row = db_row(office, number)
    assert (row["central_status"], row["central_id"], row["central_version"]) == (
        "verified", central_id, 2,
    )  # fmt: skip
    (held,) = central_records(data, row["id"])
    held = json.loads(held["record"]) | {"version": held["version"]}
    assert (held["phone"], held["address"], held["version"]) == ("+6281399990104", "JL. BARU 4", 2)
    shown = invoke(["--lang", "en", "applicants", "show", number, "--json"]).json()
    assert shown["changed_since_sent"] is False and shown["amendment"]["outcome"] == "applied"
    assert (
        "correction applied centrally (version 2)"
        in invoke(["--lang", "en", "applicants", "show", number]).stdout
    )
    details = audit_details(office, row["id"])
    assert [d.get("amendment") for d in details] == [edit["amendment"]] * 2
    assert "081399990104" not in str(details) and "+6281399990104" not in str(details)
    # The NIK is the registration's identity: no amendment changes it.
    refused = invoke(["--lang", "en", "applicants", "edit", number, "--set",
                      f"nik={person(105)['NIK']}"])  # fmt: skip
    assert refused.exit_code != 0 and "cannot be changed" in refused.stdout + refused.stderr


def test_an_edit_while_the_batch_is_out_sends_the_correction_next_time(
    office: Path, server: tuple[str, Path]
) -> None:
    """The batch is written with a duplicate NIK (typo) and not answered yet; the clerk corrects
    the NIK; the answer for the old content (duplicate) must not park the corrected record."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.sync import outbox

    url, data = server
    typo = str(person(106)["NIK"])
    register_elsewhere(url, typo, "3273-D09-000106")
    p = person(105)
    number = register(105, nik=typo)
    ws = open_workspace()
    assert [b.records for b in outbox.make_batches(ws.db, "3273", 10)] == [1]
    ws.db.conn.close()

    assert invoke(["applicants", "edit", number, "--set", f"nik={p['NIK']}"]).exit_code == 0
    first = sync(url)  # the open batch goes first, as written: the old NIK, a duplicate
    assert (first["sent"], first["duplicate"], first["requeued"], first["pending"]) == (1, 0, 1, 1)
    assert db_row(office, number)["central_status"] is None
    second = sync(url)
    assert (second["sent"], second["accepted"]) == (1, 1)
    row = db_row(office, number)
    assert [r["nik"] for r in central_records(data, row["id"])] == [p["NIK"]]


def test_a_rejected_answer_for_content_edited_since_makes_the_record_unsent(office: Path) -> None:
    """apply_results itself: `rejected` for the content sent, but the record changed meanwhile."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.sync import outbox

    number = register(107)
    good_kk = db_row(office, number)["kk"]
    set_column(office, number, "kk", BAD_KK)
    ws = open_workspace()
    (batch,) = outbox.make_batches(ws.db, "3273", 10)
    assert invoke(["applicants", "edit", number, "--set", f"kk={good_kk}"]).exit_code == 0
    client_id = db_row(office, number)["id"]
    answer = [{"client_id": client_id, "outcome": "rejected", "reason": "KK_INVALID"}]
    counts = outbox.apply_results(ws.db, batch, answer)
    assert (counts["rejected"], counts["requeued"]) == (0, 1)
    row = db_row(office, number)
    assert (row["central_status"], row["central_reason"]) == (None, None)
    assert [b.records for b in outbox.make_batches(ws.db, "3273", 10)] == [1]
    # The same answer for content not edited since: parked, as before.
    (again,) = outbox.open_batches(ws.db)
    assert outbox.apply_results(ws.db, again, answer)["rejected"] == 1
    assert db_row(office, number)["central_status"] == "rejected"


def test_roster_update_of_a_rejected_record_sends_it_again(
    office: Path, server: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = server
    roster = write_xlsx(tmp_path / "r.xlsx", [person(108)], title=False)
    assert invoke(["roster", "import", str(roster)]).exit_code == 0
    number = "3273-D01-000001"
    set_column(office, number, "kk", BAD_KK)
    assert sync(url)["rejected"] == 1

    assert invoke(["roster", "import", str(roster), "--update"]).exit_code == 0
    row = db_row(office, number)
    assert (row["central_status"], row["kk"]) == (None, person(108)["No. KK"])
    assert audit_details(office, row["id"])[-1]["resend"] is True
    done = sync(url)
    assert (done["sent"], done["accepted"]) == (1, 1)


def test_a_change_to_nothing_the_central_receives_does_not_send_again(
    office: Path, server: tuple[str, Path]
) -> None:
    """An edit that changes only local columns (here status and findings: the KK's first member
    was withdrawn, so the third is no longer one too many) leaves a refused record parked: the
    central system would receive exactly what it answered already."""
    url, _ = server
    kk = str(person(111)["No. KK"])
    first, _second = register(111), register(112, kk=kk)
    register_elsewhere(url, str(person(113)["NIK"]), "3273-D09-000113")
    number = register(113, kk=kk)
    assert db_row(office, number)["status"] == "flagged"  # KK_LIMIT_EXCEEDED
    assert sync(url)["duplicate"] == 1
    assert invoke(["applicants", "withdraw", first, "--reason", "Pindah", "--yes"]).exit_code == 0

    before = db_row(office, number)
    phone = f"0{before['phone'][3:6]}-{before['phone'][6:]}"  # the same number, typed another way
    edit = invoke(["applicants", "edit", number, "--set", f"phone={phone}", "--json"]).json()
    assert edit["stored"] and edit["status"] == "valid"
    assert (edit["resend"], edit["central_unchanged"], edit["notice"]) == (False, None, None)
    after = db_row(office, number)
    assert after["status"] == "valid" and after["updated_at"] >= before["updated_at"]
    assert (after["central_status"], after["central_id"]) == ("duplicate", before["central_id"])
    assert sync(url)["sent"] == 0
    assert "resend" not in audit_details(office, after["id"])[-1]


def test_the_rule_for_each_central_state(office: Path) -> None:
    from prakerja_cli.sync import outbox

    row = db_row(office, register(110))
    sent = outbox.content_hash(outbox.record_of(row))
    phone = {"phone": "+6281311110110"}
    assert outbox.central_edit(row, phone) == outbox.CentralEdit()  # never sent
    for state in outbox.NOT_REGISTERED:
        stored = {**row, "central_status": state, "central_id": "C-9", "sent_hash": sent}
        assert outbox.central_edit(stored, phone).columns == {
            "central_status": None, "central_reason": None, "central_id": None,
        }  # fmt: skip
        assert outbox.central_edit(stored, {"rules": "x"}) == outbox.CentralEdit()
    for state in outbox.REGISTERED:
        stored = {**row, "central_status": state, "central_id": "C-7", "sent_hash": sent}
        effect = outbox.central_edit(stored, phone)
        assert (effect.columns, effect.central_unchanged, effect.amend) == ({}, None, True)
        # Its identity is not amended: that edit stays local (desk.edit refuses it first).
        other = outbox.central_edit(stored, {"nik": "3273015708900001"})
        assert (other.amend, other.central_unchanged) == (False, "C-7")
        assert other.audit_details() == {"central_unchanged": "C-7"}
        edited = {**stored, **phone}
        assert outbox.changed_since_sent(edited) and not outbox.changed_since_sent(stored)
        # Edited back to what was sent: nothing to tell.
        assert outbox.central_edit(edited, {"phone": row["phone"]}) == outbox.CentralEdit()


def test_a_withdrawal_is_undone_while_not_sent_and_refused_once_sent(
    office: Path, server: tuple[str, Path]
) -> None:
    """`applicants withdraw --undo` brings a record back while it has not gone to the central
    system (it then goes with the next sync); one that went is refused, naming why."""
    url, _ = server
    went = register(121)
    assert sync(url)["accepted"] == 1
    kept = register(122)
    for number in (went, kept):
        withdrawn = invoke(["applicants", "withdraw", number, "--reason", "Keliru", "--yes"])
        assert withdrawn.exit_code == 0
    assert sync(url)["sent"] == 0  # a withdrawn record is not sent
    refused = invoke(["applicants", "withdraw", went, "--undo"])
    assert refused.exit_code == 2
    assert f"Pembatalan {went} tidak dapat diurungkan" in refused.stderr
    assert db_row(office, went)["status"] == "withdrawn"
    assert invoke(["applicants", "withdraw", kept, "--undo"]).exit_code == 0
    done = sync(url)
    assert (done["sent"], done["accepted"]) == (1, 1)
    assert db_row(office, kept)["central_status"] in ("accepted", "verified")
