"""Corrections after sync (issue 16): an edit or withdrawal of a record the central system holds
goes there as a versioned, idempotent amendment (docs/central-api.md, Amendments).

End to end through the real CLI against the reference central server on loopback (tests/
centralserver.py); the desk's sync runs in a child process, as a clerk runs it.
"""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from centralserver import TOKEN, central
from rosters import person
from test_sync import run_sync

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke


def register(i: int, **changes: Any) -> str:
    p = person(i)
    args = {"nik": p["NIK"], "kk": p["No. KK"], "name": p["Nama Sesuai KTP"],
            "birth_date": p["Tgl Lahir"].isoformat(), "gender": p["L/P"], **changes}  # fmt: skip
    run = invoke([*applicant_args(**args), "--json"])
    assert run.exit_code == 0, run.stdout
    return str(run.json()["registration_number"])


def flat(run: Any) -> str:
    """What a command printed, its lines joined (a table wraps a long value in its column)."""
    return " ".join(str(run.stdout).split())


def sync(office: Path, url: str, *args: str) -> tuple[int, dict[str, Any], str]:
    """`prakerja sync --json` in a child process: (exit code, its JSON, stderr)."""
    done = run_sync(office, url, *args)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def desk_row(office: Path, number: str) -> dict[str, Any]:
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute("SELECT * FROM applicants WHERE registration_number = ?", [number])
        return dict(found.fetchone())


def held(data: Path, client_id: str) -> tuple[int, str | None, dict[str, Any], int]:
    """(version, withdrawn_at, record, amendments answered) of a registration on the server."""
    with sqlite3.connect(data / "central.sqlite3") as conn:
        version, withdrawn, record = conn.execute(
            "SELECT version, withdrawn_at, record FROM registrations WHERE client_id = ?",
            [client_id],
        ).fetchone()
        count = conn.execute(
            "SELECT count(*) FROM amendments WHERE client_id = ?", [client_id]
        ).fetchone()[0]
    return int(version), withdrawn, json.loads(record), int(count)


def post_amendments(url: str, body: bytes, key: str) -> requests.Response:
    return requests.post(
        f"{url}/v1/registrations/amendments",
        data=gzip.compress(body),
        headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": key,
                 "Content-Encoding": "gzip", "Content-Type": "application/json"},
        timeout=30,
    )  # fmt: skip


def test_an_edit_after_sync_is_delivered_once_through_a_lost_answer(
    office: Path, tmp_path: Path
) -> None:
    number = register(301)
    data = tmp_path / "central"
    with central(data) as url:
        assert sync(office, url)[0] == 0
        cid = desk_row(office, number)["id"]
        edit = invoke(["applicants", "edit", number, "--set", "name=Siti Aminah Putri",
                       "--set", "address=Jl. Dago 5", "--json"])  # fmt: skip
        assert edit.exit_code == 0 and edit.json()["amendment"], edit.stdout
        # The request goes out and its answer is lost: written as the sync writes it, posted,
        # the answer never read. The central system has applied it.
        from prakerja_cli.office import open_workspace
        from prakerja_cli.sync import amendments

        ws = open_workspace()
        request = amendments.write_request(ws.db, "3273")
        ws.db.conn.close()
        assert request is not None and request.amendments == 1
        lost = post_amendments(url, request.body, request.id)
        assert lost.json()["results"][0]["version"] == 2
        assert invoke(["sync", "status", "--json"]).json()["amendments"] == {
            "pending": 1, "conflict": 0,
        }  # fmt: skip
        # The next sync sends the same request under its key: answered the same, not applied
        # again.
        code, doc, _ = sync(office, url)
        assert code == 0, doc
        assert doc["amendments"] == {"sent": 1, "applied": 1, "conflict": 0, "rejected": 0}
        # Sent yet again under a new key (a desk that lost its outbox): the same answer.
        again = post_amendments(url, request.body, str(uuid.uuid4())).json()["results"]
        assert again == lost.json()["results"]
        assert sync(office, url)[1]["amendments"]["sent"] == 0
    version, withdrawn, record, answered = held(data, cid)
    assert (version, withdrawn, answered) == (2, None, 1)
    assert (record["name"], record["address"]) == ("SITI AMINAH PUTRI", "JL. DAGO 5")
    row = desk_row(office, number)
    assert (row["central_version"], row["name"]) == (2, "SITI AMINAH PUTRI")
    shown = invoke(["applicants", "show", number, "--json"]).json()
    assert shown["changed_since_sent"] is False and shown["amendment"]["outcome"] == "applied"
    assert "koreksi diterima pusat (versi 2)" in flat(invoke(["applicants", "show", number]))
    # The audit trail says an amendment was made, never with the values.
    log = invoke(["audit", "log", "--json"]).json()
    edits = [e for e in log if e["action"] == "edit"]
    assert edits[-1]["details"]["amendment"] == edit.json()["amendment"]
    assert "DAGO" not in json.dumps(log) and "PUTRI" not in json.dumps(log)
    assert invoke(["audit", "verify", "--json"]).json()["intact"] is True


