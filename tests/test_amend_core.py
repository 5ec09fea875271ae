"""The amendment rules without a server or a network: the contract's envelope and record checks
(central/contract.py), the decisions both central engines share (central/store.AmendWork), and the
desk's outbox of amendments (sync/outbox.py, sync/amendments.py)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rosters import person

from prakerja_cli.central.contract import (
    AmendKind,
    Amendment,
    AmendmentBatch,
    ApiError,
    check_amendment,
    parse_amendments,
)
from prakerja_cli.central.registry import Person, Registry, normalise_name
from prakerja_cli.central.store import AmendWork, Registered
from prakerja_cli.demo import synthetic_nik
from tests.conftest import applicant_args, invoke

TODAY = date(2026, 12, 1)


def record(**changes: Any) -> dict[str, Any]:
    nik = synthetic_nik("327301", date(1990, 8, 17), "P", 7)
    return {"registration_number": "3273-D01-000007", "nik": nik, "kk": "3273010101000007",
            "name": "Siti Aminah", "birth_date": "1990-08-17", "gender": "P",
            "address": "Jl. Setiabudi 12", "desk": "D01", "operator": "Rina",
            "registered_at": "2026-11-01T09:00:00+07:00", **changes}  # fmt: skip


def entry(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"amendment_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()),
                            "base_version": 1, "kind": "amend", "changes": {"name": "X"}}  # fmt: skip
    return {**base, **fields}


def test_the_envelope_is_exact() -> None:
    good = entry()
    parsed = parse_amendments({"office_code": "3273", "amendments": [good]})
    assert parsed.items == [
        Amendment(good["amendment_id"], good["client_id"], 1, AmendKind.AMEND, {"name": "X"})
    ]
    withdrawal = {k: v for k, v in entry(kind="withdraw").items() if k != "changes"}
    assert parse_amendments({"office_code": "3273", "amendments": [withdrawal]}).items[0].kind == (
        AmendKind.WITHDRAW
    )
    for bad in (
        [],
        {"office_code": "327", "amendments": []},
        {"office_code": "3273", "amendments": {}},
        {"office_code": "3273", "amendments": [1]},
        {"office_code": "3273", "amendments": [entry(amendment_id="x")]},
        {"office_code": "3273", "amendments": [entry(client_id=None)]},
        {"office_code": "3273", "amendments": [entry(base_version=0)]},
        {"office_code": "3273", "amendments": [entry(base_version=True)]},
        {"office_code": "3273", "amendments": [entry(base_version="1")]},
        {"office_code": "3273", "amendments": [entry(kind="fix")]},
        {"office_code": "3273", "amendments": [entry(changes={})]},
        {"office_code": "3273", "amendments": [entry(changes=[])]},
        {"office_code": "3273", "amendments": [entry(kind="withdraw")]},  # with changes
    ):
        with pytest.raises(ApiError) as caught:
            parse_amendments(bad)
        assert caught.value.status == 400, bad
    with pytest.raises(ApiError) as caught:
        parse_amendments({"office_code": "3273", "amendments": [entry()] * 1001})
    assert caught.value.status == 413


def test_the_amended_record_passes_the_checks_of_a_new_one() -> None:
    def check(changes: dict[str, Any], kind: AmendKind = AmendKind.AMEND) -> str | None:
        item = Amendment(str(uuid.uuid4()), str(uuid.uuid4()), 1, kind, changes)
        return check_amendment(record(), item, "3273", TODAY)[0]

    assert check({"name": "Siti Aminah Putri", "address": None}) is None
    assert check({}, AmendKind.WITHDRAW) is None
    for fixed in ("nik", "registration_number", "desk", "operator", "registered_at"):
        assert check({fixed: "x"}) == "FIELD_NOT_AMENDABLE"
    assert check({"kk": "0073010101100002"}) == "KK_INVALID"
    assert check({"gender": "X"}) == "FIELD_INVALID"
    assert check({"name": "  "}) == "FIELD_INVALID"
    assert check({"in_school": "no"}) == "FIELD_INVALID"
    assert check({"birth_date": "2010-01-01"}) == "AGE_NOT_ELIGIBLE"


def registered(version: int = 1, *, office: str = "3273", withdrawn: bool = False) -> Registered:
    return Registered("C-000007", office, version, withdrawn, record(), None)


def work(
    items: list[Amendment],
    regs: dict[str, Registered],
    *,
    firsts: dict[str, str] | None = None,
    registry: Registry | None = None,
) -> AmendWork:
    done = AmendWork(AmendmentBatch("3273", items), str(uuid.uuid4()), "2026-12-01T10:00:00+07:00",
                     TODAY, registry, 5, firsts or {}, regs)  # fmt: skip
    done.decide()
    return done


def test_versions_conflicts_and_replays_in_one_request() -> None:
    cid = str(uuid.uuid4())
    first = Amendment(str(uuid.uuid4()), cid, 1, AmendKind.AMEND, {"name": "Siti Aminah Putri"})
    second = Amendment(str(uuid.uuid4()), cid, 2, AmendKind.AMEND, {"address": "Jl. Dago 5"})
    stale = Amendment(str(uuid.uuid4()), cid, 1, AmendKind.AMEND, {"rt": "001"})
    gone = Amendment(str(uuid.uuid4()), cid, 3, AmendKind.WITHDRAW, {})
    late = Amendment(str(uuid.uuid4()), cid, 4, AmendKind.AMEND, {"rt": "002"})
    done = work([first, second, first, stale, gone, late], {cid: registered()})
    assert [(r["outcome"], r.get("reason"), r.get("version")) for r in done.results] == [
        ("applied", None, 2),
        ("applied", None, 3),
        ("applied", None, 2),  # the same amendment_id again: its first answer
        ("conflict", "VERSION_STALE", 3),
        ("applied", None, 4),
        ("rejected", "WITHDRAWN", 4),
    ]
    ((saved, version, withdrawn_at, client),) = done.registration_updates()
    stored = json.loads(saved)
    assert (stored["name"], stored["address"], version, client) == (
        "Siti Aminah Putri", "Jl. Dago 5", 4, cid,
    )  # fmt: skip
    assert withdrawn_at is not None
    # One row per amendment_id decided here (not the repeat); none for what was answered before.
    assert len(done.amendment_rows()) == 5
    replayed = work([first], {cid: registered(4)}, firsts={first.amendment_id: '{"x": 1}'})
    assert replayed.results == [{"x": 1}] and replayed.amendment_rows() == []


def test_another_offices_registration_is_not_registered_here() -> None:
    cid = str(uuid.uuid4())
    item = Amendment(str(uuid.uuid4()), cid, 1, AmendKind.AMEND, {"name": "Y"})
    for regs in ({}, {cid: registered(office="3201")}):
        (result,) = work([item], regs).results
        assert (result["outcome"], result["reason"]) == ("rejected", "NOT_REGISTERED")
        assert "central_id" not in result


def test_a_corrected_name_is_verified_again_and_gets_its_wave() -> None:
    nik = record()["nik"]
    registry = Registry(
        {nik: Person(normalise_name("Siti Aminah Putri"), date(1990, 8, 17), record()["kk"])},
        "test",
    )
    cid = str(uuid.uuid4())
    before = registered()
    before.verdict = "registry_rejected"
    fix = Amendment(str(uuid.uuid4()), cid, 1, AmendKind.AMEND, {"name": "Siti Aminah Putri"})
    done = work([fix], {cid: before}, registry=registry)
    assert [(e[3], e[4], e[5]) for e in done.event_rows()] == [
        ("verified", None, None), ("wave_assigned", None, 5),
    ]  # fmt: skip
    # An address is not the registry's business: no event.
    other = Amendment(str(uuid.uuid4()), cid, 1, AmendKind.AMEND, {"address": "Jl. Lain"})
    assert work([other], {cid: registered()}, registry=registry).event_rows() == []


def test_the_desk_joins_unsent_corrections_and_numbers_versions_in_order(office: Path) -> None:
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store.db import write
    from prakerja_cli.sync import amendments, outbox

    p = person(401)
    run = invoke([*applicant_args(nik=p["NIK"], kk=p["No. KK"], name=p["Nama Sesuai KTP"],
                                  birth_date=p["Tgl Lahir"].isoformat(), gender=p["L/P"])])  # fmt: skip
    assert run.exit_code == 0, run.stdout
    ws = open_workspace()
    db = ws.db
    (cid,) = [r[0] for r in db.execute("SELECT id FROM applicants").fetchall()]
    with write(db):
        # Never sent: an edit is no amendment.
        assert outbox.write_edit(db, cid, {"rt": "001"}).amendment is None
        db.execute("UPDATE applicants SET central_status = 'accepted', central_version = 3")
        one = outbox.write_edit(db, cid, {"rt": "002"}).amendment
        two = outbox.write_edit(db, cid, {"rw": "004"}).amendment
    assert one is not None and one == two  # joined: one amendment, the later values too
    first = amendments.write_request(db, "3273")
    assert first is not None
    (sent,) = json.loads(first.body)["amendments"]
    assert (sent["base_version"], sent["changes"]) == (3, {"rt": "002", "rw": "004"})
    # While it is unanswered, the record's next correction waits for it.
    with write(db):
        three = outbox.write_edit(db, cid, {"rt": "005"}).amendment
        gone = outbox.queue_withdrawal(db, cid)
    assert three not in (None, one) and gone is not None
    assert amendments.write_request(db, "3273") is None
    assert [r.id for r in amendments.open_requests(db)] == [first.id]
    answer = {"amendment_id": one, "client_id": cid, "outcome": "applied", "version": 4}
    assert amendments.apply_answers(db, first, [answer]).counts["applied"] == 1
    second = amendments.write_request(db, "3273")
    assert second is not None
    assert [(a["amendment_id"], a["base_version"], a["kind"]) for a in
            json.loads(second.body)["amendments"]] == [(three, 4, "amend"), (gone, 5, "withdraw")]  # fmt: skip
    stale = {"amendment_id": three, "client_id": cid, "outcome": "conflict",
             "reason": "VERSION_STALE", "version": 6}  # fmt: skip
    answered = amendments.apply_answers(db, second, [stale])
    assert answered.conflicts == ["3273-D01-000001"]
    row = db.execute("SELECT central_version FROM applicants WHERE id = ?", [cid]).fetchone()
    assert row[0] == 6  # the next correction amends the version the central system holds
    latest = amendments.latest(db, cid)
    assert latest is not None and latest["id"] == gone and latest["outcome"] is None
    db.conn.close()
