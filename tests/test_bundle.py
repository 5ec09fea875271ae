"""USB bundles end to end, with no socket between desks and hub (docs/office.md, "The USB
routine"): desks (each its own PRAKERJA_HOME, the real CLI) export, the hub imports, syncs
upstream to the reference central server, exports per desk, and the desks import. Duplicated,
reordered, cut-short, altered and foreign bundles."""

from __future__ import annotations

import itertools
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.centralserver import TOKEN, central
from tests.hubprocs import Done, cli, hub_serving, make_home, nik, register

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

HUB_KEY = "3273-D00.prakerja-key"


def enrol_by_usb(hub: Path, desk_home: Path, desk: str, usb: Path) -> str:
    """The enrolment round trip on one USB stick: desk key to the hub, hub key back. Returns the
    desk's token (for the LAN, when there is one)."""
    usb.mkdir(exist_ok=True)
    done = cli(desk_home, "bundle", "key", str(usb), "--json")
    assert done.code == 0, done.stderr
    desk_print = done.json()["fingerprint"]
    done = cli(hub, "hub", "enrol", desk, "--desk-key", str(usb / f"3273-{desk}.prakerja-key"),
               "--json")  # fmt: skip
    assert done.code == 0, done.stderr
    # The hub shows the fingerprint the desk showed; the desk shows the one the hub showed.
    assert done.json()["desk_fingerprint"] == desk_print
    hub_print = done.json()["hub_fingerprint"]
    token = str(done.json()["token"])
    done = cli(desk_home, "bundle", "trust", str(usb / HUB_KEY), "--json")
    assert done.code == 0, done.stderr
    assert done.json() == {"hub": "D00", "fingerprint": hub_print}
    return token


def export(home: Path, out: Path, *more: str) -> Path:
    done = cli(home, "bundle", "export", *more, str(out), "--json")
    assert done.code == 0, done.stdout + done.stderr
    return Path(done.json()["file"])


def take(home: Path, bundle: Path) -> dict[str, Any]:
    done = cli(home, "bundle", "import", str(bundle), "--json")
    assert done.code == 0, done.stdout + done.stderr
    return dict(done.json())


def refused(home: Path, bundle: Path, error: str) -> Done:
    """The import is refused: exit 1, one error line and its hint, the --json error named."""
    done = cli(home, "bundle", "import", str(bundle))
    assert done.code == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error:") and lines[1].startswith("hint:"), lines
    as_json = cli(home, "bundle", "import", str(bundle), "--json")
    assert as_json.code == 1 and as_json.json()["error"] == error
    return done


def state(home: Path) -> dict[str, Any]:
    """Everything a bundle can change in a store, without the moments it happened."""
    conn = sqlite3.connect(home / "prakerja.db")
    try:
        tables = {
            "applicants": "SELECT id, registration_number, nik, status, central_status, "
            "central_id, central_reason, central_wave, sent_hash FROM applicants",
            "outbox": "SELECT id, body, records, done_at IS NULL FROM outbox_batches",
            "hub_records": "SELECT client_id, desk FROM hub_records",
            "hub_results": "SELECT client_id, content_hash, desk, result FROM hub_results",
            "hub_keys": "SELECT key, desk, body_sha256, response FROM hub_keys",
            "hub_feed": "SELECT seq, desk, client_id, central_id, status, reason, wave "
            "FROM hub_feed",
            "meta": "SELECT key, value FROM meta WHERE key IN ('bundle_cursor', 'status_cursor')",
        }
        return {name: sorted(conn.execute(sql).fetchall()) for name, sql in tables.items()}
    finally:
        conn.close()


def audit_count(home: Path) -> int:
    conn = sqlite3.connect(home / "prakerja.db")
    try:
        return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])
    finally:
        conn.close()


