"""A big roster's records are written by a writer process (roster/writer.py) that holds the
store's write lock from before the import's first look-up. Written there, an import must store
exactly what it stores written in its own process, and when the writer cannot start, lock or
finish, it must be written in the importer instead: nothing lost, nothing twice, no number used
up."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rosters import person, write_csv

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke
from tests.test_similar import nik

#: Stored columns that differ between two imports of the same file: ids and times.
_WHEN = {"id", "created_at", "updated_at"}
_COUNTER = "registration:3273:D01"


def _stored(home: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(home / "prakerja.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM applicants ORDER BY registration_number").fetchall()
    return [{k: row[k] for k in row.keys() if k not in _WHEN} for row in rows]  # noqa: SIM118


def _people(first: int = 1, count: int = 80) -> list[dict[str, Any]]:
    """Rows of every kind an import decides: stored, warned (similar names), rejected (the same
    person twice, a bad phone)."""
    days = [date(1990, 8, 17), date(1991, 2, 3), date(1992, 11, 30)]
    names = ["Siti Nurhaliza", "Siti Nurhalizah", "Agus Salim", "Agus Halim", "Rina Wati"]
    rows = [
        person(i, NIK=nik(i, days[i % 3]), **{"Tgl Lahir": days[i % 3], "L/P": "P",
               "Nama Sesuai KTP": names[i * 7 % len(names)], "No. KK": f"32730101011{i % 9:05d}"})
        for i in range(first, first + count)
    ]  # fmt: skip
    rows.append(dict(rows[10]))  # the same person twice
    rows[20]["No HP"] = "0812"  # too short
    return rows


def _import(home: Path, path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Any:
    from prakerja_cli.office import open_workspace
    from prakerja_cli.roster import importer

    monkeypatch.setenv("PRAKERJA_HOME", str(home))
    monkeypatch.setattr(importer, "_SIMILAR_CHUNK", 7)  # several chunks sent to the writer
    return importer.import_roster(open_workspace(), path, jobs=1, **options)


def _findings(result: Any) -> list[tuple[str, str | None, list[tuple[str, Any]]]]:
    return [
        (r.outcome, r.registration_number, [(str(f.code), f.params) for f in r.findings])
        for r in result.rows
    ]


def _issued(home: Path) -> int:
    marks = json.loads((home / "numbering.json").read_text(encoding="utf-8"))
    return int(marks["issued"].get(_COUNTER, 0))


def _verify(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAKERJA_HOME", str(home))
    verify = invoke(["audit", "verify", "--json"])
    assert verify.exit_code == 0, verify.stdout


@pytest.fixture
def twins(office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two copies of one office holding a first roster and a desk registration."""
    monkeypatch.setenv("PRAKERJA_HOME", str(office))
    assert invoke(applicant_args(nik=nik(300), name="Siti Nurhaliza")).exit_code == 0
    first = write_csv(tmp_path / "first.csv", _people(100, 30))
    assert invoke(["roster", "import", str(first), "--json"]).exit_code in (0, 3)
    twin = tmp_path / "twin"
    shutil.copytree(office, twin)
    return office, twin


