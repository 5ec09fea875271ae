"""Encryption at rest (store/engine.py, store/crypt.py, prakerja_cli/vault.py), attacked as a thief
with a copy of the disk would: every file of the app folder read byte by byte."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakekeyring import FileKeyring

from prakerja_cli.store.engine import PLAIN_HEADER, is_encrypted
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke
from tests.rosters import person, write_csv

TOKEN = "tok-Rahasia-9f8e7d6c5b4a"
TESTS = Path(__file__).parent


@pytest.fixture
def keyring_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The OS keyring, kept outside the app folder (a thief of the disk does not get it)."""
    import keyring.core

    path = tmp_path / "os-keyring.json"
    monkeypatch.setenv("PRAKERJA_TEST_KEYRING", str(path))
    monkeypatch.setattr(keyring.core, "_keyring_backend", FileKeyring())
    yield path


def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring.core
    from keyring.backends import fail

    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())


def _people(count: int) -> list[dict[str, object]]:
    return [
        person(i, **{"Nama Sesuai KTP": f"Wulandari Kusumaningtyas {chr(65 + i % 26)}"})
        for i in range(count)
    ]


def _secrets_of(people: list[dict[str, object]]) -> list[bytes]:
    values: list[str] = [TOKEN, "Kusumaningtyas", "KUSUMANINGTYAS", "Setiabudi", "SETIABUDI"]
    for p in people:
        values += [str(p["NIK"]), str(p["No. KK"]), str(p["No HP"])[1:]]
    return [v.encode() for v in values]


def _filled_office(office: Path, tmp_path: Path, count: int = 40) -> list[dict[str, object]]:
    people = _people(count)
    run = invoke(["roster", "import", str(write_csv(tmp_path / "r.csv", people))])
    assert run.exit_code == 0, run.stderr
    assert invoke(["config", "set", "api_token", "-"], TOKEN + "\n", terminal=False).exit_code == 0
    assert invoke(["backup"]).exit_code == 0
    return people


