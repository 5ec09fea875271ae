"""What differs on Windows: open files cannot be moved or deleted, names ignore case, folder names
hold characters a URI reserves. Run on Linux with Windows' file rules emulated (tests/windows.py)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path, PureWindowsPath

import pytest

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.backup import read_only_uri
from prakerja_cli.store.engine import dbapi
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import INIT_ARGS, applicant_args, invoke
from tests.windows import WindowsFiles

# -- init ---------------------------------------------------------------------------------------


def test_a_failed_migration_closes_the_store_so_init_can_remove_it(
    monkeypatch: pytest.MonkeyPatch, windows_files: WindowsFiles
) -> None:
    from prakerja_cli.store.migrations import MIGRATIONS

    def fails(*args: object) -> None:
        raise dbapi.OperationalError("disk I/O error")

    monkeypatch.setattr(type(MIGRATIONS), "apply", fails)
    with windows_files.active():
        run = invoke(INIT_ARGS)
    assert run.exit_code == 1 and "disk I/O error" in run.stderr
    assert windows_files.refused == []  # the connection was closed before the files went
    assert not Path(os.environ["PRAKERJA_HOME"]).exists()


def test_a_file_init_cannot_remove_does_not_hide_why_init_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An antivirus scanning the new database holds it open; the clerk still reads the cause."""
    import prakerja_cli.office

    def save_fails(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", "config.toml")

    real_unlink = os.unlink

    def scanned(path: object, *args: object, **kwargs: object) -> None:
        if str(path).endswith("prakerja.db"):
            raise PermissionError(13, "in use", str(path))
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(prakerja_cli.office, "save_config", save_fails)
    monkeypatch.setattr(os, "unlink", scanned)
    run = invoke(INIT_ARGS)
    assert run.exit_code == 1 and "Traceback" not in run.stderr
    assert "Disk penuh saat menulis config.toml" in run.stderr  # not the failed clean-up


# -- backup and restore -------------------------------------------------------------------------


def _register(serial: int) -> None:
    nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
    assert invoke(applicant_args(nik=nik, kk=f"32730101011{serial:05d}")).exit_code == 0


def test_backup_and_restore_close_every_file_before_moving_it(
    office: Path, tmp_path: Path, windows_files: WindowsFiles
) -> None:
    _register(1)
    with windows_files.active():
        made = invoke(["backup", str(tmp_path / "b"), "--json"])
        assert made.exit_code == 0, made.stderr
        _register(2)
        run = invoke(["restore", made.json()["file"], "--yes", "--json"])
    assert run.exit_code == 0, run.stderr
    assert windows_files.refused == []
    assert len(invoke(["applicants", "list", "--json"]).json()) == 1
    assert not any(p.name.endswith((".restoring", "-wal", "-shm")) for p in office.iterdir() if
                   p.name.startswith(".") or "before-restore" in p.name)  # fmt: skip
    assert invoke(["audit", "verify"]).exit_code == 0


def test_restore_refuses_while_another_process_has_the_store_open(
    office: Path, tmp_path: Path, windows_files: WindowsFiles
) -> None:
    """On Windows the move would fail half-way; on POSIX the other desk would go on writing into
    the set-aside copy. Either way: refuse, change nothing, say what to close."""
    _register(1)
    made = invoke(["backup", str(tmp_path / "b"), "--json"]).json()["file"]
    _register(2)
    other = sqlite3.connect(office / "prakerja.db")  # a clerk's register form, still open
    try:
        other.execute("SELECT count(*) FROM applicants").fetchone()
        with windows_files.active():
            run = invoke(["restore", made, "--yes"])
    finally:
        other.close()
    assert run.exit_code == 1 and "Traceback" not in run.stderr
    assert "sedang dibuka oleh proses prakerja lain" in run.stderr
    assert "Tutup jendela prakerja lain" in run.stderr
    assert len(invoke(["applicants", "list", "--json"]).json()) == 2  # nothing changed
    assert sorted(p.name for p in office.iterdir() if "restor" in p.name) == []
    assert invoke(["restore", made, "--yes"]).exit_code == 0  # once it is closed


def test_restore_replaces_a_damaged_store(office: Path, tmp_path: Path) -> None:
    _register(1)
    made = invoke(["backup", str(tmp_path / "b"), "--json"]).json()["file"]
    store = office / "prakerja.db"
    store.write_bytes(b"not a database at all" * 200)
    run = invoke(["restore", made, "--yes", "--json"])
    assert run.exit_code == 0, run.stderr
    assert Path(run.json()["set_aside"]).read_bytes().startswith(b"not a database")
    assert len(invoke(["applicants", "list", "--json"]).json()) == 1


def test_rotation_removes_only_the_backups_it_made(office: Path, tmp_path: Path) -> None:
    """Windows globs ignore case, and a clerk keeps a hand-named copy in the same folder."""
    folder = tmp_path / "cadangan"
    folder.mkdir()
    mine = [folder / "prakerja-sebelum-pindah.db", folder / "PRAKERJA-CATATAN.DB"]
    for path in mine:
        path.write_bytes(b"kept")
    assert invoke(["backup", str(folder / "prakerja-akhir-tahun.db")]).exit_code == 0
    for _ in range(3):
        assert invoke(["backup", str(folder), "--keep", "1"]).exit_code == 0
    names = sorted(p.name for p in folder.iterdir())
    assert [n for n in names if n.startswith("prakerja-2")] != []
    assert len([n for n in names if n.startswith("prakerja-2")]) == 1
    assert {"prakerja-sebelum-pindah.db", "PRAKERJA-CATATAN.DB", "prakerja-akhir-tahun.db"} <= set(
        names
    )


@pytest.mark.parametrize("folder", ["Cadangan #2", "cadangan 100%20", "a?b"])
def test_backups_in_folders_with_uri_characters_restore(
    office: Path, tmp_path: Path, folder: str
) -> None:
    _register(1)
    made = invoke(["backup", str(tmp_path / folder), "--json"])
    assert made.exit_code == 0, made.stderr
    run = invoke(["restore", made.json()["file"], "--yes"])
    assert run.exit_code == 0, run.stderr


def test_a_windows_backup_path_is_a_read_only_uri_sqlite_reads() -> None:
    path = PureWindowsPath(r"D:\Cadangan #2\100%\prakerja-20261123-013000-000000.db")
    assert read_only_uri(path) == (
        r"file:D:\Cadangan %232\100%25\prakerja-20261123-013000-000000.db?mode=ro"
    )
    unc = PureWindowsPath(r"\\nas\cadangan\prakerja.db")
    assert read_only_uri(unc) == r"file:\\nas\cadangan\prakerja.db?mode=ro"  # no URI authority


# -- roster import ------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["link", "dotdot"])
def test_an_error_report_named_like_the_roster_does_not_replace_it(
    office: Path, tmp_path: Path, spelling: str
) -> None:
    """On Windows `--errors DAFTAR.xlsx` names the roster daftar.xlsx itself; here a symlink
    stands for the other spelling of the same file."""
    from rosters import person, write_xlsx

    roster = write_xlsx(tmp_path / "daftar.xlsx", [person(1), person(2)])
    before = roster.read_bytes()
    if spelling == "link":
        other = tmp_path / "DAFTAR.xlsx"
        other.symlink_to(roster)
    else:
        (tmp_path / "sub").mkdir()
        other = tmp_path / "sub" / ".." / "daftar.xlsx"
    run = invoke(["roster", "import", str(roster), "--errors", str(other)])
    assert run.exit_code == 2 and "akan menimpa berkas daftar" in run.stderr
    assert roster.read_bytes() == before
    assert invoke(["applicants", "list", "--json"]).json() == []
    done = invoke(["roster", "import", str(roster), "--errors", str(tmp_path / "perbaikan.xlsx")])
    assert done.exit_code == 0 and roster.read_bytes() == before


# -- demo ---------------------------------------------------------------------------------------


def test_the_demo_shows_commands_as_cmd_exe_takes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from prakerja_cli.demo import shown_command

    args = ["register", "--name", "Siti Aminah", "--errors", r"C:\Users\rina\Temp\perbaikan.xlsx"]
    assert shown_command(args) == (
        r"register --name 'Siti Aminah' --errors 'C:\Users\rina\Temp\perbaikan.xlsx'"
    )
    monkeypatch.setattr(sys, "platform", "win32")
    assert shown_command(args) == (
        r'register --name "Siti Aminah" --errors C:\Users\rina\Temp\perbaikan.xlsx'
    )


# -- where data lives ---------------------------------------------------------------------------


def test_the_app_directory_is_named_where_windows_really_keeps_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Microsoft Store Python redirects %LOCALAPPDATA%\\prakerja to a private folder; a link
    stands for that redirection here."""
    import sys

    import platformdirs

    from prakerja_cli.config import app_dir

    real = tmp_path / "Packages" / "PythonSoftwareFoundation.Python.3.12" / "prakerja"
    shown = tmp_path / "Local" / "prakerja"
    monkeypatch.delenv("PRAKERJA_HOME")
    monkeypatch.setattr(platformdirs, "user_data_path", lambda *a, **k: shown)
    monkeypatch.setattr(sys, "platform", "win32")
    assert app_dir() == shown  # not made yet: nothing to resolve
    real.mkdir(parents=True)
    shown.parent.mkdir()
    shown.symlink_to(real, target_is_directory=True)
    assert app_dir() == real
    monkeypatch.setattr(sys, "platform", "linux")
    assert app_dir() == shown  # elsewhere a link the user made is the user's business


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_excel_unicode_text_is_refused_with_the_way_out(
    office: Path, tmp_path: Path, encoding: str
) -> None:
    """Excel's "Unicode Text (*.txt)" is UTF-16 with tabs: name it and how to save instead,
    rather than "not a spreadsheet kind... use .txt" for a .txt."""
    from rosters import person, write_csv

    path = tmp_path / "daftar.txt"
    write_csv(path, [person(1)], delimiter="\t", encoding=encoding)
    if encoding == "utf-16-be":  # the codec writes no BOM of its own; Excel does
        path.write_bytes(b"\xfe\xff" + path.read_bytes())
    run = invoke(["roster", "import", str(path)])
    assert run.exit_code == 2 and "Traceback" not in run.stderr
    assert "Teks Unicode (UTF-16)" in run.stderr and "CSV UTF-8" in run.stderr


# -- errors Windows names only by number --------------------------------------------------------


def _winerror(code: int, errno_: int, text: str, path: str) -> OSError:
    exc = OSError(errno_, text, path)  # what CPython builds from a Windows error
    exc.winerror = code  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    ("code", "errno_", "reason"),
    [
        (123, 22, "nama tidak sah di Windows"),  # EINVAL: a traceback before
        (21, 13, "perangkat belum siap"),  # EACCES: "access denied" before
        (206, 2, "jalurnya terlalu panjang"),  # ENOENT: "does not exist" before
        (19, 13, "hanya dapat dibaca"),
    ],
)
def test_windows_errors_are_named_by_their_number(code: int, errno_: int, reason: str) -> None:
    from prakerja_cli.errors import from_os_error

    mapped = from_os_error(_winerror(code, errno_, "text from Windows", r"E:\cadangan"))
    assert mapped is not None and mapped.key == "error.os"
    assert mapped.params["reason"].startswith(reason)


def test_an_invalid_windows_name_is_one_line_not_a_traceback(
    office: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if "?" in self.name:
            raise _winerror(123, 22, "The filename syntax is incorrect", str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", mkdir)
    run = invoke(["backup", r"D:\cadangan?"])
    assert run.exit_code == 1 and "Traceback" not in run.stderr
    assert "nama tidak sah di Windows" in run.stderr


def test_quotes_cmd_exe_keeps_in_prakerja_home_are_dropped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prakerja_cli.config import app_dir

    monkeypatch.setenv("PRAKERJA_HOME", f'"{tmp_path / "kantor"}" ')
    assert app_dir() == tmp_path / "kantor"


# -- config and key files -----------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["win32", "linux"])
def test_a_config_file_someone_has_open_for_a_moment_is_still_replaced_on_windows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, platform: str
) -> None:
    """Another prakerja reading config.toml, or an antivirus scanning it, holds it open briefly."""
    import sys
    import time

    from prakerja_cli.config import write_private

    target = tmp_path / "config.toml"
    target.write_bytes(b"old")
    real_replace, busy = os.replace, [2]

    def replace(src: object, dst: object) -> None:
        if busy[0]:
            busy[0] -= 1
            raise _winerror(32, 13, "The process cannot access the file", str(dst))
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    monkeypatch.setattr(sys, "platform", platform)
    if platform == "win32":
        assert write_private(target, b"new") and target.read_bytes() == b"new"
    else:  # POSIX never refuses for an open file: a PermissionError there is real
        with pytest.raises(PermissionError):
            write_private(target, b"new")
        assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temporary file left


def test_the_daily_commands_never_move_or_delete_a_file_they_hold_open(
    office: Path, tmp_path: Path, windows_files: WindowsFiles
) -> None:
    """The clerk's and office IT's day under Windows' file rules."""
    from rosters import person, write_xlsx

    roster = write_xlsx(tmp_path / "daftar.xlsx", [person(1), person(2)])
    with windows_files.active():
        _register(1)
        for _ in range(2):  # the second run replaces each file it wrote
            assert invoke(["export", str(tmp_path / "rekap.csv"), "--force"]).exit_code == 0
            assert invoke(["export", str(tmp_path / "rekap.xlsx"), "--force"]).exit_code == 0
            template = ["roster", "template", str(tmp_path / "templat.xlsx"), "--force"]
            assert invoke(template).exit_code == 0
            report = ["--errors", str(tmp_path / "p.xlsx"), "--force"]
            run = invoke(["roster", "import", str(roster), *report])
            assert run.exit_code == 0, run.stderr
            single = ["backup", str(tmp_path / "mingguan.db"), "--force"]
            assert invoke(single).exit_code == 0
            assert invoke(["backup", str(tmp_path / "b"), "--keep", "1"]).exit_code == 0
        assert invoke(["purge", "--verified-before", "2024-01-01", "--yes"]).exit_code == 0
        assert invoke(["config", "set", "operator", "Budi"]).exit_code == 0
        assert invoke([*INIT_ARGS, "--force"]).exit_code == 0
        made = invoke(["backup", str(tmp_path / "c"), "--json"]).json()["file"]
        assert invoke(["restore", made, "--yes"]).exit_code == 0
        assert invoke(["doctor"]).exit_code in (0, 1)
    assert windows_files.refused == []