def rows(home: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(home / "prakerja.db")
    conn.row_factory = sqlite3.Row
    try:
        found = conn.execute(
            "SELECT registration_number, central_status, central_id, central_reason, "
            "central_wave FROM applicants"
        ).fetchall()
    finally:
        conn.close()
    return {r["registration_number"]: dict(r) for r in found}


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    stick = tmp_path / "usb"
    stick.mkdir()
    return stick


def test_three_desks_and_a_hub_by_usb_only_reach_central_once_and_see_every_verdict(
    office: Path, tmp_path: Path, usb: Path
) -> None:
    data = tmp_path / "central"
    with central(data, "--drop-rate", "0.3", "--fault-seed", "5", "--wave", "3") as url:
        hub = make_home(office, tmp_path / "hub", "D00", url, TOKEN)
        desks = {d: make_home(office, tmp_path / d, d) for d in ("D01", "D02", "D03")}
        for name, home in desks.items():
            enrol_by_usb(hub, home, name, usb)
        a1 = register(desks["D01"], 1)
        b1 = register(desks["D01"], 2)
        a2 = register(desks["D02"], 1)  # the same applicant at a second desk
        c2 = register(desks["D02"], 3)
        d3 = register(desks["D03"], 4)
        out = {name: export(home, usb) for name, home in desks.items()}
        # D03 goes on registering: its next bundle carries the first batch again, and the new one.
        e3 = register(desks["D03"], 5)
        again = export(desks["D03"], usb)
        assert out["D03"] != again
        # The hub takes them out of order, one twice.
        assert take(hub, again)["records"] == 2
        assert take(hub, out["D01"])["outcomes"] == {"accepted": 2}
        taken = take(hub, out["D02"])
        assert taken["outcomes"] == {"accepted": 1, "duplicate": 1}
        before = state(hub)
        assert take(hub, out["D03"])["outcomes"] == {"accepted": 1}  # the answer it had
        assert take(hub, again)["records"] == 2
        assert state(hub) == before
        # The hub answers each desk at once, before it reaches the central system.
        early = {name: export(hub, usb, "--for-desk", name) for name in desks}
        assert take(desks["D02"], early["D02"])["answers"] == 1
        assert rows(desks["D02"])[a2]["central_status"] == "duplicate"
        assert rows(desks["D02"])[a2]["central_reason"] == f"3273 {a1}"
        # The hub forwards (with dropped responses upstream), then answers each desk again.
        for _ in range(12):
            done = cli(hub, "sync", "--json")
            if done.code != 4:
                break
        assert done.code == 0, done.stdout + done.stderr
        late = {name: export(hub, usb, "--for-desk", name, "--force") for name in desks}
        for name, home in desks.items():
            take(home, late[name])
            snapshot = state(home)
            take(home, early[name])  # an older bundle after the newer one: nothing goes back
            take(home, late[name])  # the same one again
            assert state(home) == snapshot
    conn = sqlite3.connect(data / "central.sqlite3")
    try:
        held = [str(r[0]) for r in conn.execute("SELECT nik FROM registrations")]
    finally:
        conn.close()
    assert sorted(held) == sorted(nik(s) for s in (1, 2, 3, 4, 5))
    every = {**rows(desks["D01"]), **rows(desks["D02"]), **rows(desks["D03"])}
    for number in (a1, b1, c2, d3, e3):
        assert every[number]["central_status"] == "verified", every[number]
        assert every[number]["central_id"].startswith("C-")
        assert every[number]["central_wave"] == 3
    assert every[a2]["central_status"] == "duplicate"
    # Nothing left to send: the desks' next bundles carry no records.
    for home in desks.values():
        assert cli(home, "sync", "status", "--json").json()["states"].get("pending") is None
        assert cli(home, "bundle", "export", str(usb), "--json").json()["records"] == 0
    seen = cli(hub, "hub", "desks", "--json").json()["desks"]
    assert {d["desk"]: d["records"] for d in seen} == {"D01": 2, "D02": 1, "D03": 2}
    assert all(d["bundle_fingerprint"] for d in seen)
    assert cli(hub, "audit", "verify").code == 0
    for home in desks.values():
        assert cli(home, "audit", "verify").code == 0


def test_bundles_in_any_order_or_twice_end_in_the_same_state(
    office: Path, tmp_path: Path, usb: Path
) -> None:
    """At the hub: a desk's three bundles in every order, each once or twice, give one state. At
    the desk: the hub's return bundles in every order do too."""
    hub = make_home(office, tmp_path / "hub", "D00")
    desk = make_home(office, tmp_path / "D01", "D01")
    enrol_by_usb(hub, desk, "D01", usb)
    bundles = []
    for serial in (31, 32, 33):
        register(desk, serial)
        bundles.append(export(desk, usb / f"b{serial}.prakerja-bundle"))
    pristine = tmp_path / "hub-pristine"
    shutil.copytree(hub, pristine)
    states = []
    for order in [*itertools.permutations(bundles), (*bundles, *bundles)]:
        trial = tmp_path / "hub-trial"
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(pristine, trial)
        for bundle in order:
            take(trial, bundle)
        states.append(state(trial))
        if len(states) == 1:
            shutil.copytree(trial, tmp_path / "hub-first")
    assert all(s == states[0] for s in states[1:])
    assert len(states[0]["hub_keys"]) == 3  # one answer per batch, however often it came
    hub = tmp_path / "hub-first"
    # Return bundles: one after the first batch only, one after all three.
    first_only = tmp_path / "hub-one"
    shutil.copytree(pristine, first_only)
    take(first_only, bundles[0])
    returns = [export(first_only, usb / "r1.prakerja-bundle", "--for-desk", "D01"),
               export(hub, usb / "r2.prakerja-bundle", "--for-desk", "D01")]  # fmt: skip
    desk_states = []
    for order in [*itertools.permutations(returns), (*returns, *returns)]:
        trial = tmp_path / "desk-trial"
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(desk, trial)
        for bundle in order:
            take(trial, bundle)
        desk_states.append(state(trial))
    assert all(s == desk_states[0] for s in desk_states[1:])
    assert {r[4] for r in desk_states[0]["applicants"]} == {"accepted"}
    assert [r[3] for r in desk_states[0]["outbox"]] == [0, 0, 0]  # every batch answered


def test_a_cut_short_altered_foreign_or_unsigned_bundle_is_refused_with_nothing_stored(
    office: Path, tmp_path: Path, usb: Path
) -> None:
    hub = make_home(office, tmp_path / "hub", "D00")
    desk = make_home(office, tmp_path / "D01", "D01")
    other = make_home(office, tmp_path / "D02", "D02")
    enrol_by_usb(hub, desk, "D01", usb)
    enrol_by_usb(hub, other, "D02", usb)
    register(desk, 41)
    good = export(desk, usb / "good.prakerja-bundle")
    data = good.read_bytes()
    before, entries = state(hub), audit_count(hub)
    cases = {
        "cut": data[: len(data) - 100],
        "half": data[: len(data) // 2],
        "flipped": data[:300] + bytes([data[300] ^ 1]) + data[301:],
        "flipped-end": data[:-1] + bytes([data[-1] ^ 0x80]),
        "empty": b"",
    }
    for name, content in cases.items():
        bad = usb / f"{name}.prakerja-bundle"
        bad.write_bytes(content)
        refused(hub, bad, "bundle_unreadable")
    # A bundle encrypted to the hub (its public key is no secret) and signed by another key.
    forged = usb / "forged.prakerja-bundle"
    forged.write_bytes(_forge(hub, usb / HUB_KEY, "D01"))
    refused(hub, forged, "bundle_signature")
    # Signed by an enrolled desk's key but claiming to be another desk: D02's key does not verify.
    assert state(hub) == before and audit_count(hub) == entries
    # The hub's bundle for D01 is not D02's to read.
    assert take(hub, good)["outcomes"] == {"accepted": 1}
    for_d01 = export(hub, usb / "for-d01.prakerja-bundle", "--for-desk", "D01")
    desk_before, desk_entries = state(other), audit_count(other)
    refused(other, for_d01, "bundle_unreadable")
    # A desk's own bundle brought back to a desk: not for it either.
    refused(desk, good, "bundle_unreadable")
    assert state(other) == desk_before and audit_count(other) == desk_entries
    # A revoked desk's bundles are refused; its key goes with its token.
    assert cli(hub, "hub", "revoke", "D02").code == 0
    register(other, 42)
    late = export(other, usb / "late.prakerja-bundle")
    before, entries = state(hub), audit_count(hub)
    refused(hub, late, "bundle_sender_unknown")
    assert state(hub) == before and audit_count(hub) == entries
    # The secret keys are owner-only.
    for home in (hub, desk, other):
        mode = stat.S_IMODE((home / "bundle.key").stat().st_mode)
        assert os.name == "nt" or mode == 0o600, oct(mode)


def _forge(hub: Path, hub_key: Path, claimed: str) -> bytes:
    """What someone without D01's secret key can write: a well-formed bundle for the hub."""
    from prakerja_cli.bundle.keys import Identity, read_public
    from prakerja_cli.bundle.sealed import seal

    stranger = Identity(_age_secret(), os.urandom(32))
    header = {"kind": "desk", "office_code": "3273", "from": claimed, "to": "D00",
              "id": "0", "created_at": "2026-01-01T00:00:00+07:00"}  # fmt: skip
    return seal(header, {"batches": []}, stranger, read_public(hub_key))


def _age_secret() -> str:
    from pyrage import x25519

    return str(x25519.Identity.generate())


def test_keys_are_exchanged_once_and_checked(office: Path, tmp_path: Path, usb: Path) -> None:
    hub = make_home(office, tmp_path / "hub", "D00")
    desk = make_home(office, tmp_path / "D01", "D01")
    done = cli(desk, "bundle", "export", str(usb))
    assert done.code == 1 and "bundle trust" in done.stderr  # no hub key yet
    assert cli(desk, "bundle", "key", str(usb)).code == 0
    # The key file of D01 does not enrol D02.
    wrong = cli(hub, "hub", "enrol", "D02", "--desk-key", str(usb / "3273-D01.prakerja-key"))
    assert wrong.code == 2 and "D02" in wrong.stderr
    junk = usb / "junk.prakerja-key"
    junk.write_text("not a key\n")
    assert cli(hub, "hub", "enrol", "D01", "--desk-key", str(junk)).code == 1
    enrol_by_usb(hub, desk, "D01", usb)
    # A second hub's key is not taken silently.
    other_hub = make_home(office, tmp_path / "hub2", "D09")
    assert cli(other_hub, "bundle", "key", str(usb / "h2.prakerja-key")).code == 0
    kept = cli(desk, "bundle", "trust", str(usb / "h2.prakerja-key"))
    assert kept.code == 1 and "--replace" in kept.stderr
    assert cli(desk, "bundle", "trust", str(usb / "3273-D01.prakerja-key")).code == 1  # its own


def test_an_older_bundle_does_not_undo_what_the_lan_brought(
    office: Path, tmp_path: Path, usb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk on the LAN one day and the stick the next: a hub bundle written before the LAN sync
    (the central answer, not yet the verification) is imported after it."""
    import json

    from prakerja_cli.bundle.keys import identity, read_public
    from prakerja_cli.bundle.sealed import seal

    with central(tmp_path / "central", "--wave", "2") as url:
        hub = make_home(office, tmp_path / "hub", "D00", url, TOKEN)
        desk = make_home(office, tmp_path / "D01", "D01")
        token = enrol_by_usb(hub, desk, "D01", usb)
        number = register(desk, 51)
        with hub_serving(hub) as served:
            for key, value in (("api_url", served.url), ("api_token", token)):
                assert cli(desk, "config", "set", key, value).code == 0
            assert cli(desk, "sync").code == 0
            assert cli(hub, "sync").code == 0
            assert cli(desk, "sync").code == 0
    assert rows(desk)[number]["central_status"] == "verified"
    conn = sqlite3.connect(hub / "prakerja.db")
    try:
        answered = [{"key": k, "response": json.loads(r)}
                    for k, r in conn.execute("SELECT key, response FROM hub_keys")]  # fmt: skip
        first = conn.execute(
            "SELECT seq, client_id, central_id, status, reason, wave, at FROM hub_feed "
            "WHERE status = 'accepted' ORDER BY seq LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    names = ("seq", "client_id", "central_id", "status", "reason", "wave", "at")
    event = dict(zip(names, first, strict=True))
    assert event["central_id"].startswith("C-")
    # What the hub's bundle held when only the central answer had come: signed by the hub itself.
    monkeypatch.setenv("PRAKERJA_HOME", str(hub))
    header = {"kind": "hub", "office_code": "3273", "from": "D00", "to": "D01", "id": "1",
              "created_at": "2026-01-05T17:00:00+07:00"}  # fmt: skip
    payload = {"answers": answered, "events": [event], "next_cursor": event["seq"]}
    older = usb / "older.prakerja-bundle"
    older.write_bytes(seal(header, payload, identity(), read_public(usb / "3273-D01.prakerja-key")))
    taken = take(desk, older)
    assert taken["answers"] == 0 and taken["events"] == 1
    mine = rows(desk)[number]
    assert (mine["central_status"], mine["central_wave"]) == ("verified", 2)


def test_a_bundle_with_one_foreign_batch_is_refused_whole(
    office: Path, tmp_path: Path, usb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed by the desk, but its second batch holds a record in another desk's name: the hub's
    claim check refuses it, and the good first batch is not stored either."""
    import json

    from prakerja_cli.bundle.keys import identity, read_public
    from prakerja_cli.bundle.sealed import open_sealed, seal

    hub = make_home(office, tmp_path / "hub", "D00")
    desk = make_home(office, tmp_path / "D01", "D01")
    enrol_by_usb(hub, desk, "D01", usb)
    register(desk, 61)
    good = export(desk, usb / "good.prakerja-bundle")
    monkeypatch.setenv("PRAKERJA_HOME", str(hub))
    opened = open_sealed(good.read_bytes(), identity())
    monkeypatch.setenv("PRAKERJA_HOME", str(desk))
    payload = opened.payload(read_public(usb / "3273-D01.prakerja-key"))
    (first,) = payload["batches"]
    body = json.loads(first["body"])
    body["records"][0]["record"]["desk"] = "D02"
    foreign = {"key": "018f0000-0000-7000-8000-000000000001", "body": json.dumps(body)}
    payload["batches"].append(foreign)
    bad = usb / "bad.prakerja-bundle"
    bad.write_bytes(seal(opened.header, payload, identity(), read_public(usb / HUB_KEY)))
    before, entries = state(hub), audit_count(hub)
    done = refused(hub, bad, "bundle_batch_foreign")
    assert "D01" in done.stderr
    assert state(hub) == before and audit_count(hub) == entries
    assert take(hub, good)["outcomes"] == {"accepted": 1}


def test_a_hub_killed_while_importing_keeps_all_or_nothing(
    office: Path, tmp_path: Path, usb: Path
) -> None:
    import subprocess
    import sys
    import time

    from tests.rosters import person, write_csv

    hub = make_home(office, tmp_path / "hub", "D00")
    desk = make_home(office, tmp_path / "D01", "D01")
    enrol_by_usb(hub, desk, "D01", usb)
    roster = write_csv(tmp_path / "r.csv", [person(i) for i in range(1, 3001)])
    assert cli(desk, "roster", "import", str(roster)).code in (0, 3)
    bundle = export(desk, usb / "d01.prakerja-bundle")
    clean = tmp_path / "hub-clean"
    shutil.copytree(hub, clean)
    started = time.monotonic()
    take(clean, bundle)
    whole = time.monotonic() - started
    env = {**os.environ, "PRAKERJA_HOME": str(hub)}
    # Killed at a third, two thirds and nine tenths of an import's time: mid-transaction or not,
    # the store holds all of the bundle or none of it.
    for delay in (whole / 3, whole * 2 / 3, whole * 0.9):
        proc = subprocess.Popen(
            [sys.executable, "-m", "prakerja_cli", "bundle", "import", str(bundle)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(delay)
        proc.kill()
        proc.wait()
        held = state(hub)["hub_keys"]
        assert held in ([], state(clean)["hub_keys"])  # all of it, or none of it
    take(hub, bundle)
    assert state(hub) == state(clean)
