"""`prakerja refdata load`: codes retired from the newest list still decode without a warning."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from prakerja_cli.demo import synthetic_nik
from tests.conftest import REGIONS_CSV, invoke


def _retired_district(csv_path: Path) -> str:
    import csv

    with csv_path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (
                row["level"] == "3"
                and row["in_2025_list"] == "False"
                and row["code"].startswith("91")
            ):
                return row["code"].replace(".", "")
    raise AssertionError("no retired kecamatan in the file")


def _region_codes(nik: str) -> list[str]:
    (item,) = invoke(["nik", nik, "--json"]).json()
    return [f["code"] for f in item["findings"]]


@pytest.mark.skipif(not REGIONS_CSV.exists(), reason="../shared/data is not beside this checkout")
def test_loading_the_shared_region_file_adds_retired_codes(office: Path) -> None:
    district = _retired_district(REGIONS_CSV)
    nik = synthetic_nik(district, date(1980, 1, 2), "L", 9001)
    assert _region_codes(nik) == ["NIK_REGION_UNKNOWN"]
    run = invoke(["refdata", "load", str(REGIONS_CSV), "--json"])
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["read"] > 8000
    assert 0 < doc["added"] < doc["read"]  # the 2025 codes were already there
    assert _region_codes(nik) == []
    again = invoke(["refdata", "load", str(REGIONS_CSV), "--json"]).json()
    assert again["added"] == 0


def test_loading_a_small_file(office: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "regions.csv"
    csv_path.write_text(
        "code,level,name,in_2025_list,release_snapshots\n"
        "32.73,2,Kota Bandung,True,2025\n"
        "32.73.99,3,Kecamatan Percobaan,False,2018\n",
        encoding="utf-8",
    )
    nik = synthetic_nik("327399", date(1980, 1, 2), "P", 9001)
    assert _region_codes(nik) == ["NIK_REGION_UNKNOWN"]
    run = invoke(["refdata", "load", str(csv_path)])
    assert run.exit_code == 0
    assert "1 kode baru" in run.stdout
    assert _region_codes(nik) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("kode,tingkat\n11,1\n", "code, level, name"),
        ("code,level,name\n32.7,2,Salah\n", "baris 2"),
        ("code,level,name\n32,1,Jawa Barat\n32.73.01,2,Salah\n", "baris 3"),
    ],
)
def test_bad_region_files_name_the_problem_and_load_nothing(
    office: Path, tmp_path: Path, body: str, expected: str
) -> None:
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text(body, encoding="utf-8")
    run = invoke(["refdata", "load", str(csv_path)])
    assert run.exit_code == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr


def test_missing_region_file(office: Path, tmp_path: Path) -> None:
    run = invoke(["refdata", "load", str(tmp_path / "absent.csv")])
    assert run.exit_code == 2 and "tidak ada" in run.stderr