def test_dropped_answers_at_random_still_apply_each_correction_once(
    office: Path, tmp_path: Path
) -> None:
    numbers = [register(310 + i) for i in range(6)]
    data = tmp_path / "central"
    with central(data) as url:
        assert sync(office, url)[0] == 0
    for i, number in enumerate(numbers):
        assert (
            invoke(["applicants", "edit", number, "--set", f"address=Jl. Baru {i}"]).exit_code == 0
        )
    with central(data, "--drop-rate", "0.5", "--fault-seed", "3") as url:
        for _ in range(20):
            code, doc, _ = sync(office, url)
            assert code in (0, 4), doc
            if (
                code == 0
                and invoke(["sync", "status", "--json"]).json()["amendments"]["pending"] == 0
            ):
                break
        else:
            pytest.fail("the corrections were never all delivered")
    for i, number in enumerate(numbers):
        version, _, record, answered = held(data, desk_row(office, number)["id"])
        assert (version, record["address"], answered) == (2, f"JL. BARU {i}", 1)
        assert desk_row(office, number)["central_version"] == 2


def test_a_stale_version_is_a_conflict_the_clerk_is_told_about(
    office: Path, tmp_path: Path
) -> None:
    number = register(321)
    data = tmp_path / "central"
    with central(data) as url:
        assert sync(office, url)[0] == 0
        cid = desk_row(office, number)["id"]
        # Another correction of the registration reaches the central system first (another
        # desk's copy of this store, restored from a backup, say).
        other = {"amendment_id": str(uuid.uuid4()), "client_id": cid, "base_version": 1,
                 "kind": "amend", "changes": {"phone": "+6281300000321"}}  # fmt: skip
        body = json.dumps({"office_code": "3273", "amendments": [other]}).encode()
        assert post_amendments(url, body, str(uuid.uuid4())).json()["results"][0]["version"] == 2
        assert invoke(["applicants", "edit", number, "--set", "rt=009"]).exit_code == 0
        done = run_sync(office, url)
        assert done.returncode == 3  # refused as it is: as a duplicate or rejection is
        doc = json.loads(done.stdout)
        assert doc["amendments"] == {"sent": 1, "applied": 0, "conflict": 1, "rejected": 0}
        assert doc["amendment_conflicts"] == [number]
        human = run_sync(office, url, "--json")  # nothing more to send: nothing said again
        assert json.loads(human.stdout)["amendment_conflicts"] == []
        # The clerk's own language, in show and in the sync's words.
        shown = invoke(["applicants", "show", number])
        assert "KONFLIK: data di pusat sudah diubah dari tempat lain (kini versi 2)" in flat(shown)
        english = invoke(["--lang", "en", "applicants", "show", number, "--json"]).json()
        assert (english["amendment"]["outcome"], english["amendment"]["reason"]) == (
            "conflict", "VERSION_STALE",
        )  # fmt: skip
        assert desk_row(office, number)["central_version"] == 2
        assert held(data, cid)[2]["rt"] is None  # not applied
        # Told, the clerk corrects again: now against the version the central system holds.
        assert invoke(["applicants", "edit", number, "--set", "rt=010"]).exit_code == 0
        code, again, _ = sync(office, url)
        assert code == 0 and again["amendments"]["applied"] == 1
    version, _, record, _ = held(data, cid)
    assert (version, record["rt"], record["phone"]) == (3, "010", "+6281300000321")