def test_written_by_the_writer_process_the_import_stores_what_it_stores_written_here(
    twins: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New rows, rows like stored records, and rows that update stored records (--update)."""
    here, apart = twins
    changed = [dict(p, **{"No HP": "081299990000"}) for p in _people(100, 30)[:5]]
    path = write_csv(tmp_path / "roster.csv", [*_people(), *changed])
    mine = _import(here, path, monkeypatch, apart=False, update=True)
    _not_here(monkeypatch)
    theirs = _import(apart, path, monkeypatch, apart=True, update=True)
    assert _findings(theirs) == _findings(mine)
    outcomes = {r.outcome for r in mine.rows}
    assert {"warned", "rejected", "updated"} <= outcomes  # warned: stored, flagged
    assert _stored(apart) == _stored(here) and len(_stored(here)) > 100
    assert _issued(apart) == _issued(here) == len(_stored(here))  # consecutive, none lost
    for home in twins:
        _verify(home, monkeypatch)
    with sqlite3.connect(apart / "prakerja.db") as conn:
        edits = conn.execute("SELECT count(*) FROM audit WHERE action = 'edit'").fetchone()[0]
    assert edits == 5


def _not_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure the writer process wrote the import: writing it here now fails the test."""
    from prakerja_cli.roster import importer

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("written in the importer's process, not by the writer")

    monkeypatch.setattr(importer, "_store", refuse)


def _same_as_written_here(
    twins: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, harm: Any
) -> Any:
    """Import one roster into both offices, written here and, after `harm(monkeypatch)`, by a
    writer that fails: the same findings, records and numbers (none used up by the failed
    writer), and a trail that verifies. Returns what `harm` returned."""
    here, apart = twins
    path = write_csv(tmp_path / "roster.csv", _people())
    mine = _import(here, path, monkeypatch, apart=False)
    harmed = harm(monkeypatch)
    theirs = _import(apart, path, monkeypatch, apart=True)
    assert _findings(theirs) == _findings(mine)
    assert _stored(apart) == _stored(here)
    assert _issued(apart) == _issued(here)
    _verify(apart, monkeypatch)
    return harmed


def _writer_killed_after_three(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Kill the writer process once it has been sent three chunks of records."""
    from prakerja_cli.roster import writer

    sent: list[int] = []
    real = writer.Writer.send

    def send(self: Any, message: tuple[Any, ...]) -> None:
        real(self, message)
        if message[0] == "insert":
            sent.append(len(message[1]))
            if len(sent) == 3:
                self.proc.kill()
                self.proc.wait()

    monkeypatch.setattr(writer.Writer, "send", send)
    return sent


def test_a_writer_killed_half_way_commits_nothing_and_the_import_is_written_here(
    twins: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _same_as_written_here(twins, tmp_path, monkeypatch, _writer_killed_after_three)
    assert len(sent) >= 3  # records had gone to the writer before it died


def test_a_writer_that_cannot_start_leaves_the_import_to_this_process(
    twins: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))

    _same_as_written_here(twins, tmp_path, monkeypatch, no_interpreter)


def _locked(office: Path) -> bool:
    """Whether another process holds the store's write lock now."""
    conn = sqlite3.connect(office / "prakerja.db", timeout=0)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        conn.close()


def test_the_writer_holds_the_write_lock_from_before_the_first_look_up(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the import looks up the file's NIKs, no other process can write: a desk
    registration then waits for the import instead of slipping in between. While the file is
    read (seconds for a big workbook, and a file may yet be refused), the store stays free."""
    import time

    from prakerja_cli.roster import importer

    path = write_csv(tmp_path / "roster.csv", _people())
    busy: list[bool] = []
    reading: list[bool] = []
    real_prefetch, real_open = importer._Known.prefetch, importer.open_roster

    def try_to_write(self: Any, *args: Any) -> None:
        busy.append(_locked(office))
        real_prefetch(self, *args)

    def read_slowly(*args: Any) -> Any:
        until = time.monotonic() + 2  # the writer has started and opened the store by then
        while time.monotonic() < until:
            reading.append(_locked(office))
            time.sleep(0.05)
        return real_open(*args)

    monkeypatch.setattr(importer._Known, "prefetch", try_to_write)
    monkeypatch.setattr(importer, "open_roster", read_slowly)
    _not_here(monkeypatch)
    result = _import(office, path, monkeypatch, apart=True)
    assert busy == [True]
    assert len(reading) > 10 and not any(reading)
    assert result.stored > 60 and len(_stored(office)) == result.stored


def test_a_big_file_is_written_by_the_writer_process_by_default(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prakerja_cli.roster import importer, writer

    started: list[bool] = []
    real = writer.Writer.start

    def start(office: Any) -> Any:
        started.append(True)
        return real(office)

    monkeypatch.setattr(writer.Writer, "start", staticmethod(start))
    monkeypatch.setattr(importer, "WRITER_FROM_BYTES", 1)
    path = write_csv(tmp_path / "roster.csv", _people())
    result = _import(office, path, monkeypatch)
    assert started == [True] and result.stored == len(_stored(office))
    started.clear()
    monkeypatch.setattr(importer, "WRITER_FROM_BYTES", path.stat().st_size + 1)
    _import(office, write_csv(tmp_path / "other.csv", _people(200, 30)), monkeypatch)
    assert started == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child: POSIX")
def test_the_writer_process_ignores_ctrl_c_and_commits_nothing_without_finish(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C at a console reaches the writer too: it must not end (the importer decides) nor
    commit half an import; only the importer's "finish" commits, and an input that ends
    without it rolls back. The import is then written here."""
    import signal
    import time

    from prakerja_cli.roster import importer

    path = write_csv(tmp_path / "roster.csv", _people())
    seen: list[Any] = []

    def end_input_instead(self: Any, result: Any, known: Any) -> bool:
        proc = self.writer.proc
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        seen.append(proc.poll())  # still running
        self.writer._outbox.put(None)  # the end of its input, without "finish"
        seen.append(proc.wait(timeout=30))
        seen.append(len(_stored(office)))  # what it had inserted was never committed
        return False

    monkeypatch.setattr(importer._Sent, "finish", end_input_instead)
    result = _import(office, path, monkeypatch, apart=True)
    assert seen[0] is None and seen[1] != 0 and seen[2] == 0
    assert result.stored > 60 and len(_stored(office)) == result.stored  # written here


def test_the_writer_process_writes_into_an_encrypted_store(
    twins: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer opens the store as every command does, with the key from the key file."""
    here, apart = twins
    monkeypatch.setenv("PRAKERJA_HOME", str(apart))
    key = tmp_path / "usb" / "desk.key"
    key.parent.mkdir()
    encrypted = invoke(["encrypt", "--key-file", str(key), "--json"])
    assert encrypted.exit_code == 0, encrypted.stdout
    path = write_csv(tmp_path / "roster.csv", _people())
    mine = _import(here, path, monkeypatch, apart=False)
    _not_here(monkeypatch)
    theirs = _import(apart, path, monkeypatch, apart=True)
    assert _findings(theirs) == _findings(mine)
    assert (apart / "prakerja.db").read_bytes()[:15] != b"SQLite format 3"
    listed = invoke(["applicants", "list", "--json", "--limit", "1000"])
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == len(_stored(here))
    _verify(apart, monkeypatch)


def test_a_row_refused_after_the_writer_failed_names_no_registration_number(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer numbered the row, then failed; meanwhile a desk registered the row's NIK. The
    import written here refuses the row: its report must not name the number the writer had
    given it (no record holds it)."""
    from prakerja_cli.roster import importer

    people = _people()
    target = str(people[40]["NIK"])
    path = write_csv(tmp_path / "roster.csv", people)

    def fail_then_desk(self: Any, result: Any, known: Any) -> bool:
        self.writer.stop()
        registered = invoke(applicant_args(nik=target, name="Orang Lain"))
        assert registered.exit_code == 0, registered.stdout
        return False

    monkeypatch.setattr(importer._Sent, "finish", fail_then_desk)
    result = _import(office, path, monkeypatch, apart=True)
    (row,) = [r for r in result.rows if r.validated and r.validated.values["nik"] == target]
    assert row.outcome == "rejected" and row.registration_number is None
    assert [str(f.code) for f in row.findings][-1] == "NIK_DUPLICATE"
    numbers = {r.registration_number for r in result.rows if r.registration_number}
    assert numbers == {s["registration_number"] for s in _stored(office)} - {"3273-D01-000001"}


def _answer_lost_after_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer commits, then its "done" is lost; writing the import here fails the test."""
    from prakerja_cli.roster import writer

    real = writer.Writer.finish

    def lost_answer(self: Any, message: tuple[Any, ...]) -> bool:
        assert real(self, message)  # committed
        return False

    monkeypatch.setattr(writer.Writer, "finish", lost_answer)
    _not_here(monkeypatch)


def test_a_writer_that_committed_but_could_not_say_so_is_not_written_again(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its "done" lost (the writer died between its commit and its answer): the import finds
    its records stored and does not write them a second time (which would refuse every row as a
    duplicate of itself)."""
    _answer_lost_after_commit(monkeypatch)
    path = write_csv(tmp_path / "roster.csv", _people())
    result = _import(office, path, monkeypatch, apart=True)
    assert result.stored > 60 and result.count("rejected") < 5
    numbers = {r.registration_number for r in result.rows if r.registration_number}
    assert numbers == {s["registration_number"] for s in _stored(office)}


def test_an_update_only_import_whose_writer_could_not_say_it_committed_is_not_applied_again(
    twins: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--update rows only: no new record to find, so the import looks for its own audit entry;
    applied a second time, each row would get a second edit (and a second audit entry)."""
    office, _ = twins
    _answer_lost_after_commit(monkeypatch)
    changed = [dict(p, **{"No HP": "081299990000"}) for p in _people(100, 30)[:5]]
    result = _import(office, write_csv(tmp_path / "changed.csv", changed), monkeypatch,
                     apart=True, update=True)  # fmt: skip
    assert result.updated == 5 and result.stored == 5
    with sqlite3.connect(office / "prakerja.db") as conn:
        actions = [a for (a,) in conn.execute("SELECT action FROM audit ORDER BY seq")]
        changed_phones = conn.execute(
            "SELECT count(*) FROM applicants WHERE phone = '+6281299990000'"
        ).fetchone()[0]
    assert actions[-6:] == ["edit"] * 5 + ["import"] and actions.count("edit") == 5
    assert changed_phones == 5
    _verify(office, monkeypatch)


def test_ctrl_c_that_arrives_with_the_writers_answer_is_no_cancellation(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows a pipe read is not interrupted by Ctrl+C: the KeyboardInterrupt is raised once
    the writer's "done" arrives, after its commit (the writer ignores Ctrl+C). The import is
    stored: it must say so, not "cancelled, nothing stored", and not write it again."""
    from prakerja_cli.roster import writer

    real = writer.Writer.finish

    def interrupted_after_commit(self: Any, message: tuple[Any, ...]) -> bool:
        assert real(self, message)
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.Writer, "finish", interrupted_after_commit)
    _not_here(monkeypatch)
    path = write_csv(tmp_path / "roster.csv", _people())
    try:
        result = _import(office, path, monkeypatch, apart=True)
    except KeyboardInterrupt:  # escaping, it would end the test run, not fail this test
        pytest.fail("a stored import reported as cancelled")
    assert result.stored > 60 and len(_stored(office)) == result.stored


def test_ctrl_c_before_the_writer_commits_cancels_and_stores_nothing(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On POSIX the read is interrupted at once: the writer is ended before it commits."""
    from prakerja_cli.roster import writer

    def interrupted(self: Any, message: tuple[Any, ...]) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.Writer, "finish", interrupted)
    _not_here(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _import(office, write_csv(tmp_path / "roster.csv", _people()), monkeypatch, apart=True)
    assert _stored(office) == [] and _issued(office) == 0
