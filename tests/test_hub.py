"""The office hub end to end, with real processes on loopback: desks (each its own PRAKERJA_HOME,
the real CLI), one `prakerja hub serve`, and the reference central server (docs/office.md)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.centralserver import TOKEN, central
from tests.hubprocs import Done, cli, hub_serving, make_home, nik, register

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def enrol(hub_home: Path, desk: str) -> str:
    done = cli(hub_home, "hub", "enrol", desk, "--json")
    assert done.code == 0, done.stderr
    return str(done.json()["token"])


def rows(home: Path) -> dict[str, dict[str, Any]]:
    """The desk's records by registration number, with their central columns."""
    conn = sqlite3.connect(home / "prakerja.db")
    conn.row_factory = sqlite3.Row
    try:
        found = conn.execute(
            "SELECT id, registration_number, nik, central_status, central_id, central_reason, "
            "central_wave FROM applicants"
        ).fetchall()
    finally:
        conn.close()
    return {r["registration_number"]: dict(r) for r in found}


def central_registrations(data: Path) -> list[tuple[str, str, str]]:
    """(client_id, nik, registration_number) of every registration the central system holds."""
    conn = sqlite3.connect(data / "central.sqlite3")
    try:
        return [
            (str(a), str(b), str(c))
            for a, b, c in conn.execute(
                "SELECT client_id, nik, registration_number FROM registrations"
            )
        ]
    finally:
        conn.close()


def sync_until_done(home: Path, attempts: int = 12) -> Done:
    """`prakerja sync` again until it ends without a network failure (exit 4)."""
    done = cli(home, "sync", "--json")
    for _ in range(attempts):
        if done.code != 4:
            return done
        done = cli(home, "sync", "--json")
    return done


@pytest.fixture
def central_data(tmp_path: Path) -> Path:
    return tmp_path / "central"


@pytest.fixture
def central_url(central_data: Path) -> Iterator[str]:
    # Dropped responses upstream: the hub's forwarding resends under the same Idempotency-Key.
    with central(central_data, "--drop-rate", "0.3", "--fault-seed", "7", "--wave", "4") as url:
        yield url


