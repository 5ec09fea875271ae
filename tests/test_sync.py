"""`prakerja sync` end to end against the reference central server on loopback."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from centralserver import TOKEN, central, stats
from rosters import person, write_xlsx

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import invoke


def fill(office: Path, tmp_path: Path, count: int) -> None:
    people = [person(i) for i in range(1, count + 1)]
    run = invoke(["roster", "import", str(write_xlsx(tmp_path / "r.xlsx", people, title=False))])
    assert run.exit_code == 0, run.stdout


def sync(office: Path, url: str, *args: str, token: str = TOKEN) -> tuple[int, dict[str, Any]]:
    done = run_sync(office, url, *args, token=token)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}


def run_sync(
    office: Path,
    url: str,
    *args: str,
    token: str = TOKEN,
    human: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`prakerja sync --json` (`human`: without --json) in a child process, as a clerk runs it."""
    env = {
        **os.environ,
        "PRAKERJA_HOME": str(office),
        "PRAKERJA_API_URL": url,
        "PRAKERJA_API_TOKEN": token,
    }
    done = subprocess.run(
        [sys.executable, "-m", "prakerja_cli", "sync", *([] if human else ["--json"]), *args],
        env=env, capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    return done


def local(office: Path) -> dict[str, tuple[str | None, str | None]]:
    with sqlite3.connect(office / "prakerja.db") as conn:
        return {
            r[0]: (r[1], r[2])
            for r in conn.execute("SELECT id, central_status, central_id FROM applicants")
        }


def central_rows(data_dir: Path, database: str | None = None) -> list[tuple[str, str]]:
    if database is not None:
        import psycopg

        with psycopg.connect(database) as pg:
            return pg.execute("SELECT client_id, nik FROM registrations").fetchall()
    with sqlite3.connect(data_dir / "central.sqlite3") as conn:
        return conn.execute("SELECT client_id, nik FROM registrations").fetchall()


def assert_exactly_once(office: Path, data_dir: Path, database: str | None = None) -> None:
    """The server holds exactly the valid local records, once each, and locals know it."""
    rows = central_rows(data_dir, database)
    ours = local(office)
    assert sorted(r[0] for r in rows) == sorted(ours)
    assert len({r[1] for r in rows}) == len(rows)
    assert all(state in ("accepted", "verified") for state, _ in ours.values()), ours


def test_sync_delivers_everything_once_and_pulls_status(office: Path, tmp_path: Path) -> None:
    fill(office, tmp_path, 30)
    data = tmp_path / "central"
    with central(data) as url:
        code, doc = sync(office, url, "--batch-size", "8")
        assert code == 0, doc
        assert (doc["sent"], doc["accepted"], doc["pending"], doc["rejected"]) == (30, 30, 0, 0)
        assert doc["requests"] >= 4 and doc["verified"] == 30
        again = sync(office, url)[1]
        assert (again["sent"], again["verified"]) == (0, 0)
    assert stats(data)["registrations"] == 30
    assert_exactly_once(office, data)
    show = invoke(["applicants", "show", "3273-D01-000001"])
    assert "Terverifikasi" in show.stdout
    listed = invoke(["applicants", "list", "--json"]).json()
    assert {r["central_status"] for r in listed} == {"verified"}
    status = invoke(["sync", "status", "--json"]).json()
    assert status["states"] == {"verified": 30} and status["last_sync"]


def test_registry_rejections_reach_the_clerk(office: Path, tmp_path: Path) -> None:
    fill(office, tmp_path, 3)
    people = [person(i) for i in range(1, 4)]
    registry = tmp_path / "dukcapil.csv"
    registry.write_text(
        "nik,name,birth_date,kk\n"
        + f"{people[0]['NIK']},{people[0]['Nama Sesuai KTP']},{people[0]['Tgl Lahir']},{people[0]['No. KK']}\n"
        + f"{people[1]['NIK']},NAMA LAIN,{people[1]['Tgl Lahir']},{people[1]['No. KK']}\n",
        encoding="utf-8",
    )
    with central(tmp_path / "central", "--registry", str(registry)) as url:
        code, doc = sync(office, url)
    assert code == 0 and doc["verified"] == 1 and doc["registry_rejected"] == 2
    rows = {r["nik"]: r for r in invoke(["applicants", "list", "--json", "--reveal"]).json()}
    assert rows[people[1]["NIK"]]["central_reason"] == "DUKCAPIL_NAME_MISMATCH"
    assert rows[people[2]["NIK"]]["central_reason"] == "DUKCAPIL_NOT_FOUND"
    show = invoke(["applicants", "show", people[1]["NIK"]])
    assert "Ditolak Dukcapil (DUKCAPIL_NAME_MISMATCH)" in show.stdout


def test_duplicates_and_rejections_are_parked_with_exit_3(office: Path, tmp_path: Path) -> None:
    fill(office, tmp_path, 4)
    data = tmp_path / "central"
    nik = person(1)["NIK"]
    with central(data) as url:
        # Another record with the same NIK reached the central system first.
        first = {"client_id": "00000000-0000-4000-8000-000000000001", "content_hash": "a" * 64,
                 "record": {"registration_number": "3273-D09-000001", "nik": nik, "kk": "3273010101100099",
                            "name": "ORANG LAIN", "birth_date": "1981-02-02", "gender": "L"}}  # fmt: skip
        response = requests.post(f"{url}/v1/registrations/batches", json={"office_code": "3273", "records": [first]},
                                 headers={"Authorization": f"Bearer {TOKEN}",
                                          "Idempotency-Key": "00000000-0000-4000-8000-00000000000a"}, timeout=10)  # fmt: skip
        assert response.json()["results"][0]["outcome"] == "accepted"
        code, doc = sync(office, url)
        assert code == 3 and (doc["accepted"], doc["duplicate"]) == (3, 1)
        again = sync(office, url)
        assert again[0] == 0 and again[1]["sent"] == 0  # a parked record is not retried
    row = invoke(["applicants", "show", nik, "--json"]).json()
    assert row["central_status"] == "duplicate" and "3273-D09-000001" in row["central_reason"]


def test_server_down_then_up(office: Path, tmp_path: Path) -> None:
    fill(office, tmp_path, 12)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = run_sync(office, f"http://127.0.0.1:{port}", "--batch-size", "5")
    doc = json.loads(down.stdout)
    assert down.returncode == 4 and doc["error"] == "api_refused" and doc["exit_code"] == 4
    # The clerk sees each retry while the backoff runs, not 15 silent seconds.
    retries = [line for line in down.stderr.splitlines() if "mencoba lagi" in line]
    assert retries == [f"Server pusat belum menjawab; mencoba lagi ({n}/5)..." for n in range(1, 6)]
    assert invoke(["sync", "status", "--json"]).json()["open_batches"] >= 1
    data = tmp_path / "central"
    with central(data, port=port) as url:
        code, doc = sync(office, url, "--batch-size", "5")
        assert code == 0 and doc["accepted"] == 12 and doc["pending"] == 0
    assert invoke(["sync", "status", "--json"]).json()["open_batches"] == 0
    assert_exactly_once(office, data)


@pytest.mark.parametrize(
    "faults",
    [
        ["--latency", "0.3"],
        ["--error-rate", "0.4", "--retry-after", "0"],
        ["--throttle-rate", "0.4", "--retry-after", "0"],
        ["--drop-rate", "0.4"],
    ],
    ids=["latency", "errors", "throttle", "drop"],
)
def test_faults_still_deliver_everything_exactly_once(
    office: Path, tmp_path: Path, faults: list[str]
) -> None:
    fill(office, tmp_path, 40)
    data = tmp_path / "central"
    with central(data, *faults, "--fault-seed", "7") as url:
        for _ in range(10):
            code, doc = sync(office, url, "--batch-size", "5")
            if code == 0 and doc["pending"] == 0:
                break
            assert code in (0, 4), doc
        else:
            pytest.fail("never delivered everything")
    assert_exactly_once(office, data)
    assert stats(data)["registrations"] == 40


def test_sync_to_two_workers_on_postgresql_through_dropped_answers(
    office: Path, tmp_path: Path, postgres_url: str
) -> None:
    fill(office, tmp_path, 40)
    options = ["--database", postgres_url, "--workers", "2", "--drop-rate", "0.3"]
    with central(tmp_path / "central", *options, "--fault-seed", "7") as url:
        for _ in range(10):
            code, doc = sync(office, url, "--batch-size", "5")
            if code == 0 and doc["pending"] == 0:
                break
            assert code in (0, 4), doc
        else:
            pytest.fail("never delivered everything")
    assert_exactly_once(office, tmp_path / "central", postgres_url)


def test_a_batch_too_large_is_split_until_it_fits(office: Path, tmp_path: Path) -> None:
    """The server takes at most 8000 bytes of JSON per batch (~10 records); the client sends 40
    at once, gets 413 (nothing processed), splits the stored batch in two, and so on."""
    fill(office, tmp_path, 40)
    data = tmp_path / "central"
    with central(data, "--max-batch-bytes", "8000") as url:
        code, doc = sync(office, url, "--batch-size", "40")
    assert code == 0, doc
    assert (doc["sent"], doc["accepted"], doc["pending"], doc["rejected"]) == (40, 40, 0, 0)
    assert doc["requests"] >= 1 + 2 + 4, doc  # 40 refused, 2 x 20 refused, then 4+ that fit
    assert_exactly_once(office, data)
    with sqlite3.connect(office / "prakerja.db") as conn:
        sizes = [r[0] for r in conn.execute("SELECT records FROM outbox_batches")]
    assert sum(sizes) == 40 and max(sizes) <= 10, sizes


def test_a_wrong_token_exits_5(office: Path, tmp_path: Path) -> None:
    fill(office, tmp_path, 2)
    with central(tmp_path / "central") as url:
        code, document = sync(office, url, token="salah")
    assert code == 5
    # The fix names the token, not the address too (the address answered).
    assert document["hint"] == (
        "Minta token kantor yang benar kepada TI, atur dengan `prakerja config set api_token` "
        "(token diminta tanpa ditampilkan; atau PRAKERJA_API_TOKEN), lalu jalankan `prakerja "
        "sync` lagi. Tidak ada data yang hilang."
    )


def test_plain_http_beyond_loopback_is_refused(office: Path) -> None:
    code, _ = sync(office, "http://10.255.255.1:8700")
    assert code == 2
    code, _ = sync(office, "http://10.255.255.1:8700", "--dry-run")
    assert code == 0


def test_one_sync_at_a_time(office: Path, tmp_path: Path) -> None:
    from filelock import FileLock

    fill(office, tmp_path, 2)
    with central(tmp_path / "central") as url, FileLock(str(office / "sync.lock")):
        env = {
            **os.environ,
            "PRAKERJA_HOME": str(office),
            "PRAKERJA_API_URL": url,
            "PRAKERJA_API_TOKEN": TOKEN,
        }
        done = subprocess.run([sys.executable, "-m", "prakerja_cli", "sync"], env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 1 and "sedang berjalan" in done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killing_the_client_at_random_moments_loses_and_doubles_nothing(
    office: Path, tmp_path: Path
) -> None:
    fill(office, tmp_path, 20)
    data = tmp_path / "central"
    rng = random.Random(20261123)
    kills = 0
    with central(data, "--latency", "0.15") as url:
        env = {
            **os.environ,
            "PRAKERJA_HOME": str(office),
            "PRAKERJA_API_URL": url,
            "PRAKERJA_API_TOKEN": TOKEN,
        }
        for run in range(24):
            # New records arrive at the desk before every run, so each killed sync has work to lose.
            more = [person(i) for i in range(21 + run * 10, 31 + run * 10)]
            invoke(
                [
                    "roster",
                    "import",
                    str(write_xlsx(tmp_path / f"more{run}.xlsx", more, title=False)),
                ]
            )
            proc = subprocess.Popen([sys.executable, "-m", "prakerja_cli", "sync", "--batch-size", "2"],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(rng.uniform(0.2, 1.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            with sqlite3.connect(office / "prakerja.db") as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            code, doc = sync(office, url, "--batch-size", "50")
            assert code == 0, doc
            assert doc["pending"] == 0
            assert_exactly_once(office, data)
    assert kills >= 20
    assert len(local(office)) == 260


def test_events_of_the_offices_other_desks_are_not_counted(office: Path, tmp_path: Path) -> None:
    """The status feed is the office's; a desk counts only the events of records it holds."""
    import shutil

    second = tmp_path / "desk2"
    shutil.copytree(office, second)
    config = second / "config.toml"
    config.write_text(config.read_text().replace('desk = "D01"', 'desk = "D02"'))
    fill(office, tmp_path, 3)
    people = [person(i) for i in range(10, 12)]
    path = write_xlsx(tmp_path / "d2.xlsx", people, title=False)
    env = {**os.environ, "PRAKERJA_HOME": str(second)}
    done = subprocess.run([sys.executable, "-m", "prakerja_cli", "roster", "import", str(path)],
                          env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with central(tmp_path / "central") as url:
        code, first = sync(office, url)
        assert code == 0 and (first["accepted"], first["verified"]) == (3, 3)
        code, doc = sync(second, url)
    assert code == 0 and (doc["accepted"], doc["verified"]) == (2, 2), doc


def test_a_sync_with_no_standard_output_at_all_ends_cleanly(office: Path, tmp_path: Path) -> None:
    """Started by pythonw or a shortcut with no console, a process has no sys.stdout: `sync
    --json` delivered everything, then failed on writing its document (a traceback, exit 1)."""
    fill(office, tmp_path, 3)
    data = tmp_path / "central"
    code = (
        "import sys; sys.stdout = None; sys.argv = ['prakerja', 'sync', '--json']; "
        "from prakerja_cli.cli import main; main()"
    )
    with central(data) as url:
        env = {**os.environ, "PRAKERJA_HOME": str(office), "PRAKERJA_API_URL": url,
               "PRAKERJA_API_TOKEN": TOKEN}  # fmt: skip
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=False, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert_exactly_once(office, data)
