"""The commands a clerk runs, run for real at a pseudo-terminal: progress bars, colours and
prompts are on, as in a console (tests/terminal.py). Pipes and CliRunner hide these paths."""

from __future__ import annotations

import json
from pathlib import Path

from centralserver import TOKEN, central
from rosters import person, write_xlsx
from terminal import Terminal, run_at_terminal

from prakerja_cli.store.engine import dbapi as sqlite3

ROOT = Path(__file__).resolve().parents[1]


def count(office: Path, where: str = "1") -> int:
    with sqlite3.connect(office / "prakerja.db") as conn:
        return int(conn.execute(f"SELECT count(*) FROM applicants WHERE {where}").fetchone()[0])


def test_roster_import_shows_a_progress_bar_and_stores_the_rows(
    office: Path, tmp_path: Path
) -> None:
    roster = write_xlsx(tmp_path / "r.xlsx", [person(i) for i in range(1, 41)])
    code, screen = run_at_terminal(["roster", "import", str(roster)], office)
    assert code == 0, screen
    assert "Traceback" not in screen
    assert "40 baris dibaca" in screen
    assert "Membaca daftar" in screen  # the bar's label in the clerk's language, not "roster"
    assert "Menyimpan" in screen  # then the storing phase, with its own label
    assert count(office) == 40


def test_roster_import_json_at_a_terminal_is_one_document(office: Path, tmp_path: Path) -> None:
    roster = write_xlsx(tmp_path / "r.xlsx", [person(i) for i in range(1, 6)])
    code, screen = run_at_terminal(["roster", "import", str(roster), "--json", "--dry-run"], office)
    assert code == 0, screen
    assert "Traceback" not in screen
    # The bar is transient on stderr; the document follows it whole.
    document = json.loads(screen[screen.index("\n{\n") :])
    assert (document["rows"], document["stored"], document["dry_run"]) == (5, 5, True)
    assert count(office) == 0
    assert "Menyimpan" not in screen  # a dry run stores nothing and does not say it does


def test_sync_at_a_terminal_delivers_every_record(office: Path, tmp_path: Path) -> None:
    roster = write_xlsx(tmp_path / "r.xlsx", [person(i) for i in range(1, 31)])
    code, screen = run_at_terminal(["roster", "import", str(roster)], office)
    assert code == 0, screen
    with central(tmp_path / "central") as url:
        env = {"PRAKERJA_API_URL": url, "PRAKERJA_API_TOKEN": TOKEN}
        code, screen = run_at_terminal(["sync", "--batch-size", "7"], office, env=env)
        assert code == 0, screen
        assert "Traceback" not in screen
        assert "Mengirim" in screen and "sync ━" not in screen
        assert TOKEN not in screen
        code, screen = run_at_terminal(["sync", "--json"], office, env=env)
        assert code == 0, screen
        assert "Traceback" not in screen
    assert count(office, "central_status IS NULL") == 0


def test_the_readme_demo_runs_at_a_terminal(tmp_path: Path) -> None:
    terminal = Terminal(["demo"], tmp_path / "unused", cwd=tmp_path, timeout=300)
    code, screen = terminal.close()
    assert code == 0, screen
    assert "Traceback" not in screen


def test_applicants_list_fits_an_80_column_console_with_numbers_whole(
    office: Path, tmp_path: Path
) -> None:
    people = [person(i) for i in range(1, 4)]
    people[0]["Nama Sesuai KTP"] = "Raden Ayu Sekar Kedaton Wulandari Kusumawardhani"
    roster = write_xlsx(tmp_path / "r.xlsx", people)
    assert run_at_terminal(["roster", "import", str(roster)], office)[0] == 0
    code, screen = run_at_terminal(["applicants", "list"], office, width=80)
    assert code == 0, screen
    lines = screen.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, screen
    with sqlite3.connect(office / "prakerja.db") as conn:
        stored = conn.execute("SELECT registration_number, nik FROM applicants").fetchall()
    for number, nik in stored:
        # The registration number and the masked NIK are on one line each, never cut.
        assert any(number in line and f"{nik[:4]}**********{nik[-2:]}" in line for line in lines)
    # A long name wraps onto more lines rather than being cut with an ellipsis.
    assert "…" not in screen
    assert "SEKAR" in screen and "KEDATON" in screen


def test_the_api_token_is_asked_without_echo_and_never_needs_the_command_line(
    office: Path,
) -> None:
    terminal = Terminal(["config", "set", "api_token"], office)
    terminal.expect(r"Token API \(tidak tampil saat diketik\)")
    terminal.line("rahasia-kantor-3273")
    code, screen = terminal.close()
    assert code == 0, screen
    assert "rahasia-kantor-3273" not in screen  # not echoed as typed, nor printed back
    assert 'api_token = "rahasia-kantor-3273"' in (office / "config.toml").read_text()


def test_a_sheet_name_with_escape_sequences_reaches_the_terminal_written_out(
    office: Path, tmp_path: Path
) -> None:
    """A sheet named with ESC sequences (clear the screen, set the window title) is shown as
    text at a real terminal; the sequences themselves never reach it."""
    import zipfile

    from test_proof_malformed import rezip

    base = write_xlsx(tmp_path / "base.xlsx", [person(1)], title=False)
    with zipfile.ZipFile(base) as z:
        book = z.read("xl/workbook.xml")
    renamed = book.replace(b'name="Sheet"', b'name="Data&#x1b;[2J&#x1b;]0;x&#x7;"')
    roster = rezip(base, tmp_path / "daftar.xlsx", replace={"xl/workbook.xml": renamed})
    terminal = Terminal(["roster", "import", str(roster)], office)
    code, screen = terminal.close()
    raw = "".join(terminal._seen)
    assert code == 0, screen
    assert "\x1b[2J" not in raw and "\x1b]0;x" not in raw
    assert "Data\\x1b[2J\\x1b]0;x\\x07" in screen
