"""`prakerja restore` keeps what the office already gave away: numbering goes on after the highest
number the desk gave (even when the store replaced is gone), records the central system holds are
carried over, and the question says what a restore drops and defaults to no."""

from __future__ import annotations

import shutil
from collections import Counter
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from centralserver import TOKEN, central
from rosters import person, write_xlsx

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import INIT_ARGS, applicant_args, invoke


def register(serial: int) -> str:
    """Register one applicant at the desk; their registration number."""
    nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
    run = invoke([*applicant_args(nik=nik, kk=f"32730101011{serial:05d}"), "--json"])
    assert run.exit_code == 0, run.stderr
    return str(run.json()["registration_number"])


def backup(tmp_path: Path) -> Path:
    run = invoke(["backup", str(tmp_path / "cadangan"), "--json"])
    assert run.exit_code == 0, run.stderr
    return Path(run.json()["file"])


def restore(made: Path, *options: str) -> dict[str, Any]:
    run = invoke(["restore", str(made), "--yes", "--json", *options])
    assert run.exit_code == 0, run.stderr
    return dict(run.json())


def sync(url: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRAKERJA_API_URL", url)
        mp.setenv("PRAKERJA_API_TOKEN", TOKEN)
        run = invoke(["sync", "--json"])
    assert run.exit_code == 0, run.stderr
    return dict(run.json())


def numbers(office: Path) -> list[str]:
    with closing(sqlite3.connect(office / "prakerja.db")) as conn:
        return [r[0] for r in conn.execute("SELECT registration_number FROM applicants")]


def central_numbers(data_dir: Path) -> list[tuple[str, str]]:
    """(registration number, NIK) of every registration the central system holds."""
    with closing(sqlite3.connect(data_dir / "central.sqlite3")) as conn:
        return conn.execute("SELECT registration_number, nik FROM registrations").fetchall()


def test_a_restore_never_gives_a_number_again_and_central_holds_one_person_per_number(
    office: Path, tmp_path: Path
) -> None:
    """The issue's scenario: backup, register B, sync, restore, register C, sync."""
    data = tmp_path / "central"
    with central(data) as url:
        a = register(1)
        made = backup(tmp_path)
        b = register(2)
        assert sync(url)["accepted"] == 2
        done = restore(made)
        # B reached the central system after the backup: the restore keeps it.
        assert done["carried"] == [b] and done["removed"] == 0
        assert done["next_number"] == "3273-D01-000003"
        c = register(3)
        second = sync(url)
        # Only C goes: A's answer (after the backup) came over with the restore too.
        assert (second["sent"], second["accepted"]) == (1, 1)
    assert (a, b, c) == ("3273-D01-000001", "3273-D01-000002", "3273-D01-000003")
    assert sorted(numbers(office)) == [a, b, c]
    held = central_numbers(data)
    assert sorted(n for n, _ in held) == [a, b, c]
    per_number = Counter(n for n, _ in held)
    assert [n for n, count in per_number.items() if count > 1] == []
    # The carried record keeps what the central system said of it: not sent again.
    shown = invoke(["applicants", "show", b, "--json"]).json()
    assert shown["central_status"] in ("accepted", "verified")
    assert invoke(["audit", "verify"]).exit_code == 0


def test_a_record_never_sent_is_removed_but_its_number_is_not_given_again(
    office: Path, tmp_path: Path
) -> None:
    register(1)
    made = backup(tmp_path)
    dropped = register(2)
    done = restore(made)
    assert done["carried"] == [] and done["removed"] == 1
    assert dropped not in numbers(office)
    with closing(sqlite3.connect(done["set_aside"])) as conn:  # kept in the set-aside copy
        assert conn.execute(
            "SELECT 1 FROM applicants WHERE registration_number = ?", [dropped]
        ).fetchone()
    assert register(3) == "3273-D01-000003"


@pytest.mark.parametrize("loss", ["deleted", "damaged"])
def test_the_newer_store_lost_numbering_still_goes_on(
    office: Path, tmp_path: Path, loss: str
) -> None:
    """The store being replaced is gone (a dead disk, a deleted file) or unreadable: the desk's
    numbering file beside office.key still knows the last number given."""
    register(1)
    made = backup(tmp_path)
    register(2)
    register(3)
    store = office / "prakerja.db"
    for path in (store, office / "prakerja.db-wal", office / "prakerja.db-shm"):
        path.unlink(missing_ok=True)
    if loss == "damaged":
        store.write_bytes(b"SQLite format 3\x00" + b"\x07" * 8192)
    done = restore(made)
    assert done["numbering_locked"] is False and done["next_number"] == "3273-D01-000004"
    assert register(4) == "3273-D01-000004"
    # The restored store carries the mark too, so a backup made now continues from it elsewhere.
    with closing(sqlite3.connect(store)) as conn:
        assert conn.execute(
            "SELECT value FROM counters WHERE name = 'registration:3273:D01'"
        ).fetchone() == (4,)


def test_a_roster_import_after_a_restore_numbers_after_the_mark(
    office: Path, tmp_path: Path
) -> None:
    register(1)
    made = backup(tmp_path)
    register(2)
    restore(made)
    roster = write_xlsx(tmp_path / "r.xlsx", [person(i) for i in (1, 2)], title=False)
    assert invoke(["roster", "import", str(roster)]).exit_code == 0
    assert sorted(numbers(office)) == ["3273-D01-000001", "3273-D01-000003", "3273-D01-000004"]


def _new_pc(office: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The old PC issued 1..3 after a backup holding 1; then it and its data folder were lost.
    A new PC is set up with the same desk id; returns (its data folder, the backup)."""
    register(1)
    made = backup(tmp_path)
    register(2)
    register(3)
    usb = tmp_path / "usb.db"
    shutil.copy(made, usb)
    new = tmp_path / "new-pc"
    return new, usb


def test_a_restore_onto_a_new_pc_locks_the_desk_until_the_last_number_is_given(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new, usb = _new_pc(office, tmp_path)
    monkeypatch.setenv("PRAKERJA_HOME", str(new))
    assert invoke(INIT_ARGS).exit_code == 0
    run = invoke(["restore", str(usb), "--yes"])
    assert run.exit_code == 0, run.stderr
    assert "dikunci" in run.stderr and "--last-number" in run.stderr
    # Nothing can be numbered from the backup's 1: the old PC gave 2 and 3.
    refused = invoke(applicant_args(nik=synthetic_nik("327301", date(1990, 8, 17), "P", 4)))
    assert refused.exit_code == 2
    lines = refused.stderr.strip().splitlines()
    assert lines[0].startswith("galat:") and "3273-D01-000001" in lines[0]
    assert lines[1].startswith("saran:") and "--last-number 3273-D01-NNNNNN" in lines[1]
    assert "Traceback" not in refused.stderr
    english = invoke(["--lang", "en", "roster", "import", str(write_xlsx(
        tmp_path / "r.xlsx", [person(1)], title=False))])  # fmt: skip
    assert english.exit_code == 2 and "is locked" in english.stderr
    # Restoring again does not unlock it by itself.
    assert restore(usb)["numbering_locked"] is True
    # The clerk reads the newest receipt (…-000003): numbering goes on after it.
    bad = invoke(["restore", str(usb), "--yes", "--last-number", "3273-D02-000003"])
    assert bad.exit_code == 2 and "--last-number" in bad.stderr
    done = restore(usb, "--last-number", "3273-D01-000003")
    assert done["numbering_locked"] is False and done["next_number"] == "3273-D01-000004"
    assert register(4) == "3273-D01-000004"


def test_a_new_pc_may_instead_take_a_desk_id_of_its_own(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new, usb = _new_pc(office, tmp_path)
    monkeypatch.setenv("PRAKERJA_HOME", str(new))
    assert invoke(INIT_ARGS).exit_code == 0
    assert restore(usb)["numbering_locked"] is True
    assert invoke(["config", "set", "desk", "D05"]).exit_code == 0
    assert register(4) == "3273-D05-000001"


def test_a_new_pc_without_init_is_locked_too(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the configuration was copied over (no numbering file, no store)."""
    new, usb = _new_pc(office, tmp_path)
    new.mkdir()
    shutil.copy(office / "config.toml", new / "config.toml")
    monkeypatch.setenv("PRAKERJA_HOME", str(new))
    assert restore(usb)["numbering_locked"] is True
    assert (
        invoke(applicant_args(nik=synthetic_nik("327301", date(1990, 8, 17), "P", 4))).exit_code
        == 2
    )


def test_the_question_says_what_is_dropped_and_kept(office: Path, tmp_path: Path) -> None:
    register(1)
    made = backup(tmp_path)
    register(2)
    run = invoke(["restore", str(made)], input="\n")  # Enter: the default is no
    assert run.exit_code == 130
    assert "Penyimpanan sekarang berisi 2 pendaftaran, cadangan 1." in run.stderr
    assert "1 pendaftaran yang dibuat setelah cadangan dan belum dikirim" in run.stderr
    assert "Basis data sekarang disimpan di sampingnya. (ya/tidak; Enter = tidak):" in run.stderr
    assert len(numbers(office)) == 2
    english = invoke(["--lang", "en", "restore", str(made)], input="no\n")
    assert english.exit_code == 130
    assert "The current store has 2 registrations, the backup 1." in english.stderr
    assert "never sent to the central system, to be removed: 1" in english.stderr


def test_restore_asks_at_a_terminal_enter_keeps_the_store_and_ya_restores(
    office: Path, tmp_path: Path
) -> None:
    from terminal import Terminal

    register(1)
    made = backup(tmp_path)
    register(2)
    register(3)
    before = (office / "prakerja.db").read_bytes()
    terminal = Terminal(["restore", str(made)], office)
    screen = terminal.expect(r"Enter = tidak\)")
    assert "Penyimpanan sekarang berisi 3 pendaftaran, cadangan 1." in screen
    assert "2 pendaftaran yang dibuat setelah cadangan" in screen
    terminal.line()  # Enter
    code, screen = terminal.close()
    assert code == 130, screen
    assert "Traceback" not in screen
    assert sorted(numbers(office)) == ["3273-D01-000001", "3273-D01-000002", "3273-D01-000003"]
    assert (office / "prakerja.db").read_bytes() == before
    assert not list(office.glob("*before-restore*"))  # nothing replaced, nothing set aside
    terminal = Terminal(["restore", str(made)], office)
    terminal.expect(r"Enter = tidak\)")
    terminal.line("ya")
    code, screen = terminal.close()
    assert code == 0, screen
    assert "3273-D01-000004" in screen  # the next number, after the highest given
    assert numbers(office) == ["3273-D01-000001"]
