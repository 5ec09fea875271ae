"""Near-duplicates across the office at the hub (issue 16): a desk's batch is checked against the
other desks' records (core/similar.py, through the store's indexes) and the desk is warned, never
refused; the desk keeps the warning with the record and tells the clerk."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from prakerja_cli.central.contract import parse_batch
from prakerja_cli.hub import store
from prakerja_cli.office import open_workspace
from prakerja_cli.sync import outbox
from tests.conftest import applicant_args, invoke
from tests.hubprocs import nik

BORN = date(1990, 8, 17)


def record(desk: str, seq: int, serial: int, name: str, **changes: Any) -> dict[str, Any]:
    """A desk's record as its sync sends it (sync/outbox.py record_of)."""
    values: dict[str, Any] = dict.fromkeys(outbox.RECORD_FIELDS)
    values.update(
        registration_number=f"3273-{desk}-{seq:06d}", nik=nik(serial), kk=f"327301010110{serial:04d}",
        name=name.upper(), birth_date=BORN.isoformat(), gender="P", phone="+6281234567890",
        address="JL. MERDEKA 1", village="GEGERKALONG", district="SUKASARI", regency="KOTA BANDUNG",
        province="JAWA BARAT", education="SMA", employment="KORBAN_PHK", in_school=False,
        social_assistance=False, priority="normal", desk=desk, operator="Rina",
        registered_at=f"2026-12-05T08:00:{seq:02d}+00:00",
    )  # fmt: skip
    values.update(changes)
    return values


def send(desk: str, *records: dict[str, Any]) -> list[dict[str, Any]]:
    """One batch from `desk` into the hub's store, as `hub serve` takes it."""
    ws = open_workspace()
    items = [
        {"client_id": str(uuid.uuid4()), "content_hash": outbox.content_hash(r), "record": r}
        for r in records
    ]
    document = {"office_code": "3273", "records": items}
    batch = parse_batch(document)
    store.check_claims(batch, "3273", desk)
    answer = store.submit(ws.db, ws.office, desk, key=str(uuid.uuid4()),
                          body_sha256=uuid.uuid4().hex, batch=batch, today=date(2026, 12, 5))  # fmt: skip
    ws.db.conn.close()
    return list(json.loads(answer)["results"])


def test_the_hub_warns_the_second_desk_and_still_accepts(office: Path) -> None:
    assert invoke(["config", "set", "desk", "D00"]).exit_code == 0  # the hub's own desk id
    ws = open_workspace()
    for desk in ("D01", "D02"):
        store.enrol(ws.db, ws.office, desk)
    ws.db.conn.close()
    (first,) = send("D01", record("D01", 1, 101, "Siti Nurhaliza"))
    assert first["outcome"] == "accepted" and "warnings" not in first
    # Another desk, another NIK (a mistyped serial), the same birth date and kecamatan, the name
    # spelled a letter apart: accepted all the same, with the warning naming D01's record.
    typo, stranger, family = send(
        "D02",
        record("D02", 1, 102, "Siti Nurhalizah"),
        record("D02", 2, 103, "Budi Susanto"),
        record("D02", 3, 104, "Siti Nurhaliza", district="COBLONG", kk="3273010101100101"),
    )
    assert typo["outcome"] == "accepted"
    assert typo["warnings"] == [{"code": "POSSIBLE_DUPLICATE", "desk": "D01",
                                 "registration_number": "3273-D01-000001", "same": "district"}]  # fmt: skip
    assert stranger["outcome"] == "accepted" and "warnings" not in stranger
    # Another kecamatan, the same KK: found through the KK index.
    assert family["warnings"][0]["same"] == "kk"
    # Records of the sending desk itself are not its concern here: the desk checked them.
    (own,) = send("D02", record("D02", 4, 105, "Budi Susantu"))
    assert "warnings" not in own
    # The supervisor sees the warnings on the hub: per desk, and on the hub's copy of the record.
    counts = {d["desk"]: d["possible_duplicates"] for d in store.desks(open_workspace().db)}
    assert counts == {"D01": 0, "D02": 2}
    shown = invoke(["applicants", "show", "3273-D02-000001", "--json"]).json()
    assert [f["code"] for f in shown["findings"]] == ["POSSIBLE_DUPLICATE"]
    assert "3273-D01-000001" in shown["findings"][0]["message"]


@pytest.mark.parametrize(
    "warnings",
    [
        None,
        "POSSIBLE_DUPLICATE",
        [{"code": "SOMETHING_ELSE", "registration_number": "3273-D01-000001", "desk": "D01",
          "same": "kk"}],
        [{"code": "POSSIBLE_DUPLICATE", "registration_number": "3273-D01-000001", "desk": "D09",
          "same": "kk"}],
        [{"code": "POSSIBLE_DUPLICATE", "registration_number": "<b>", "desk": "D01",
          "same": "kk"}],
        [{"code": "POSSIBLE_DUPLICATE", "registration_number": "3273-D01-000001", "desk": "D01",
          "same": "name"}],
    ],
)  # fmt: skip
def test_the_desk_keeps_only_a_warning_it_understands(warnings: Any) -> None:
    assert outbox.hub_warning(warnings) is None


def test_the_desk_keeps_the_warning_and_the_clerk_is_told(office: Path) -> None:
    assert invoke(applicant_args()).exit_code == 0
    ws = open_workspace()
    (batch,) = outbox.make_batches(ws.db, "3273", 500)
    (item,) = json.loads(batch.body)["records"]
    warning = {"code": "POSSIBLE_DUPLICATE", "registration_number": "3273-D02-000007",
               "desk": "D02", "same": "district"}  # fmt: skip
    answer = [{"client_id": item["client_id"], "outcome": "accepted", "central_id": None,
               "warnings": [warning]}]  # fmt: skip
    warned: list[dict[str, str]] = []
    counts = outbox.apply_results(ws.db, batch, answer, warned)
    assert counts["accepted"] == counts["possible_duplicate"] == 1
    assert warned == [{"registration_number": "3273-D01-000001", "other": "3273-D02-000007",
                       "desk": "D02"}]  # fmt: skip
    status = ws.db.execute("SELECT status FROM applicants").fetchone()[0]
    assert status == "valid"  # the desk's own validation stands; the central system decides
    shown = invoke(["applicants", "show", "3273-D01-000001"])
    assert "3273-D02-000007 dari meja D02" in shown.stdout, shown.stdout
    assert "pusat yang memutuskan" in shown.stdout
    assert invoke(["audit", "verify"]).exit_code == 0