def _leaks(folder: Path, needles: list[bytes]) -> list[str]:
    """What `grep -a` of every file under `folder` finds (file: needle)."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in needles if n in data]
    return found


def test_a_stolen_copy_of_an_encrypted_desk_holds_no_nik_name_or_token(
    office: Path, tmp_path: Path, keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _filled_office(office, tmp_path)
    usb = tmp_path / "usb"
    usb.mkdir()
    assert invoke(["bundle", "key", str(usb)]).exit_code == 0  # the desk's USB bundle keys
    bundle_keys = json.loads((office / "bundle.key").read_text(encoding="ascii"))
    office_key = (office / "office.key").read_bytes()
    needles = [*_secrets_of(people), office_key, office_key.hex().encode(),
               bundle_keys["age"].encode(), bundle_keys["ed25519"].encode()]  # fmt: skip
    assert _leaks(office, needles)  # the attack finds everything in a plain desk

    run = invoke(["encrypt", "--json"])
    assert run.exit_code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["key"] == "keyring" and doc["applicants"] == 40 and len(doc["backups"]) == 1
    assert re.fullmatch(r"([0-9A-F]{8}-){7}[0-9A-F]{8}", doc["recovery_key"])
    # Work goes on after encryption: another backup, and a registration taken while another
    # desk process keeps the store open, so that it is still in the WAL when the disk is copied.
    assert invoke(["backup"]).exit_code == 0
    from prakerja_cli import vault

    reader = sqlite3.connect(office / "prakerja.db")
    reader.execute(f"PRAGMA key = \"x'{vault.store_key(office / 'prakerja.db').hex()}'\"")
    reader.execute("SELECT count(*) FROM applicants").fetchone()
    assert invoke(applicant_args()).exit_code == 0
    assert (office / "prakerja.db-wal").stat().st_size > 0
    stolen = tmp_path / "stolen"
    shutil.copytree(office, stolen)
    reader.close()
    assert _leaks(stolen, [*needles, b"Siti Aminah", b"SITI AMINAH"]) == []
    assert not any(
        p.read_bytes()[:16] == PLAIN_HEADER for p in stolen.rglob("*") if p.is_file()
    )  # no SQLite file in the clear anywhere, backups included
    assert not (stolen / "office.key").exists() and not (stolen / "bundle.key").exists()
    assert TOKEN not in (stolen / "config.toml").read_text(encoding="utf-8")
    # The thief's copy without the OS keyring: nothing opens, and it says how to get back in.
    monkeypatch.setenv("PRAKERJA_HOME", str(stolen))
    _no_keyring(monkeypatch)
    run = invoke(["applicants", "list"])
    assert run.exit_code == 1 and "kunci" in run.stderr and "Traceback" not in run.stderr
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(stolen / "prakerja.db").execute("SELECT * FROM applicants").fetchall()


def test_the_desk_works_as_before_on_an_encrypted_store(
    office: Path, tmp_path: Path, keyring_file: Path
) -> None:
    _filled_office(office, tmp_path, 5)
    assert invoke(["encrypt"]).exit_code == 0
    listed = invoke(["applicants", "list", "--json"]).json()
    assert len(listed) == 5
    assert invoke(["audit", "verify"]).exit_code == 0
    shown = invoke(["config", "show", "--json"]).json()
    assert shown["api_token"] == "********"  # read from inside the store
    from prakerja_cli.config import load_config
    from prakerja_cli.office import open_workspace

    ws = open_workspace()
    assert ws.config.effective_api()[1] == TOKEN
    ws.db.close()
    assert load_config().api_token == ""
    doctor = invoke(["doctor", "--json"]).json()
    assert {
        k: v for k, v in next(c for c in doctor if c["check"] == "encryption").items()
        if k in ("check", "ok")
    } == {"check": "encryption", "ok": True}  # fmt: skip
    # A new token goes inside the store too.
    assert (
        invoke(["config", "set", "api_token", "-"], "tok-baru-1\n", terminal=False).exit_code == 0
    )
    assert "tok-baru-1" not in (office / "config.toml").read_text(encoding="utf-8")
    again = invoke(["encrypt"])
    assert again.exit_code == 2 and "sudah terenkripsi" in again.stderr


def test_a_plain_desk_says_so_in_doctor(office: Path) -> None:
    checks = invoke(["doctor", "--json"]).json()
    check = next(c for c in checks if c["check"] == "encryption")
    assert check["ok"] is False and check["warning"] is True and "encrypt" in check["fix"]


def test_without_a_keyring_the_key_goes_to_a_key_file_off_the_app_folder(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_keyring(monkeypatch)
    people = _filled_office(office, tmp_path, 3)
    refused = invoke(["encrypt"])
    assert refused.exit_code == 2 and "--key-file" in refused.stderr
    inside = invoke(["encrypt", "--key-file", str(office / "kunci.key")])
    assert inside.exit_code == 2 and "folder aplikasi" in inside.stderr
    assert not is_encrypted(office / "prakerja.db")
    usb = tmp_path / "usb" / "prakerja.key"
    usb.parent.mkdir()
    run = invoke(["encrypt", "--key-file", str(usb)])
    assert run.exit_code == 0, run.stderr
    assert is_encrypted(office / "prakerja.db")
    assert len(invoke(["applicants", "list", "--json"]).json()) == 3
    assert _leaks(office, _secrets_of(people)) == []
    # Bundle keys made after encryption are kept inside too, and still work.
    assert invoke(["bundle", "key", str(tmp_path)]).exit_code == 0
    assert not (office / "bundle.key").exists()
    again = invoke(["bundle", "key", str(tmp_path / "usb"), "--json"])
    assert again.exit_code == 0, again.stderr
    # The USB stick pulled out: the desk stops, naming the fix.
    usb.rename(usb.with_suffix(".away"))
    run = invoke(["applicants", "list"])
    assert run.exit_code == 1 and "prakerja.key" in run.stderr and "prakerja unlock" in run.stderr


def test_the_recovery_key_brings_the_desk_back_on_another_pc(
    office: Path, tmp_path: Path, keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _filled_office(office, tmp_path, 4)
    recovery = invoke(["encrypt", "--json"]).json()["recovery_key"]
    new_pc = tmp_path / "new-pc"
    shutil.copytree(office, new_pc)
    monkeypatch.setenv("PRAKERJA_HOME", str(new_pc))
    keyring_file.unlink()  # the new PC's keyring has never seen this key
    assert invoke(["applicants", "list"]).exit_code == 1
    wrong = invoke(["unlock", "-"], "0" * 64 + "\n", terminal=False)
    assert wrong.exit_code == 2 and "tidak membuka" in wrong.stderr
    short = invoke(["unlock", "-"], "1234\n", terminal=False)
    assert short.exit_code == 2 and "64 digit" in short.stderr
    typed = recovery.lower().replace("-", " ")  # as copied from paper
    run = invoke(["unlock", "-"], typed + "\n", terminal=False)
    assert run.exit_code == 0, run.stderr
    assert len(invoke(["applicants", "list", "--json"]).json()) == 4


def test_a_failed_encryption_leaves_the_plain_store_and_no_key_behind(
    office: Path, tmp_path: Path, keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _filled_office(office, tmp_path, 3)
    import prakerja_cli.store.crypt as crypt

    _real_flush = crypt._flush

    def power_cut(path: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(crypt, "_flush", power_cut)
    run = invoke(["encrypt"])
    assert run.exit_code == 1 and "tidak berubah" in run.stderr
    assert not is_encrypted(office / "prakerja.db")
    assert not list(office.glob(".prakerja.db.encrypting*"))
    assert json.loads(keyring_file.read_text(encoding="utf-8")) == {}
    assert (office / "office.key").exists()
    assert len(invoke(["applicants", "list", "--json"]).json()) == 3
    monkeypatch.setattr(crypt, "_flush", _real_flush)
    (office / ".prakerja.db.encrypting").write_bytes(b"half a copy from a crash")
    assert invoke(["encrypt"]).exit_code == 0  # the leftover is removed, then it works
    assert len(invoke(["applicants", "list", "--json"]).json()) == 3


def test_encryption_is_refused_while_another_process_has_the_store_open(
    office: Path, keyring_file: Path
) -> None:
    holder = sqlite3.connect(office / "prakerja.db")
    holder.execute("SELECT count(*) FROM applicants").fetchone()
    try:
        run = invoke(["encrypt"])
    finally:
        holder.close()
    assert run.exit_code == 1 and "sedang dipakai" in run.stderr
    assert not is_encrypted(office / "prakerja.db")


def test_backups_restore_under_the_offices_key_and_another_key_is_named(
    office: Path, tmp_path: Path, keyring_file: Path
) -> None:
    _filled_office(office, tmp_path, 3)
    plain_copy = tmp_path / "plain-before.db"
    assert invoke(["backup", str(plain_copy)]).exit_code == 0  # outside the app folder: stays plain
    assert invoke(["encrypt"]).exit_code == 0
    copy = tmp_path / "encrypted.db"
    assert invoke(["backup", str(copy)]).exit_code == 0
    assert is_encrypted(copy)
    assert invoke(applicant_args()).exit_code == 0
    run = invoke(["restore", str(copy), "--yes"])
    assert run.exit_code == 0, run.stderr
    assert is_encrypted(office / "prakerja.db")
    assert len(invoke(["applicants", "list", "--json"]).json()) == 3
    assert invoke(["audit", "verify"]).exit_code == 0
    # A plain backup from before is restored encrypted: the office's protection, not the file's.
    run = invoke(["restore", str(plain_copy), "--yes"])
    assert run.exit_code == 0, run.stderr
    assert is_encrypted(office / "prakerja.db")
    assert not (office / "office.key").exists()
    # A backup under another key (another PC's, another office's): named as such, nothing replaced.
    from prakerja_cli import vault
    from prakerja_cli.store.engine import copy_database

    rekeyed = tmp_path / "rekeyed.db"
    copy_database(copy, vault.store_key(office / "prakerja.db"), rekeyed, vault.new_key())
    before = (office / "prakerja.db").read_bytes()
    run = invoke(["restore", str(rekeyed), "--yes"])
    assert run.exit_code == 2 and "kunci lain" in run.stderr
    assert (office / "prakerja.db").read_bytes() == before


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect.spawn is POSIX")
def test_unlock_asks_for_the_recovery_key_at_a_terminal(
    office: Path, tmp_path: Path, keyring_file: Path
) -> None:
    from terminal import Terminal

    recovery = invoke(["encrypt", "--json"]).json()["recovery_key"]
    keyring_file.unlink()
    env = {
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "PYTHON_KEYRING_BACKEND": "fakekeyring.FileKeyring",
        "PRAKERJA_TEST_KEYRING": str(keyring_file),
    }
    terminal = Terminal(["unlock"], office, env=env)
    terminal.answer("Kunci pemulihan", recovery)
    code, screen = terminal.close()
    assert code == 0, screen
    assert "Traceback" not in screen and "keyring" in screen
    listed = Terminal(["applicants", "list"], office, env=env)
    code, screen = listed.close()
    assert code == 0 and "Traceback" not in screen, screen


def test_a_new_desk_is_encrypted_at_init_where_a_keyring_keeps_the_key(
    tmp_path: Path, keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import INIT_ARGS

    home = tmp_path / "new-desk"
    monkeypatch.setenv("PRAKERJA_HOME", str(home))
    run = invoke(INIT_ARGS)
    assert run.exit_code == 0, run.stderr
    assert "KUNCI PEMULIHAN" in run.stdout
    assert is_encrypted(home / "prakerja.db") and not (home / "office.key").exists()
    assert invoke(applicant_args()).exit_code == 0
    assert invoke(["audit", "verify"]).exit_code == 0


def test_without_a_keyring_init_says_the_desk_is_not_encrypted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import INIT_ARGS

    home = tmp_path / "plain-desk"
    monkeypatch.setenv("PRAKERJA_HOME", str(home))
    run = invoke([*INIT_ARGS, "--json"])
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["encrypted"] is False
    assert "TIDAK terenkripsi" in run.stderr and "--key-file" in run.stderr
    assert not is_encrypted(home / "prakerja.db")


def test_init_force_on_an_encrypted_desk_keeps_its_key_and_its_trail(
    office: Path, tmp_path: Path, keyring_file: Path
) -> None:
    from tests.conftest import INIT_ARGS

    _filled_office(office, tmp_path, 3)
    assert invoke(["encrypt"]).exit_code == 0
    run = invoke([*INIT_ARGS[:7], "--operator", "Yusuf", "--rules", "normal-2023", "--no-input",
                  "--force"])  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert "TIDAK terenkripsi" not in run.stderr
    assert is_encrypted(office / "prakerja.db")
    assert len(invoke(["applicants", "list", "--json"]).json()) == 3
    verify = invoke(["audit", "verify", "--json"])
    assert verify.exit_code == 0, verify.stdout


def test_restore_folds_the_encrypted_stores_wal_into_the_copy_it_sets_aside(
    office: Path, tmp_path: Path, keyring_file: Path
) -> None:
    _filled_office(office, tmp_path, 2)
    assert invoke(["encrypt"]).exit_code == 0
    copy = tmp_path / "copy.db"
    assert invoke(["backup", str(copy)]).exit_code == 0
    assert invoke(applicant_args()).exit_code == 0  # in the store, not in the backup
    run = invoke(["restore", str(copy), "--yes", "--json"])
    assert run.exit_code == 0, run.stderr
    aside = Path(json.loads(run.stdout)["set_aside"])
    from prakerja_cli import vault

    conn = sqlite3.connect(aside)
    conn.execute(f"PRAGMA key = \"x'{vault.store_key(office / 'prakerja.db').hex()}'\"")
    assert conn.execute("SELECT count(*) FROM applicants").fetchone()[0] == 3
    conn.close()


def _cli(home: Path, args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real `prakerja` process, as a scheduled task or a second console runs it."""
    env = {**os.environ, "PRAKERJA_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "prakerja_cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, check=False, timeout=120)  # fmt: skip


