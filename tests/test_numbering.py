"""The one registration-number allocator and the desk's numbering file beside office.key."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.errors import ConfigError
from prakerja_cli.office import open_workspace
from prakerja_cli.store.db import write
from prakerja_cli.store.numbering import parse_serial, reserve_numbers
from tests.conftest import applicant_args, invoke


def register(serial: int) -> tuple[int, str]:
    nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
    run = invoke([*applicant_args(nik=nik, kk=f"32730101011{serial:05d}"), "--json"])
    return run.exit_code, run.stdout + run.stderr


def marks(office: Path) -> dict[str, int]:
    return dict(json.loads((office / "numbering.json").read_text())["issued"])


def test_every_number_given_is_in_the_file_before_it_is_committed(office: Path) -> None:
    ws = open_workspace()
    with pytest.raises(RuntimeError), write(ws.db):
        assert reserve_numbers(ws.db, ws.office, 3) == [
            "3273-D01-000001", "3273-D01-000002", "3273-D01-000003",
        ]  # fmt: skip
        assert marks(office) == {"registration:3273:D01": 3}
        raise RuntimeError("the registration fails after its numbers were reserved")
    # The store rolled back; the file did not: a gap, never the same number twice.
    assert ws.db.execute("SELECT count(*) FROM counters").fetchone()[0] == 0
    with write(ws.db):
        assert reserve_numbers(ws.db, ws.office) == ["3273-D01-000004"]
    assert marks(office) == {"registration:3273:D01": 4}
    ws.db.close()


def test_a_store_from_before_the_file_is_adopted(office: Path) -> None:
    assert register(1)[0] == 0
    (office / "numbering.json").unlink()  # as a desk set up by an earlier version
    code, shown = register(2)
    assert code == 0 and "3273-D01-000002" in shown
    assert marks(office) == {"registration:3273:D01": 2}


def test_a_damaged_numbering_file_stores_nothing(office: Path) -> None:
    assert register(1)[0] == 0
    (office / "numbering.json").write_text("{not json", encoding="utf-8")
    code, shown = register(2)
    assert code == 2 and "Traceback" not in shown
    assert "galat:" in shown and "numbering.json" in shown and "saran:" in shown
    assert len(invoke(["applicants", "list", "--json"]).json()) == 1
    with pytest.raises(ConfigError):
        ws = open_workspace()
        try:
            with write(ws.db):
                reserve_numbers(ws.db, ws.office)
        finally:
            ws.db.close()


@pytest.mark.parametrize(
    ("text", "serial"),
    [("3273-D01-000057", 57), ("57", 57), (" 3273-d01-57 ", 57), ("000000", 0),
     ("3273-D02-000057", None), ("3201-D01-000057", None), ("lima puluh", None), ("", None)],
)  # fmt: skip
def test_the_last_number_a_clerk_gives(text: str, serial: int | None) -> None:
    assert parse_serial(text, "3273", "D01") == serial