def test_desks_through_the_hub_reach_central_exactly_once_and_see_every_verdict(
    office: Path, tmp_path: Path, central_url: str, central_data: Path
) -> None:
    hub_home = make_home(office, tmp_path / "hub", "D00", central_url, TOKEN)
    tokens = {desk: enrol(hub_home, desk) for desk in ("D01", "D02", "D03")}
    with hub_serving(hub_home) as hub:
        desks = {
            desk: make_home(office, tmp_path / desk, desk, hub.url, tokens[desk]) for desk in tokens
        }
        a1 = register(desks["D01"], 1)
        b1 = register(desks["D01"], 2)
        a2 = register(desks["D02"], 1)  # the same applicant at a second desk
        c2 = register(desks["D02"], 3)
        d3 = register(desks["D03"], 4)
        assert cli(desks["D01"], "sync", "--json").code == 0
        done = cli(desks["D02"], "sync", "--json")
        assert done.code == 3, done.stderr  # one refused: the duplicate
        assert done.json()["duplicate"] == 1
        # The desk is told which desk and registration number hold the NIK.
        assert rows(desks["D02"])[a2]["central_status"] == "duplicate"
        assert rows(desks["D02"])[a2]["central_reason"] == f"3273 {a1}"
        # Another Siti Aminah born the same day in Sukasari under another NIK: accepted, and the
        # desk is warned that D01 may hold the same person (POSSIBLE_DUPLICATE, office-wide).
        warned = done.json()["possible_duplicates"]
        assert [(w["registration_number"], w["desk"]) for w in warned] == [(c2, "D01")]
        assert warned[0]["other"] in (a1, b1)
        shown = cli(desks["D02"], "applicants", "show", c2)
        assert f"{warned[0]['other']} of desk D01 (found by the office hub)" in shown.stdout
        # The hub goes down mid-day: D03 keeps registering, syncs later.
        hub.kill()
        assert cli(desks["D03"], "sync", "--json").code == 4
        e3 = register(desks["D03"], 5)
    with hub_serving(hub_home, port=int(hub.url.rsplit(":", 1)[1])):
        assert cli(desks["D03"], "sync", "--json").code == 0
        # The hub's forward is SIGKILLed mid-way, then runs again (with dropped responses).
        proc = subprocess.Popen(
            [sys.executable, "-m", "prakerja_cli", "sync", "--batch-size", "1"],
            env={**_env(hub_home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.5)
        proc.kill()
        proc.wait()
        done = sync_until_done(hub_home)
        assert done.code == 0, done.stderr
        for home in desks.values():
            cli(home, "sync", "--json")
    held = central_registrations(central_data)
    assert sorted(n for _, n, _ in held) == sorted(nik(s) for s in (1, 2, 3, 4, 5))
    assert len({c for c, _, _ in held}) == len(held) == 5
    every = {**rows(desks["D01"]), **rows(desks["D02"]), **rows(desks["D03"])}
    for number in (a1, b1, c2, d3, e3):
        assert every[number]["central_status"] == "verified", every[number]
        assert every[number]["central_id"].startswith("C-")
        assert every[number]["central_wave"] == 4
    assert every[a2]["central_status"] == "duplicate"
    # What the supervisor sees.
    seen = cli(hub_home, "hub", "desks", "--json").json()["desks"]
    assert {d["desk"]: d["records"] for d in seen} == {"D01": 2, "D02": 1, "D03": 2}
    assert {d["desk"]: d["duplicates"] for d in seen}["D02"] == 1
    # The hub's audit trail vouches for every desk record it holds.
    verified = cli(hub_home, "audit", "verify", "--json")
    assert verified.code == 0, verified.stdout + verified.stderr


def _env(home: Path) -> dict[str, str]:
    import os

    env = {**os.environ, "PRAKERJA_HOME": str(home)}
    env.pop("PRAKERJA_API_URL", None)
    env.pop("PRAKERJA_API_TOKEN", None)
    return env


def test_a_desk_moved_between_hub_and_central_never_sends_a_record_twice(
    office: Path, tmp_path: Path, central_data: Path
) -> None:
    with central(central_data) as central_url:
        hub_home = make_home(office, tmp_path / "hub", "D00", central_url, TOKEN)
        token = enrol(hub_home, "D01")
        with hub_serving(hub_home) as hub:
            desk = make_home(office, tmp_path / "D01", "D01", hub.url, token)
            first = register(desk, 11)
            assert cli(desk, "sync").code == 0
            # A batch the hub took whose answer the desk never read (a dropped response).
            second = register(desk, 12)
            _send_without_reading(desk, hub.url, token)
            assert rows(desk)[second]["central_status"] is None
            assert cli(hub_home, "sync").code == 0  # the hub forwards both
        # The desk is moved to direct central sync: its open batch goes there, same ids.
        for key, value in (("api_url", central_url), ("api_token", TOKEN)):
            assert cli(desk, "config", "set", key, value).code == 0
        third = register(desk, 13)
        done = cli(desk, "sync", "--json")
        assert done.code == 0, done.stdout + done.stderr
        held = central_registrations(central_data)
        assert sorted(n for _, n, _ in held) == sorted(nik(s) for s in (11, 12, 13))
        mine = rows(desk)
        assert mine[second]["central_status"] in ("accepted", "verified")
        # The open batch's answer came from the central system itself (its first result).
        assert {mine[n]["central_id"] for n in (second, third)} <= {
            c[0] for c in _central_ids(central_data)
        }
        # The first was answered by the hub; the central status feed verifies it here now.
        assert mine[first]["central_status"] == "verified"


def _central_ids(data: Path) -> list[tuple[str]]:
    conn = sqlite3.connect(data / "central.sqlite3")
    try:
        return [(str(r[0]),) for r in conn.execute("SELECT central_id FROM registrations")]
    finally:
        conn.close()


def _send_without_reading(desk: Path, url: str, token: str) -> None:
    """Write the desk's outbox batch as its sync would, post it to the hub, and drop the answer."""
    import gzip

    from prakerja_cli.store.db import open_db
    from prakerja_cli.sync import outbox

    db = open_db(desk / "prakerja.db")
    try:
        (batch,) = outbox.make_batches(db, "3273", 500)
    finally:
        db.conn.close()
    response = requests.post(
        f"{url}/v1/registrations/batches",
        data=gzip.compress(batch.body),
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": batch.id,
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert response.status_code == 200


def test_enrolment_refuses_what_it_has_not_issued_and_two_desks_on_one_id(
    office: Path, tmp_path: Path
) -> None:
    hub_home = make_home(office, tmp_path / "hub", "D00")
    token = enrol(hub_home, "D02")
    again = cli(hub_home, "hub", "enrol", "D02")
    assert again.code == 2 and "D02" in again.stderr
    assert cli(hub_home, "hub", "enrol", "D00").code == 2  # the hub's own desk id
    stored = sqlite3.connect(hub_home / "prakerja.db")
    try:
        (digest,) = stored.execute("SELECT token_sha256 FROM hub_desks").fetchone()
    finally:
        stored.close()
    assert token not in digest and token.split(".", 1)[1] not in digest
    with hub_serving(hub_home) as hub:
        batch = f"{hub.url}/v1/registrations/batches"
        body = {"office_code": "3273", "records": []}
        key = {"Idempotency-Key": "6f1c7d7e-3b1d-4c59-9f53-0d6a8c1f2a11"}
        assert requests.post(batch, json=body, headers=key, timeout=10).status_code == 401
        bad = {**key, "Authorization": "Bearer D02.guessed"}
        assert requests.post(batch, json=body, headers=bad, timeout=10).status_code == 401
        good = {**key, "Authorization": f"Bearer {token}"}
        # D02's token claiming a record of desk D01: the whole batch refused.
        claim = {"office_code": "3273", "records": [_item("3273-D01-000001", "D01")]}
        refused = requests.post(batch, json=claim, headers=good, timeout=10)
        assert refused.status_code == 403 and refused.json()["error"] == "FORBIDDEN"
        assert requests.post(batch, json=body, headers=good, timeout=10).status_code == 200
        assert cli(hub_home, "hub", "revoke", "D02").code == 0
        status = requests.get(f"{hub.url}/v1/status", headers=good, timeout=10)
        assert status.status_code == 401
    listed = cli(hub_home, "hub", "desks", "--json").json()["desks"]
    assert listed[0]["desk"] == "D02" and listed[0]["revoked_at"]
    # Revoked, the id may be enrolled again: a new token.
    assert enrol(hub_home, "D02") != token


def _item(number: str, desk: str) -> dict[str, Any]:
    return {
        "client_id": "0b7a3c1e-2f4d-4e5a-8b6c-7d8e9f0a1b2c",
        "content_hash": "0" * 64,
        "record": {"registration_number": number, "desk": desk, "nik": nik(9)},
    }


def test_a_desk_moved_from_central_to_the_hub_reads_the_hubs_feed_from_its_start(
    office: Path, tmp_path: Path, central_data: Path
) -> None:
    with central(central_data, "--wave", "2") as central_url:
        desk = make_home(office, tmp_path / "D01", "D01", central_url, TOKEN)
        direct = register(desk, 21)
        others = make_home(office, tmp_path / "D05", "D05", central_url, TOKEN)
        for serial in (22, 23, 24):
            register(others, serial)
        assert cli(others, "sync").code == 0
        assert cli(desk, "sync").code == 0  # its status cursor is now past the hub's feed
        hub_home = make_home(office, tmp_path / "hub", "D00", central_url, TOKEN)
        token = enrol(hub_home, "D01")
        with hub_serving(hub_home) as hub:
            for key, value in (("api_url", hub.url), ("api_token", token)):
                assert cli(desk, "config", "set", key, value).code == 0
            later = register(desk, 25)
            assert cli(desk, "sync").code == 0
            assert cli(hub_home, "sync").code == 0
            assert cli(desk, "sync").code == 0
        mine = rows(desk)
        assert mine[direct]["central_status"] == "verified"
        assert mine[later]["central_status"] == "verified"
        assert mine[later]["central_id"].startswith("C-")
        assert mine[later]["central_wave"] == 2


def test_the_forward_thread_outlives_a_failure_nobody_foresaw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from prakerja_cli.hub import app

    runs = iter([sqlite3.OperationalError("database is locked"), "forward: requests 1"])

    def once() -> str:
        outcome = next(runs, "forward: requests 1")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(app, "forward_once", once)
    lines: list[str] = []
    stop = threading.Event()
    thread = app.forward_loop(0.01, stop, lines.append)
    for _ in range(500):
        if len(lines) >= 2:
            break
        threading.Event().wait(0.01)
    stop.set()
    thread.join(timeout=5)
    assert lines[:2] == ["forward: failed (OperationalError); trying again", "forward: requests 1"]


def central_held(data: Path, client_id: str) -> tuple[int, str | None, dict[str, Any], int]:
    """(version, withdrawn_at, record, amendments answered) of one central registration."""
    import json

    conn = sqlite3.connect(data / "central.sqlite3")
    try:
        version, withdrawn, record = conn.execute(
            "SELECT version, withdrawn_at, record FROM registrations WHERE client_id = ?",
            [client_id],
        ).fetchone()
        count = conn.execute(
            "SELECT count(*) FROM amendments WHERE client_id = ? AND outcome = 'applied'",
            [client_id],
        ).fetchone()[0]
    finally:
        conn.close()
    return int(version), withdrawn, json.loads(record), int(count)


def test_corrections_after_sync_go_through_the_hub_and_its_answers_come_back(
    office: Path, tmp_path: Path, central_url: str, central_data: Path
) -> None:
    import json
    import uuid

    hub_home = make_home(office, tmp_path / "hub", "D00", central_url, TOKEN)
    token = enrol(hub_home, "D01")
    with hub_serving(hub_home) as hub:
        desk = make_home(office, tmp_path / "D01", "D01", hub.url, token)
        number = register(desk, 21)
        cid = rows(desk)[number]["id"]
        assert cli(desk, "sync", "--json").code == 0  # held by the hub, not forwarded yet
        # Corrected before the hub forwarded it: the hub amends its copy and answers at once.
        assert cli(desk, "applicants", "edit", number, "--set", "name=Siti Aminah Putri").code == 0
        done = cli(desk, "sync", "--json")
        assert done.code == 0, done.stderr
        assert done.json()["amendments"] == {"sent": 1, "applied": 1, "conflict": 0, "rejected": 0}
        # The hub forwards the record, then the amendment, under the desk's amendment_id and
        # version (answers dropped at random on the way: resent, applied once).
        assert sync_until_done(hub_home).code == 0
        version, _, record, applied = central_held(central_data, cid)
        assert (version, record["name"], applied) == (2, "SITI AMINAH PUTRI", 1)
        # Corrected after it reached the central system.
        assert cli(desk, "applicants", "edit", number, "--set", "address=Jl. Dago 7").code == 0
        assert cli(desk, "sync", "--json").code == 0
        assert sync_until_done(hub_home).code == 0
        version, _, record, applied = central_held(central_data, cid)
        assert (version, record["address"], applied) == (3, "JL. DAGO 7", 2)
        # Another correction reaches the central system first (another route): the desk's next
        # one is a conflict upstream, and the hub relays it to the desk.
        other = {"amendment_id": str(uuid.uuid4()), "client_id": cid, "base_version": 3,
                 "kind": "amend", "changes": {"rw": "001"}}  # fmt: skip
        for _ in range(10):  # the central server drops some answers: the same key again
            try:
                answer = requests.post(
                    f"{central_url}/v1/registrations/amendments",
                    data=json.dumps({"office_code": "3273", "amendments": [other]}),
                    headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": other["amendment_id"],
                             "Content-Type": "application/json"}, timeout=10,
                )  # fmt: skip
                break
            except requests.ConnectionError:
                continue
        assert answer.json()["results"][0]["version"] == 4
        assert cli(desk, "applicants", "edit", number, "--set", "rt=012").code == 0
        assert cli(desk, "sync", "--json").json()["amendments"]["applied"] == 1  # by the hub
        assert sync_until_done(hub_home).code == 3  # the conflict, upstream
        relayed = cli(desk, "sync", "--json")
        assert relayed.json()["relayed"] >= 1, relayed.stdout
        shown = cli(desk, "applicants", "show", number, "--json").json()
        assert (shown["amendment"]["outcome"], shown["amendment"]["reason"]) == (
            "conflict", "VERSION_STALE",
        )  # fmt: skip
        assert shown["central_version"] == 4
        text = " ".join(cli(desk, "applicants", "show", number).stdout.split())
        assert "CONFLICT: the central record was changed elsewhere (now version 4)" in text
        assert central_held(central_data, cid)[2]["rt"] is None
        # A withdrawal after sync travels the same way.
        gone = cli(desk, "applicants", "withdraw", number, "--reason", "Pindah", "--yes", "--json")
        assert gone.code == 0 and gone.json()["amendment"]
        assert cli(desk, "sync", "--json").json()["amendments"]["applied"] == 1
        assert sync_until_done(hub_home).code == 0
        version, withdrawn, _, _ = central_held(central_data, cid)
        assert version == 5 and withdrawn is not None
        # Sent again by the desk (under a new key: its outbox lost): the hub answers the same,
        # and applies nothing twice.
        conn = sqlite3.connect(desk / "prakerja.db")
        try:
            (body,) = conn.execute(
                "SELECT body FROM amendment_requests ORDER BY created_at DESC, rowid DESC LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
        again = requests.post(
            f"{hub.url}/v1/registrations/amendments", data=bytes(body), timeout=10,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4()),
                     "Content-Type": "application/json"},
        )  # fmt: skip
        (answer,) = again.json()["results"]
        assert (answer["outcome"], answer["version"]) == ("applied", 5)
        assert cli(desk, "sync", "--json").json()["amendments"]["sent"] == 0
    hub_rows = rows(hub_home)
    assert hub_rows[number]["central_status"] == "verified"
    verified = cli(hub_home, "audit", "verify", "--json")
    assert verified.code == 0, verified.stdout + verified.stderr
    log = cli(hub_home, "audit", "log", "--json").json()
    # Each request the hub answered (the last: the one sent again, answered as before).
    assert [e["details"]["applied"] for e in log if e["action"] == "hub_amend"] == [1] * 5
    assert "DAGO" not in json.dumps(log) and "PUTRI" not in json.dumps(log)