def test_a_backup_of_the_old_pc_comes_back_with_its_recovery_key_on_a_new_encrypted_pc(
    office: Path, tmp_path: Path
) -> None:
    """Each process starts fresh (nothing of the store read before), as at a real desk."""
    people = _people(3)
    old_pc, new_pc = tmp_path / "old-pc", tmp_path / "new-pc"
    shutil.copytree(office, old_pc)
    assert (
        _cli(old_pc, ["roster", "import", str(write_csv(tmp_path / "r.csv", people))]).returncode
        == 0
    )
    assert _cli(old_pc, ["config", "set", "api_token", "-"], TOKEN + "\n").returncode == 0
    enc = _cli(old_pc, ["encrypt", "--key-file", str(tmp_path / "old.key"), "--json"])
    assert enc.returncode == 0, enc.stderr
    recovery = json.loads(enc.stdout)["recovery_key"]
    backup = tmp_path / "from-old-pc.db"
    assert _cli(old_pc, ["backup", str(backup)]).returncode == 0
    # The new PC: set up and encrypted with its own key; the old PC's key file is gone.
    shutil.copytree(office, new_pc)
    assert _cli(new_pc, ["encrypt", "--key-file", str(tmp_path / "new.key")]).returncode == 0
    assert _cli(new_pc, ["config", "set", "api_token", "-"], "tok-pc-baru\n").returncode == 0
    refused = _cli(new_pc, ["restore", str(backup), "--yes"])
    assert refused.returncode == 2 and "--recovery-key" in refused.stderr
    wrong = _cli(new_pc, ["restore", str(backup), "--yes", "--recovery-key"], "0" * 64 + "\n")
    assert wrong.returncode == 2
    run = _cli(new_pc, ["restore", str(backup), "--yes", "--recovery-key", "--json"],
               recovery + "\n")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert is_encrypted(new_pc / "prakerja.db") and not (new_pc / "office.key").exists()
    listed = _cli(new_pc, ["applicants", "list", "--json"])
    assert len(json.loads(listed.stdout)) == 3
    assert _cli(new_pc, ["audit", "verify"]).returncode == 0
    from prakerja_cli.store.engine import connect
    from prakerja_cli.vault import read_key_file

    conn = connect(new_pc / "prakerja.db", key=read_key_file(tmp_path / "new.key"))
    token = conn.execute("SELECT value FROM meta WHERE key = 'api_token'").fetchone()[0]
    conn.close()
    assert token == "tok-pc-baru"  # this PC's token, not the old one's
    assert _leaks(new_pc, [*_secrets_of(people), b"tok-pc-baru"]) == []


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect.spawn is POSIX")
def test_restore_asks_for_the_old_pcs_recovery_key_at_a_terminal(
    office: Path, tmp_path: Path
) -> None:
    from terminal import Terminal

    old_pc, new_pc = tmp_path / "old-pc", tmp_path / "new-pc"
    shutil.copytree(office, old_pc)
    shutil.copytree(office, new_pc)
    enc = _cli(old_pc, ["encrypt", "--key-file", str(tmp_path / "old.key"), "--json"])
    assert enc.returncode == 0, enc.stderr
    backup = tmp_path / "old.db"
    assert _cli(old_pc, ["backup", str(backup)]).returncode == 0
    assert _cli(new_pc, ["encrypt", "--key-file", str(tmp_path / "new.key")]).returncode == 0
    terminal = Terminal(["restore", str(backup), "--yes", "--recovery-key"], new_pc)
    terminal.answer("Kunci pemulihan cadangan itu", json.loads(enc.stdout)["recovery_key"])
    code, screen = terminal.close()
    assert code == 0, screen
    assert "Traceback" not in screen and "Dipulihkan dari old.db" in screen
    assert is_encrypted(new_pc / "prakerja.db")