def test_the_sync_says_a_conflict_in_words(office: Path, tmp_path: Path) -> None:
    number = register(331)
    with central(tmp_path / "central") as url:
        assert sync(office, url)[0] == 0
        cid = desk_row(office, number)["id"]
        other = {"amendment_id": str(uuid.uuid4()), "client_id": cid, "base_version": 1,
                 "kind": "amend", "changes": {"rw": "001"}}  # fmt: skip
        body = json.dumps({"office_code": "3273", "amendments": [other]}).encode()
        assert post_amendments(url, body, str(uuid.uuid4())).status_code == 200
        assert invoke(["applicants", "edit", number, "--set", "rw=002"]).exit_code == 0
        done = run_sync(office, url, human=True)
    assert done.returncode == 3
    assert "Koreksi terkirim 1: diterima 0, konflik 1, ditolak 0." in done.stdout
    assert f"KONFLIK: koreksi {number} tidak diterapkan" in done.stdout


def test_a_withdrawal_after_sync_reaches_the_central_system(office: Path, tmp_path: Path) -> None:
    number = register(341)
    data = tmp_path / "central"
    with central(data) as url:
        assert sync(office, url)[0] == 0
        cid = desk_row(office, number)["id"]
        gone = invoke(["applicants", "withdraw", number, "--reason", "Pindah domisili", "--yes",
                       "--json"])  # fmt: skip
        assert gone.exit_code == 0 and gone.json()["amendment"]
        english = invoke(["--lang", "en", "applicants", "show", number])
        assert "withdrawal waiting to be sent to the central system" in flat(english)
        code, doc, _ = sync(office, url)
        assert code == 0 and doc["amendments"]["applied"] == 1
    version, withdrawn, _, answered = held(data, cid)
    assert version == 2 and withdrawn is not None and answered == 1
    assert "pembatalan diterima pusat" in flat(invoke(["applicants", "show", number]))
    # Undoing it here is refused, as before: the central system has it.
    assert invoke(["applicants", "withdraw", number, "--undo"]).exit_code != 0
    log = invoke(["audit", "log", "--json"]).json()
    assert log[-1]["action"] != "withdraw" or "amendment" in log[-1]["details"]
    assert any(e["action"] == "withdraw" and e["details"].get("amendment") for e in log)


def test_an_edit_that_fails_validation_is_refused_and_nothing_is_sent(
    office: Path, tmp_path: Path
) -> None:
    number = register(351)
    with central(tmp_path / "central") as url:
        assert sync(office, url)[0] == 0
        refused = invoke(["applicants", "edit", number, "--set", "birth_date=2015-01-01", "--json"])
        assert refused.exit_code != 0 and refused.json()["stored"] is False
        assert invoke(["applicants", "show", number, "--json"]).json()["amendment"] is None
        assert sync(office, url)[1]["amendments"]["sent"] == 0


def test_an_edit_before_the_first_answer_is_sent_after_it(office: Path, tmp_path: Path) -> None:
    """A record whose batch went out but whose answer was lost: the edit is an amendment, sent
    once the batch's answer (accepted) is in."""
    number = register(361)
    data = tmp_path / "central"
    with central(data) as url:
        from prakerja_cli.office import open_workspace
        from prakerja_cli.sync import outbox

        ws = open_workspace()
        (batch,) = outbox.make_batches(ws.db, "3273", 500)
        ws.db.conn.close()
        requests.post(
            f"{url}/v1/registrations/batches", data=batch.body, timeout=30,
            headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": batch.id,
                     "Content-Type": "application/json"},
        )  # fmt: skip
        edit = invoke(["applicants", "edit", number, "--set", "rt=011", "--json"]).json()
        assert edit["amendment"] and not edit["resend"]
        code, doc, _ = sync(office, url)
        assert code == 0 and doc["accepted"] == 1 and doc["amendments"]["applied"] == 1
    version, _, record, _ = held(data, desk_row(office, number)["id"])
    assert (version, record["rt"]) == (2, "011")


