"""Expected failures end in one clear line and an exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import applicant_args, invoke


def _prakerja(home: Path, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRAKERJA_HOME": str(home)}
    if debug:
        env["PRAKERJA_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "prakerja_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_corrupt_database_is_one_line_without_traceback(office: Path) -> None:
    for name in ("prakerja.db-wal", "prakerja.db-shm"):
        (office / name).unlink(missing_ok=True)
    (office / "prakerja.db").write_bytes(b"garbage" * 1000)
    done = _prakerja(office, "applicants", "list")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "rusak" in done.stderr
    assert done.stdout == ""


def test_debug_switch_shows_the_traceback(office: Path) -> None:
    (office / "prakerja.db").write_bytes(b"garbage" * 1000)
    done = _prakerja(office, "applicants", "list", debug=True)
    assert done.returncode != 0
    assert "Traceback" in done.stderr


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder_is_reported(tmp_path: Path) -> None:
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    try:
        done = _prakerja(home, "init", "--office-code", "3273", "--office-name", "X", "--desk", "D1",
                         "--operator", "Y", "--no-input")  # fmt: skip
    finally:
        home.chmod(0o700)
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr


def test_unwritable_home_path_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    done = _prakerja(blocker / "home", "init", "--office-code", "3273", "--office-name", "X",
                     "--desk", "D1", "--operator", "Y", "--no-input")  # fmt: skip
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.startswith("galat")]) == 1


def test_locked_database_waits_then_succeeds(office: Path) -> None:
    from prakerja_cli.store.engine import dbapi as sqlite3

    holder = sqlite3.connect(office / "prakerja.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prakerja_cli", *applicant_args(), "--json"],
        env={**os.environ, "PRAKERJA_HOME": str(office)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        import time

        time.sleep(1.5)  # the registration is now waiting on the busy timeout, not failing
        assert proc.poll() is None
    finally:
        holder.execute("COMMIT")
        holder.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "locked" not in err
    assert (
        invoke(["applicants", "list", "--json"]).json()[0]["registration_number"]
        == "3273-D01-000001"
    )
    assert '"stored": true' in out


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        (["export", "{dir}"], "mis. {dir}/rekap.xlsx"),
        (["roster", "template", "{dir}", "--force"], "mis. {dir}/template_pendaftar.xlsx"),
        (["roster", "import", "{roster}", "--errors", "{dir}"], "mis. {dir}/perbaikan.xlsx"),
        (["roster", "import", "{dir}"], "termasuk nama dan akhirannya"),
        (["restore", "{dir}"], "termasuk nama dan akhirannya"),
        (["refdata", "load", "{dir}"], "termasuk nama dan akhirannya"),
    ],
)
def test_a_folder_given_for_a_file_is_named_as_a_folder(
    office: Path, tmp_path: Path, args: list[str], fix: str
) -> None:
    """Was: "suffix - is not supported", "file does not exist", "already exists", or (refdata)
    exit 1 pointing at the data folder's permissions."""
    folder = tmp_path / "kiriman.xlsx"  # a folder with a file's suffix, too
    folder.mkdir()
    roster = tmp_path / "desa.csv"
    roster.write_text("NIK;Nama;No KK\n", encoding="utf-8")
    filled = [a.format(dir=folder, roster=roster) for a in args]
    run = invoke(filled)
    assert run.exit_code == 2
    error, hint = run.stderr.splitlines()
    assert error == f"galat: {folder} adalah folder, bukan berkas."
    assert hint.startswith("saran: ") and fix.format(dir=folder) in hint


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (["nik", "--jsn", "3273015708900001"], "Opsi --jsn tidak dikenal.",
         "Mungkin maksudnya --json. Lihat juga `prakerja nik --help`."),
        (["--lnag", "en", "nik", "1"], "Opsi --lnag tidak dikenal.",
         "Mungkin maksudnya --lang. Lihat juga `prakerja --help`."),
        (["applicants", "edit", "3273-D01-000001"], "Opsi --set wajib diisi.",
         "Lihat opsi dan contohnya: `prakerja applicants edit --help`."),
        (["nik"], "NIK belum ditulis sesudah `prakerja nik`.",
         "Lihat opsi dan contohnya: `prakerja nik --help`."),
        (["applicants", "list", "--limit", "lima"], "--limit harus berupa angka.",
         "Lihat opsi dan contohnya: `prakerja applicants list --help`."),
        # Was cut to 1000 without a word, then click's English "5000 is not in the range".
        (["sync", "--batch-size", "5000"], "--batch-size harus antara 1 dan 1000 (tertulis 5000).",
         "Lihat opsi dan contohnya: `prakerja sync --help`."),
        # A bound on one side only was "Nilai --jobs tidak sah (0 is not in the range x>=1.)".
        (["roster", "import", "r.xlsx", "--jobs", "0"], "--jobs paling kecil 1 (tertulis 0).",
         "Lihat opsi dan contohnya: `prakerja roster import --help`."),
        (["applicants", "lst"], "Perintah lst tidak dikenal.",
         "Mungkin maksudnya list. Lihat juga `prakerja applicants --help`."),
        (["register", "--name", "Siti", "Aminah"], "Ada kata yang tidak dikenali: Aminah.",
         'Isian yang memuat spasi (nama, alamat) harus diapit tanda kutip, mis. --name "Siti '
         'Aminah". Lihat juga `prakerja register --help`.'),
    ],
)  # fmt: skip
def test_a_command_line_the_parser_refuses_is_one_line_in_the_clerks_language(
    office: Path, args: list[str], error: str, hint: str
) -> None:
    """Was the parser's English: "Usage: ..." and "Error: No such option: --jsn"."""
    run = invoke(args)
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [f"galat: {error}", f"saran: {hint}"]


def test_a_refused_command_line_under_json_is_one_document_in_english_on_request(
    office: Path,
) -> None:
    run = invoke(["--lang", "en", "applicants", "list", "--stat", "valid", "--json"])
    assert run.exit_code == 2
    assert run.json() == {
        "error": "usage",
        "message": "Unknown option --stat.",
        "hint": "Perhaps you meant --district, --status, --today. See also "
        "`prakerja applicants list --help`.",
        "exit_code": 2,
    }
