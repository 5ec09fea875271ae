"""Query plans of a large store (issue 15): each look-up reads an index, never every record."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from prakerja_cli.store.applicants import (
    derived,
    get_applicant,
    list_applicants,
    update_applicant,
)
from prakerja_cli.store.db import open_db
from prakerja_cli.sync.outbox import sync_counts
from tests.conftest import invoke
from tests.rosters import person, write_csv

#: A plan step that reads every row of applicants (a scan of a covering index is allowed: it is
#: narrow and is how a count or a substring search over one column is answered).
FULL_SCAN = re.compile(r"\bSCAN (applicants|a)\b(?! USING (COVERING )?INDEX)")


@pytest.fixture
def store(office: Path, tmp_path: Path) -> Iterator[Any]:
    people = [person(i) for i in range(1, 41)] + [person(41, **{"Nama Sesuai KTP": "José Ñúñez"})]
    roster = write_csv(tmp_path / "roster.csv", people)
    run = invoke(["roster", "import", str(roster), "--json"])
    assert run.exit_code == 0, run.stderr
    db = open_db(office / "prakerja.db")
    yield db
    db.conn.close()


@contextmanager
def statements(db: Any) -> Iterator[list[str]]:
    """The SQL the block runs, with its parameters bound (as SQLite traces it)."""
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        db.conn.set_trace_callback(None)


def plans(db: Any, call: Callable[[], Any]) -> list[str]:
    """The query plan steps of every SELECT on applicants that `call` runs."""
    with statements(db) as seen:
        call()
    steps = []
    for sql in seen:
        if sql.lstrip().upper().startswith("SELECT") and "applicants" in sql:
            rows = db.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            steps += [f"{sql[:60]}: {row[3]}" for row in rows]
    assert steps, seen
    return steps


def assert_indexed(steps: list[str]) -> None:
    scans = [s for s in steps if FULL_SCAN.search(s.split(": ", 1)[1])]
    assert not scans, steps


def test_show_asks_one_indexed_column_per_kind_of_key(store: Any) -> None:
    row = store.execute("SELECT id, registration_number, nik FROM applicants LIMIT 1").fetchone()
    for ref, index in ((row[0], "sqlite_autoindex"), (row[1], "sqlite_autoindex"),
                       (row[2], "applicants_live_nik")):  # fmt: skip
        steps = plans(store, lambda ref=ref: get_applicant(store, ref))
        assert_indexed(steps)
        assert any(index in s for s in steps), steps
        assert get_applicant(store, ref)["id"] == row[0]


@pytest.mark.parametrize(
    "query",
    ["327301", "3273010101100007", "0812-0000-0007", "+62812 00000007", "jose", "nunez jos", "ti"],
)
def test_search_reads_indexes(store: Any, query: str) -> None:
    steps = plans(store, lambda: list_applicants(store, query=query))
    assert_indexed(steps)
    assert list_applicants(store, query=query)


def test_search_keeps_its_matching(store: Any) -> None:
    def names(query: str) -> set[str]:
        return {r["name"] for r in list_applicants(store, query=query)}

    assert names("ÑUÑEZ josé") == {"JOSÉ ÑÚÑEZ"}  # words in any order, accents and case folded
    assert names("minah") == {"SITI AMINAH"}  # any part of a word
    assert names("siti budi") == set()
    nik = store.execute("SELECT nik FROM applicants LIMIT 1").fetchone()[0]
    assert len(list_applicants(store, query=nik[:6])) == 41  # a NIK prefix
    assert len(list_applicants(store, query=nik[:6] + "9")) == 0
    assert {r["nik"] for r in list_applicants(store, query=nik)} == {nik}


def test_an_edited_name_is_found_by_its_new_name(store: Any) -> None:
    row = get_applicant(store, store.execute("SELECT id FROM applicants LIMIT 1").fetchone()[0])
    update_applicant(store, row["id"], {"name": "RÉKA ŐRY"})
    assert [r["id"] for r in list_applicants(store, query="reka ory")] == [row["id"]]


def test_sync_status_reads_indexes(store: Any) -> None:
    assert_indexed(plans(store, lambda: sync_counts(store)))
    assert sync_counts(store)["states"] == {"pending": 41}


def test_first_page_of_the_list_is_read_in_order_not_sorted(store: Any) -> None:
    steps = plans(store, lambda: list_applicants(store, limit=20))
    assert any("applicants_created_seq" in s for s in steps), steps
    assert not any("TEMP B-TREE" in s for s in steps), steps


def test_numbers_past_999999_sort_after_the_ones_before(store: Any) -> None:
    """{serial:06d} gives 7 digits past 999,999: as text …-1000000 sorts before …-999999."""
    stamp, office, desk = store.execute(
        "SELECT max(created_at), office_code, desk FROM applicants"
    ).fetchone()
    for serial, row_id in ((999_999, "a"), (1_000_000, "b")):
        store.execute(
            "INSERT INTO applicants (id, registration_number, nik, kk, name, birth_date, gender, "
            "address, village, district, regency, province, phone, education, employment, "
            "in_school, source, office_code, desk, operator, rules, status, created_at, updated_at,"
            " seq) SELECT ?, ?, ?, kk, name, birth_date, gender, address, village, district, "
            "regency, province, phone, education, employment, in_school, source, office_code, desk,"
            " operator, rules, status, ?, updated_at, ? FROM applicants LIMIT 1",
            [
                row_id,
                number := f"{office}-{desk}-{serial:06d}",
                f"32730101019{serial % 100000:05d}",
                stamp,
                derived({"registration_number": number})["seq"],
            ],
        )
    newest = [r["registration_number"] for r in list_applicants(store, limit=2)]
    assert newest == [f"{office}-{desk}-1000000", f"{office}-{desk}-999999"]


def test_a_withdrawn_nik_is_found_through_its_own_index(store: Any) -> None:
    row_id, nik = store.execute("SELECT id, nik FROM applicants LIMIT 1").fetchone()
    store.execute("UPDATE applicants SET status = 'withdrawn' WHERE id = ?", [row_id])
    steps = plans(store, lambda: get_applicant(store, nik))
    assert_indexed(steps)
    assert any("applicants_withdrawn_nik" in s for s in steps), steps
    assert get_applicant(store, nik)["status"] == "withdrawn"
    assert_indexed(plans(store, lambda: list_applicants(store, query=nik[:10])))
    assert nik in {r["nik"] for r in list_applicants(store, query=nik[:10])}


def test_amendments_are_written_from_the_unsent_ones_not_a_walk_over_the_store(
    store: Any,
) -> None:
    """Every sync asks for amendments to send: with none, or a few, among a million records."""
    from prakerja_cli.store.db import write
    from prakerja_cli.sync import amendments, outbox

    ids = [r[0] for r in store.execute("SELECT id FROM applicants LIMIT 3").fetchall()]
    store.execute("UPDATE applicants SET central_status = 'verified' WHERE id = ?", [ids[0]])
    with write(store):
        outbox.write_edit(store, ids[0], {"address": "JL. BARU 1"})
        outbox.write_edit(store, ids[1], {"address": "JL. BARU 2"})  # never sent: no amendment
    with statements(store) as seen:
        request = amendments.write_request(store, "3273")
    assert request is not None and request.amendments == 1
    for sql in seen:
        if sql.lstrip().upper().startswith(("SELECT", "DELETE")) and "applicants" in sql:
            steps = [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql)]
            assert not [s for s in steps if FULL_SCAN.search(s)], (sql, steps)
    with statements(store) as seen:
        assert amendments.latest(store, ids[0]) is not None
    (plan,) = [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + seen[0])]
    assert "outbox_amendments_applicant" in plan
