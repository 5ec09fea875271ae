"""The interactive `prakerja init` at a real pseudo-terminal (tests/terminal.py): a refused answer
is asked again, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import tomllib
from pathlib import Path

from terminal import Terminal

from prakerja_cli.store.engine import dbapi as sqlite3


def test_a_mistyped_office_code_is_asked_again_and_init_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    terminal = Terminal(["init"], home)
    terminal.answer("Kode kabupaten/kota kantor", "327")  # one digit short
    screen = terminal.answer("Kode kabupaten/kota kantor", "3273")
    assert "galat:" in screen and "327" in screen  # named, then the same question again
    assert "Nama kantor" not in screen
    terminal.answer("Nama kantor", "Disnaker Kota Bandung")
    terminal.answer("Kode meja", "")  # Enter: D01
    terminal.answer("Nama petugas", "Rina")
    terminal.answer("Aturan", "")  # Enter: normal-2023
    code, screen = terminal.close()
    assert code == 0, screen
    assert "Traceback" not in screen
    assert "Disnaker Kota Bandung (Kota Bandung) siap" in screen
    config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    assert (config["office_code"], config["desk"], config["rules"]) == (
        "3273",
        "D01",
        "normal-2023",
    )
    with sqlite3.connect(home / "prakerja.db") as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        regions = conn.execute("SELECT count(*) FROM regions").fetchone()[0]
        applicants = conn.execute("SELECT count(*) FROM applicants").fetchone()[0]
    assert meta["office_code"] == "3273"
    assert regions > 90000
    assert applicants == 0


def test_ctrl_c_during_init_leaves_no_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    terminal = Terminal(["init"], home)
    terminal.answer("Kode kabupaten/kota kantor", "3273")
    terminal.answer("Nama kantor", "Disnaker Kota Bandung")
    terminal.expect(r"(?m)^Kode meja[^\n]*: $")
    terminal.interrupt()
    code, screen = terminal.close()
    assert code == 130, screen
    assert "tidak ada yang disimpan" in screen
    assert "Traceback" not in screen
    assert not (home / "config.toml").exists()
    assert not (home / "prakerja.db").exists()