def test_corrections_to_two_postgresql_workers_through_dropped_answers(
    office: Path, tmp_path: Path, postgres_url: str
) -> None:
    numbers = [register(370 + i) for i in range(8)]
    options = ["--database", postgres_url, "--workers", "2", "--drop-rate", "0.3"]
    with central(tmp_path / "central", *options, "--fault-seed", "5") as url:
        for _ in range(10):
            code, doc, _ = sync(office, url)
            if code == 0 and doc["pending"] == 0:
                break
        else:
            pytest.fail("the registrations were never all delivered")
        for i, number in enumerate(numbers):
            fix = ["applicants", "edit", number, "--set", f"rt={i + 1:03d}"]
            assert invoke(fix).exit_code == 0
        assert (
            invoke(["applicants", "withdraw", numbers[0], "--reason", "Pindah", "--yes"]).exit_code
            == 0
        )
        for _ in range(20):
            code, doc, _ = sync(office, url)
            assert code in (0, 4), doc
            if (
                code == 0
                and invoke(["sync", "status", "--json"]).json()["amendments"]["pending"] == 0
            ):
                break
        else:
            pytest.fail("the corrections were never all delivered")
    import psycopg

    with psycopg.connect(postgres_url) as pg:
        held_rows = pg.execute(
            "SELECT r.registration_number, r.version, r.withdrawn_at IS NOT NULL, r.record, "
            "(SELECT count(*) FROM amendments a WHERE a.client_id = r.client_id) "
            "FROM registrations r"
        ).fetchall()
    by_number = {n: (v, w, json.loads(rec)["rt"], c) for n, v, w, rec, c in held_rows}
    for i, number in enumerate(numbers):
        # Each correction applied once; the first record's withdrawal after its correction.
        expected = (3, True, "001", 2) if i == 0 else (2, False, f"{i + 1:03d}", 1)
        assert by_number[number] == expected


def test_a_restored_backup_keeps_the_version_the_central_system_holds(
    office: Path, tmp_path: Path
) -> None:
    number = register(381)
    data = tmp_path / "central"
    with central(data) as url:
        assert sync(office, url)[0] == 0
        made = invoke(["backup", str(tmp_path / "cadangan"), "--json"])
        assert made.exit_code == 0, made.stdout
        assert invoke(["applicants", "edit", number, "--set", "rt=004"]).exit_code == 0
        assert sync(office, url)[1]["amendments"]["applied"] == 1
        restored = invoke(["restore", made.json()["file"], "--yes", "--json"])
        assert restored.exit_code == 0, restored.stdout + restored.stderr
        assert desk_row(office, number)["central_version"] == 2
        # A correction after the restore amends the version the central system holds.
        assert invoke(["applicants", "edit", number, "--set", "rw=005"]).exit_code == 0
        code, doc, _ = sync(office, url)
        assert code == 0 and doc["amendments"]["applied"] == 1, doc
    assert held(data, desk_row(office, number)["id"])[0] == 3


