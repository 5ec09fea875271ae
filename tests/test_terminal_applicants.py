"""`prakerja applicants withdraw` at a real pseudo-terminal: the question, its default, the undo
(tests/terminal.py)."""

from __future__ import annotations

from pathlib import Path

from terminal import Terminal

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke

NUMBER = "3273-D01-000001"


def status(office: Path) -> str:
    with sqlite3.connect(office / "prakerja.db") as conn:
        row = conn.execute("SELECT status FROM applicants WHERE registration_number = ?", [NUMBER])
        return str(row.fetchone()[0])


def test_withdraw_asks_at_the_terminal_and_enter_keeps_the_registration(office: Path) -> None:
    assert invoke(applicant_args()).exit_code == 0
    args = ["applicants", "withdraw", NUMBER, "--reason", "Salah input"]
    terminal = Terminal(args, office)
    terminal.expect(r"Batalkan pendaftaran 3273-D01-000001 \(SITI AMINAH\)\?.*Enter = tidak\): ")
    terminal.line()  # Enter: the default is no
    code, screen = terminal.close()
    assert code == 130, screen
    assert "Dibatalkan; tidak ada yang diubah." in screen
    assert status(office) == "valid"

    terminal = Terminal(args, office)
    terminal.expect(r"Enter = tidak\): ")
    terminal.line("ya")
    code, screen = terminal.close()
    assert code == 0, screen
    assert "3273-D01-000001 dibatalkan; datanya tetap disimpan." in screen
    assert status(office) == "withdrawn"

    terminal = Terminal(["applicants", "withdraw", NUMBER, "--undo"], office)
    code, screen = terminal.close()  # the undo asks nothing
    assert code == 0, screen
    assert "Pembatalan 3273-D01-000001 diurungkan; status: Sah." in screen
    assert status(office) == "valid"
