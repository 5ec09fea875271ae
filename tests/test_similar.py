"""POSSIBLE_DUPLICATE: one person registered twice under two NIKs (core/similar.py), at the desk
and in a roster, found through indexes (never a scan of the store)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rosters import person, write_csv, write_xlsx

from prakerja_cli.core.findings import Code
from prakerja_cli.core.similar import SIMILAR_FROM, Candidate, possible_duplicate, similarity
from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.applicants import SIMILAR_SQL
from prakerja_cli.store.db import open_db
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke

BORN = date(1990, 8, 17)


def nik(serial: int, born: date = BORN, gender: str = "P") -> str:
    return synthetic_nik("327301", born, gender, serial)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("siti nurhaliza", "siti nurhalizah", True),
        ("ahmad fauzi", "fauzi ahmad", True),
        ("nur aini", "nuraini", True),
        ("muhammad rizki", "muhamad rizky", True),
        ("eko prasetyo", "eko prasetya", True),
        ("ahmad fauzi", "ahmad fauzan", False),  # brothers: twins share a KK and a birthday
        ("budi santoso", "budi susanto", False),
        ("rina", "rini", False),
        ("siti aminah", "siti aminah binti ahmad", False),
    ],
)
def test_which_names_count_as_one_persons(a: str, b: str, same: bool) -> None:
    assert (similarity(a, b) >= SIMILAR_FROM) is same


def values(**changes: Any) -> dict[str, Any]:
    form = {"nik": nik(1), "name": "SITI NURHALIZA", "birth_date": BORN, "district": "Sukasari",
            "kk": "3273010101100002"}  # fmt: skip
    form.update(changes)
    return form


def candidate(**changes: Any) -> Candidate:
    fields = {"nik": nik(2), "name": "SITI NURHALIZAH", "birth_date": BORN.isoformat(),
              "district": "SUKASARI", "kk": "3273010101100099", "registration_number": "R-1"}  # fmt: skip
    fields.update(changes)
    return Candidate(**fields)


def test_the_block_decides_before_the_name() -> None:
    found = possible_duplicate(values(), [candidate()])
    assert [(f.code, f.field, f.params["registration_number"]) for f in found] == [
        (Code.POSSIBLE_DUPLICATE, "nik", "R-1")
    ]
    assert found[0].params["same"] == "district"
    assert found[0].params["nik"] == nik(2)[:4] + "*" * 10 + nik(2)[-2:]  # never the whole NIK
    # Another day, the same NIK (that is NIK_DUPLICATE), a purged record, another kecamatan and
    # KK: no finding.
    assert possible_duplicate(values(), [candidate(birth_date="1990-08-18")]) == []
    assert possible_duplicate(values(), [candidate(nik=nik(1))]) == []
    assert possible_duplicate(values(), [candidate(name="")]) == []
    assert possible_duplicate(values(), [candidate(district="Cidadap")]) == []
    # The same KK in another kecamatan (a family registered at two addresses) is the block too.
    kk = possible_duplicate(values(), [candidate(district="Cidadap", kk="3273010101100002")])
    assert kk[0].params["same"] == "kk"
    # The most similar candidate is named.
    best = possible_duplicate(
        values(), [candidate(name="SITI NURHALIZAH"), candidate(name="Siti Nurhaliza", row=7,
                                                                registration_number=None)]
    )  # fmt: skip
    assert best[0].params == {**best[0].params, "row": 7, "variant": "row"}


def test_desk_warns_with_the_other_registration_and_stores_flagged(office: Path) -> None:
    first = invoke([*applicant_args(nik=nik(11), name="Siti Nurhaliza"), "--json"])
    assert first.exit_code == 0, first.stderr
    number = first.json()["registration_number"]
    # The same person, the NIK's serial mistyped, the name with an h.
    second = invoke([*applicant_args(nik=nik(17), name="Siti Nurhalizah"), "--json"])
    assert second.exit_code == 0, second.stderr
    doc = second.json()
    assert doc["status"] == "flagged"
    (found,) = [f for f in doc["findings"] if f["code"] == "POSSIBLE_DUPLICATE"]
    assert number in found["message"] and nik(11) not in found["message"]
    # In Indonesian, at the clerk's screen.
    third = invoke(applicant_args(nik=nik(19), name="Nurhaliza Siti"))
    assert third.exit_code == 0
    assert "mungkin orang yang sama dengan" in third.stdout + third.stderr
    # Another person born the same day in the same kecamatan is not one.
    other = invoke([*applicant_args(nik=nik(23), name="Dewi Lestari"), "--json"])
    assert "POSSIBLE_DUPLICATE" not in {f["code"] for f in other.json()["findings"]}


def test_roster_rows_are_compared_with_the_store_and_with_each_other(
    office: Path, tmp_path: Path
) -> None:
    stored = invoke([*applicant_args(nik=nik(31), name="Agus Salim"), "--json"])
    number = stored.json()["registration_number"]
    common = {"Tgl Lahir": BORN, "Kecamatan": "Sukasari", "L/P": "P"}
    rows = [
        person(1, **common, NIK=nik(32), **{"Nama Sesuai KTP": "Agus Halim"}),  # ~ the stored
        person(2, **common, NIK=nik(33), **{"Nama Sesuai KTP": "Rina Wati"}),
        person(3, **common, NIK=nik(34), **{"Nama Sesuai KTP": "Rina  Watti"}),  # ~ row 2
        person(4, **common, NIK=nik(35), **{"Nama Sesuai KTP": "Joko Susilo"}),
    ]
    path = write_xlsx(tmp_path / "daftar.xlsx", rows, title=False)
    run = invoke(["roster", "import", str(path), "--json"])
    assert run.exit_code == 0, run.stdout
    doc = run.json()
    near = {f["row"]: f["message"] for f in doc["findings"] if f["code"] == "POSSIBLE_DUPLICATE"}
    assert sorted(near) == [2, 4]
    assert number in near[2] and "3" in near[4]
    with sqlite3.connect(office / "prakerja.db") as conn:
        flagged = {n for (n,) in conn.execute("SELECT nik FROM applicants WHERE status='flagged'")}
    assert {nik(32), nik(34)} <= flagged and nik(35) not in flagged


def test_rows_compared_a_chunk_at_a_time_find_what_one_pass_over_the_file_finds(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import compares its rows with similar records a chunk at a time while later rows are
    still checked: the store's candidates of a block are then found by several chunks, and a
    row's earlier rows lie in earlier chunks. Chunks of 7 rows must find exactly what one pass
    over the whole file finds, ties between equally similar candidates included."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.roster import importer

    # The second file has a day of its own: those rows can only be like earlier rows.
    days = [date(1990, 8, 17), date(1991, 2, 3), date(1992, 11, 30), date(1993, 5, 5)]
    names = ["Siti Nurhaliza", "Siti Nurhalizah", "Nurhaliza Siti", "Agus Salim", "Agus Halim",
             "Rina Wati", "Rina Watti", "Joko Susilo"]  # fmt: skip

    def people(first: int, count: int, spread: int) -> list[dict[str, Any]]:
        return [
            person(i, NIK=nik(i, days[i % spread]), **{"Tgl Lahir": days[i % spread], "L/P": "P",
                   "Nama Sesuai KTP": names[i * 7 % len(names)], "No. KK": f"32730101011{i % 23:05d}"})
            for i in range(first, first + count)
        ]  # fmt: skip

    # A tie: two stored records alike (twins[1] registered first). The file's first row finds
    # twins[1] through its KK; only the last row's kecamatan finds twins[0]. Both ways of
    # comparing must name the earlier registration, whatever order they found the two in.
    day, coblong = date(1989, 4, 4), {"Kecamatan": "Coblong", "Desa/Kelurahan": "Dago"}
    twins = [
        person(i, NIK=nik(900 + i, day), **coblong, **{"Tgl Lahir": day, "L/P": "P",
               "Nama Sesuai KTP": "Dewi Lestari", "No. KK": f"327302010110{i:04d}"})
        for i in (1, 2)
    ]  # fmt: skip
    first = write_csv(tmp_path / "a.csv", [*people(1, 60, 3), twins[1], twins[0]])
    stored = invoke(["roster", "import", str(first), "--json"])
    assert stored.exit_code == 0, stored.stdout
    by_kk = person(500, NIK=nik(950, day), **{"Tgl Lahir": day, "L/P": "P",
                   "No. KK": twins[1]["No. KK"], "Nama Sesuai KTP": "Joko Susilo"})  # fmt: skip
    last = person(501, NIK=nik(951, day), **coblong, **{"Tgl Lahir": day, "L/P": "P",
                  "Nama Sesuai KTP": "Dewi Lestari", "No. KK": "3273020101109999"})  # fmt: skip
    path = write_csv(tmp_path / "b.csv", [by_kk, *people(100, 300, 4), last])

    def findings(chunk: int) -> list[list[tuple[str, dict[str, Any]]]]:
        monkeypatch.setattr(importer, "_SIMILAR_CHUNK", chunk)
        result = importer.import_roster(open_workspace(), path, dry_run=True, jobs=1)
        return [[(str(f.code), f.params) for f in r.findings] for r in result.rows]

    whole, chunked = findings(10**9), findings(7)
    assert chunked == whole
    near = [p for row in whole for code, p in row if code == "POSSIBLE_DUPLICATE"]
    # Both kinds are there: a stored record (found by several chunks) and an earlier row.
    assert sum("registration_number" in p for p in near) > 50
    assert sum(p.get("variant") == "row" for p in near) > 50
    (tie,) = [p for code, p in whole[-1] if code == "POSSIBLE_DUPLICATE"]
    assert tie["registration_number"].endswith("-000061")  # twins[1], stored first


def test_candidates_come_from_index_seeks_not_a_scan(office: Path) -> None:
    db = open_db(office / "prakerja.db")
    try:
        params = ["1990-08-17", "Sukasari", None, "3273010101100002", "1990-08-17", None]
        plan = [str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {SIMILAR_SQL}", params)]
    finally:
        db.conn.close()
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert len(searches) == 2 and all(" USING INDEX " in step for step in searches), plan
    assert "applicants_birth_district (birth_date=? AND district=?)" in searches[0], plan
