"""The committed samples import with exactly the outcomes samples/README.md states."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import invoke

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_clean_sample(office: Path) -> None:
    run = invoke(["roster", "import", str(SAMPLES / "roster-clean.xlsx"), "--json"])
    assert run.exit_code == 0
    doc = run.json()
    assert (doc["rows"], doc["stored"], doc["rejected"]) == (10, 10, 0)
    assert doc["unknown_columns"] == ["Keterangan Desa"]
    again = invoke(["roster", "import", str(SAMPLES / "roster-clean.xlsx"), "--json"]).json()
    assert (again["stored"], again["skipped"]) == (0, 10)


def test_problem_sample(office: Path, tmp_path: Path) -> None:
    report = tmp_path / "perbaikan.xlsx"
    run = invoke(
        [
            "roster",
            "import",
            str(SAMPLES / "roster-problems.xlsx"),
            "--json",
            "--errors",
            str(report),
        ]
    )
    assert run.exit_code == 3
    doc = run.json()
    assert (doc["rows"], doc["stored"], doc["warned"], doc["rejected"], doc["skipped"]) == (
        11,
        3,
        1,
        7,
        1,
    )
    assert {(f["row"], f["code"]) for f in doc["findings"]} == {
        (6, "NIK_PRECISION_LOST"),
        (7, "NIK_PRECISION_LOST"),
        (9, "NIK_BIRTHDATE_MISMATCH"),
        (10, "IN_FORMAL_EDUCATION"),
        (12, "EXCLUDED_OCCUPATION"),
        (13, "AGE_BELOW_MIN"),
        (14, "NIK_DUPLICATE_IN_FILE"),
        (15, "PHONE_INVALID"),
    }
    assert doc["errors_rows"] == 8


def test_samples_are_what_the_generator_writes(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from prakerja_cli.samples import write_samples

    for fresh in write_samples(tmp_path):
        if fresh.name == "template.xlsx":
            continue
        ours = load_workbook(SAMPLES / fresh.name).active
        theirs = load_workbook(fresh).active
        assert ours is not None and theirs is not None
        assert [[c.value for c in r] for r in ours.iter_rows()] == [
            [c.value for c in r] for r in theirs.iter_rows()
        ]
