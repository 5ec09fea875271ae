"""Values offices send that the import used to refuse or store wrongly (issue 13): dates as they
type them, invisible characters in numbers, numbers where text is meant, text without bounds.
Real files are written, imported through the CLI, and the stored rows read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rosters import person, write_csv, write_xlsx

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke


def stored(office: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(office / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        return {r["nik"]: dict(r) for r in conn.execute("SELECT * FROM applicants")}


def test_dates_as_offices_type_them_are_read(office: Path, tmp_path: Path) -> None:
    people = [person(i) for i in range(1, 5)]
    born = [p["Tgl Lahir"] for p in people]
    people[0]["Tgl Lahir"] = born[0].strftime("%d-") + ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun",
        "Jul", "Agu", "Sep", "Okt", "Nov", "Des"][born[0].month - 1] + born[0].strftime("-%Y")  # fmt: skip
    people[1]["Tgl Lahir"] = born[1].strftime("%Y/%m/%d")
    people[2]["Tgl Lahir"] = born[2].strftime("%d-%m-%y")  # the NIK settles the century
    people[3]["Tgl Lahir"] = born[3].replace(year=born[3].year + 1).strftime("%d-%m-%y")
    run = invoke(["roster", "import", str(write_xlsx(tmp_path / "r.xlsx", people)), "--json"])
    assert run.exit_code == 3, run.stderr
    rows = stored(office)
    for p, day in zip(people[:3], born[:3], strict=True):
        assert rows[p["NIK"]]["birth_date"] == day.isoformat()
    assert people[3]["NIK"] not in rows
    (finding,) = [f for f in run.json()["findings"] if f["code"] == "BIRTHDATE_INVALID"]
    assert "empat angka" in finding["message"]
    assert finding["row"] == 8  # title lines, blank line and header above the fourth person


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060"])
def test_invisible_characters_in_nik_kk_and_phone_are_dropped(
    office: Path, tmp_path: Path, invisible: str
) -> None:
    p = person(1)
    clean = dict(p)
    p["NIK"] = p["NIK"][:6] + invisible + p["NIK"][6:]
    p["No. KK"] = invisible + p["No. KK"]
    p["No HP"] = p["No HP"] + invisible
    for path in (write_xlsx(tmp_path / "r.xlsx", [p]), write_csv(tmp_path / "r.csv", [p])):
        run = invoke(["roster", "import", str(path), "--json", "--dry-run"])
        assert run.exit_code == 0, run.stdout
        assert "?" not in run.stdout + run.stderr
    assert invoke(["roster", "import", str(tmp_path / "r.xlsx")]).exit_code == 0
    row = stored(office)[clean["NIK"]]
    assert (row["kk"], row["phone"]) == (clean["No. KK"], "+62" + clean["No HP"][1:])


@pytest.mark.parametrize("rt", [1e308, -7, 1.5, "1E-300", "12345"])
def test_rt_and_rw_that_are_no_numbers_of_three_digits_are_refused(
    office: Path, tmp_path: Path, rt: Any
) -> None:
    p = person(1, RT=rt, RW=rt)
    run = invoke(["roster", "import", str(write_xlsx(tmp_path / "r.xlsx", [p])), "--json"])
    assert run.exit_code == 3
    codes = {(f["code"], f["field"]) for f in run.json()["findings"]}
    assert codes == {("RT_RW_INVALID", "rt"), ("RT_RW_INVALID", "rw")}
    assert stored(office) == {}


def test_the_desk_refuses_the_same_rt(office: Path) -> None:
    run = invoke(applicant_args(extra=["--rt", "1E-300"]))
    assert run.exit_code == 3
    assert "RT_RW_INVALID" in run.stderr
    run = invoke(applicant_args(extra=["--rt", "RT 03", "--rw", "7"]))
    assert run.exit_code == 0, run.stderr
    (row,) = stored(office).values()
    assert (row["rt"], row["rw"]) == ("003", "007")


@pytest.mark.parametrize(("write", "size"), [(write_xlsx, 1_000_000), (write_csv, 5_000)])
def test_text_without_bounds_is_refused_not_stored(
    office: Path, tmp_path: Path, write: Any, size: int
) -> None:
    # A CSV line over 32,768 characters is refused whole before any row is read; below that,
    # and in any xlsx, each field has its maximum in the core.
    people = [person(1), person(2)]
    people[0]["Alamat"] = ("Jl. Merdeka " * size)[:size]
    people[1]["Nama Sesuai KTP"] = "A" * (size // 4)
    run = invoke(
        [
            "roster",
            "import",
            str(write(tmp_path / ("r.xlsx" if write is write_xlsx else "r.csv"), people)),
            "--json",
        ]
    )
    assert run.exit_code == 3, run.stderr
    found = {(f["code"], f["field"]) for f in run.json()["findings"]}
    assert found == {("TEXT_TOO_LONG", "address"), ("TEXT_TOO_LONG", "name")}
    assert stored(office) == {}


def test_a_windows_1252_csv_whose_first_accent_is_past_the_first_64_kib(
    office: Path, tmp_path: Path
) -> None:
    people = [person(i) for i in range(1, 1501)]
    people[1399]["Nama Sesuai KTP"] = "José Ramírez"  # row 1,400: far past the first 64 KiB
    path = write_csv(tmp_path / "r.csv", people, encoding="cp1252")
    assert path.stat().st_size > 3 * 65536
    run = invoke(["roster", "import", str(path), "--json"])
    assert run.exit_code == 0, run.stdout + run.stderr
    assert stored(office)[people[1399]["NIK"]]["name"] == "JOSÉ RAMÍREZ"


def test_a_csv_mixing_utf8_and_windows_1252_is_refused_whole(office: Path, tmp_path: Path) -> None:
    people = [person(i) for i in range(1, 4)]
    people[0]["Nama Sesuai KTP"] = "José"
    path = write_csv(tmp_path / "r.csv", people, encoding="utf-8")
    path.write_bytes(path.read_bytes() + "Ramírez;".encode("cp1252"))
    run = invoke(["roster", "import", str(path)])
    # No single reading is right: as cp1252 the UTF-8 'é' would be stored as 'Ã©'.
    assert run.exit_code == 2, run.stderr
    assert "r.csv" in run.stderr
    assert stored(office) == {}


def test_a_csv_over_512_columns_is_refused_as_the_readme_says(office: Path, tmp_path: Path) -> None:
    people = [person(1)]
    path = write_csv(tmp_path / "r.csv", people)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    wide = [line + ";" * 602 for line in lines]  # 619 columns
    path.write_text("\n".join(wide) + "\n", encoding="utf-8")
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 2
    assert "512 kolom" in run.stderr, run.stderr
    assert stored(office) == {}


def test_a_zip_asking_for_a_newer_zip_version_is_one_clean_line(
    office: Path, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [person(1)])
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:  # every central directory entry: "version needed to extract" = 6.4
        data[at + 6 : at + 8] = (64).to_bytes(2, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 2
    assert run.stderr.count("galat:") == 1 and "r.xlsx" in run.stderr
    assert stored(office) == {}