def test_killing_the_sync_at_random_moments_applies_each_correction_once(
    office: Path, tmp_path: Path
) -> None:
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    numbers = [register(390 + i) for i in range(6)]
    data = tmp_path / "central"
    rng = random.Random(20261205)
    kills = 0
    with central(data, "--latency", "0.2") as url:
        assert sync(office, url)[0] == 0
        env = {**os.environ, "PRAKERJA_HOME": str(office), "PRAKERJA_API_URL": url,
               "PRAKERJA_API_TOKEN": TOKEN}  # fmt: skip
        for run in range(10):
            # Corrections arrive before every run, so each killed sync has work to lose.
            for number in rng.sample(numbers, 3):
                fix = ["applicants", "edit", number, "--set", f"address=Jl. Ke-{run} {number[-2:]}"]
                assert invoke(fix).exit_code == 0
            proc = subprocess.Popen([sys.executable, "-m", "prakerja_cli", "sync"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(rng.uniform(0.3, 1.2))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            code, doc, _ = sync(office, url)
            assert code == 0, doc
            assert invoke(["sync", "status", "--json"]).json()["amendments"]["pending"] == 0
    assert kills >= 5, kills
    with sqlite3.connect(office / "prakerja.db") as conn:
        applied = dict(
            conn.execute(
                "SELECT applicant_id, count(*) FROM outbox_amendments WHERE outcome = 'applied' "
                "GROUP BY 1"
            ).fetchall()
        )
        assert conn.execute("SELECT count(*) FROM outbox_amendments WHERE outcome IS NOT "
                            "'applied'").fetchone()[0] == 0  # fmt: skip
    for number in numbers:
        row = desk_row(office, number)
        version, _, record, answered = held(data, row["id"])
        # What the desk holds is what the central system holds, at the version the desk knows,
        # each of the desk's amendments applied exactly once.
        assert (record["address"], version) == (row["address"], row["central_version"] or 1), kills
        assert answered == applied.get(row["id"], 0) == version - 1


def test_doctor_names_amendments_left_unanswered_or_not_applied(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An amendment no sync delivers for days, and one the central system did not apply (its
    record still holds the old content there), each need someone to look: doctor says so."""
    from datetime import datetime, timedelta

    def doctor() -> tuple[int, dict[str, dict[str, Any]]]:
        run = invoke(["doctor", "--json"])
        return run.exit_code, {c["check"]: c for c in run.json()}

    number = register(341)
    data = tmp_path / "central"
    with central(data) as url:
        monkeypatch.setenv("PRAKERJA_API_URL", url)
        monkeypatch.setenv("PRAKERJA_API_TOKEN", TOKEN)
        assert sync(office, url)[0] == 0
        code, checks = doctor()
        assert checks["amendments"]["ok"] and checks["amendments"]["detail"].startswith("0 ")
        assert checks["amendments_refused"] == {"check": "amendments_refused", "ok": True,
                                                "warning": False, "detail": "0", "fix": None}  # fmt: skip
        # A correction that no sync has delivered for three days.
        assert invoke(["applicants", "edit", number, "--set", "rt=004"]).exit_code == 0
        assert doctor()[1]["amendments"]["ok"]  # just made: nothing to say yet
        old = (datetime.now().astimezone() - timedelta(days=3)).isoformat(timespec="seconds")
        with sqlite3.connect(office / "prakerja.db") as conn:
            conn.execute("UPDATE outbox_amendments SET created_at = ?", [old])
        code, checks = doctor()
        assert code == 1 and not checks["amendments"]["ok"] and not checks["amendments"]["warning"]
        assert checks["amendments"]["detail"].startswith("1 (3.0 d)")
        assert "`prakerja sync`" in checks["amendments"]["fix"]
        assert sync(office, url)[0] == 0  # delivered, applied
        # Another correction reaches the central record first: the clerk's is not applied.
        cid = desk_row(office, number)["id"]
        other = {"amendment_id": str(uuid.uuid4()), "client_id": cid, "base_version": 2,
                 "kind": "amend", "changes": {"rw": "001"}}  # fmt: skip
        body = json.dumps({"office_code": "3273", "amendments": [other]}).encode()
        assert post_amendments(url, body, str(uuid.uuid4())).json()["results"][0]["version"] == 3
        assert invoke(["applicants", "edit", number, "--set", "rw=002"]).exit_code == 0
        assert sync(office, url)[0] == 3
        code, checks = doctor()
        refused = checks["amendments_refused"]
        assert (refused["ok"], refused["warning"], refused["detail"]) == (False, True, "1")
        assert "`prakerja applicants show NOMOR`" in refused["fix"] and checks["amendments"]["ok"]
        human = invoke(["doctor"])
        assert code == human.exit_code == 0  # a warning: the desk needs no repair
        assert f"!  Koreksi tidak diterapkan di pusat: 1 ({number})" in human.stdout.splitlines()
        # Corrected again, and applied: the refused one is superseded.
        assert invoke(["applicants", "edit", number, "--set", "rw=003"]).exit_code == 0
        assert sync(office, url)[0] == 0
        assert doctor()[1]["amendments_refused"]["ok"]
