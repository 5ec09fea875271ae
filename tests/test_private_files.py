"""Another local account on the desk PC (issue 14, finding 4): the app folder, the key and config
files, backups, exports and error reports are owner-only from the moment they exist. The attack
runs for real as another user where the tests run as root (CI does); the modes are checked
everywhere on POSIX."""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from rosters import person, write_xlsx

from tests.conftest import INIT_ARGS, invoke

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX modes; Windows ACLs: docs")

NOBODY = 65534

#: Run as another account: print every file it can reach under the folder given.
_READER = 'find "$1" -type f -exec cat {} + 2>/dev/null; true'


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder every account may enter, as C:\\Users\\Public or /srv/kantor would be; the app
    directory is made inside it."""
    top = Path(tempfile.mkdtemp(prefix="prakerja-shared-"))
    top.chmod(0o755)
    monkeypatch.setenv("PRAKERJA_HOME", str(top / "home"))
    try:
        yield top
    finally:
        subprocess.run(["rm", "-rf", str(top)], check=False)


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_every_file_the_desk_writes_is_owner_only(shared: Path) -> None:
    old = os.umask(0o022)  # the usual default: files 0644 unless made otherwise
    try:
        assert invoke(INIT_ARGS).exit_code == 0
        assert invoke(["config", "set", "api_token", "rahasia-kantor"]).exit_code == 0
        roster = write_xlsx(shared / "r.xlsx", [person(1), person(2, NIK="123")])
        run = invoke(["roster", "import", str(roster), "--errors", str(shared / "fix.xlsx")])
        assert run.exit_code == 3
        for args in (["export", str(shared / "rekap.xlsx"), "--reveal"],
                     ["export", str(shared / "rekap.csv"), "--reveal"],
                     ["backup", str(shared / "cadangan")],
                     ["bundle", "key", str(shared / "meja.prakerja-key")]):  # fmt: skip
            assert invoke(args).exit_code == 0, args
    finally:
        os.umask(old)
    home = shared / "home"
    written = [home, *home.iterdir(), shared / "fix.xlsx", shared / "rekap.xlsx",
               shared / "rekap.csv", *(shared / "cadangan").iterdir()]  # fmt: skip
    assert (home / "bundle.key").exists()  # the bundle keys' secret half
    assert [p.name for p in written if not private(p)] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another account needs root")
def test_another_account_reads_no_nik_and_no_token(shared: Path) -> None:
    assert invoke(INIT_ARGS).exit_code == 0
    assert invoke(["config", "set", "api_token", "rahasia-kantor"]).exit_code == 0
    people = [person(1), person(2)]
    assert invoke(["roster", "import", str(write_xlsx(shared / "r.xlsx", people))]).exit_code == 0
    assert invoke(["export", str(shared / "rekap.xlsx"), "--reveal"]).exit_code == 0
    assert invoke(["export", str(shared / "rekap.csv"), "--reveal"]).exit_code == 0
    assert invoke(["backup", str(shared / "rekap-cadangan.db")]).exit_code == 0
    (shared / "pengumuman.txt").write_text("kontrol-terbaca")  # a file meant for everyone
    (shared / "pengumuman.txt").chmod(0o644)

    def as_nobody() -> None:
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    seen = subprocess.run(
        # cwd "/": the checkout may sit in a folder only its owner enters (CI clones into
        # `mktemp -d`, mode 0700), and find cannot start from a folder it may not enter.
        ["sh", "-c", _READER, "sh", str(shared)], preexec_fn=as_nobody, cwd="/",
        capture_output=True, check=True, timeout=60,
    ).stdout.decode("latin-1")  # fmt: skip
    assert "kontrol-terbaca" in seen  # the reader does read what it may
    assert "rahasia-kantor" not in seen
    assert [p["NIK"] for p in people if p["NIK"] in seen] == []
