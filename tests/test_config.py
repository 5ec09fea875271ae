"""The office key and config files: written in binary, atomically, never half-written or silently
replaced."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from prakerja_cli.config import install_key, key_path, office_key, write_private
from prakerja_cli.errors import ConfigError


def test_office_key_is_made_once_owner_only_and_kept() -> None:
    with pytest.raises(ConfigError) as caught:
        office_key()  # never made unless asked
    assert caught.value.key == "error.office_key_missing" and not key_path().exists()
    key = office_key(create=True)
    assert len(key) == 32 and key_path().read_bytes() == key
    assert office_key() == key and office_key(create=True) == key
    if sys.platform != "win32":
        assert key_path().stat().st_mode & 0o077 == 0
    assert [p.name for p in key_path().parent.iterdir()] == ["office.key"]  # no temp file left


def test_write_private_without_overwrite_keeps_the_key_another_process_made(tmp_path: Path) -> None:
    path = tmp_path / "office.key"
    assert write_private(path, b"a" * 32, overwrite=False) is True
    assert write_private(path, b"b" * 32, overwrite=False) is False
    assert path.read_bytes() == b"a" * 32
    assert write_private(path, b"c" * 32) is True
    assert path.read_bytes() == b"c" * 32
    assert [p.name for p in tmp_path.iterdir()] == ["office.key"]


def test_write_private_without_hard_links_still_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError("not supported")  # e.g. a FAT-formatted USB stick

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "office.key"
    assert write_private(path, b"a" * 32, overwrite=False) is True
    assert write_private(path, b"b" * 32, overwrite=False) is False
    assert path.read_bytes() == b"a" * 32


def test_a_failed_write_leaves_the_old_key_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "office.key"
    write_private(path, b"a" * 32)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        write_private(path, b"b" * 32)
    assert path.read_bytes() == b"a" * 32
    assert [p.name for p in tmp_path.iterdir()] == ["office.key"]


def test_a_short_key_file_is_refused_not_used() -> None:
    key_path().parent.mkdir(parents=True)
    key_path().write_bytes(b"")  # what a crash used to leave
    with pytest.raises(ConfigError) as caught:
        office_key()
    assert caught.value.key == "error.office_key_broken"
    assert key_path().read_bytes() == b""  # not replaced by a new key


def test_install_key_sets_a_different_key_aside() -> None:
    old = office_key(create=True)
    assert install_key(old, "20261130-010203") == (False, None)
    changed, aside = install_key(b"n" * 32, "20261130-010203")
    assert changed and aside is not None
    assert aside.name == "office.before-restore-20261130-010203.key"
    assert aside.read_bytes() == old and office_key() == b"n" * 32
