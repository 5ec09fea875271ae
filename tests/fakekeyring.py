"""An OS keyring for the tests: a JSON file outside the app folder, standing for Windows
Credential Manager (which the thief of the disk does not get with it: it is bound to the Windows
account's logon secret by DPAPI). Subprocesses use it through PYTHON_KEYRING_BACKEND with this
folder on PYTHONPATH and PRAKERJA_TEST_KEYRING naming the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @staticmethod
    def _path() -> Path:
        return Path(os.environ["PRAKERJA_TEST_KEYRING"])

    def _read(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._path().read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._read()
        entries[f"{service}/{username}"] = password
        self._path().write_text(json.dumps(entries), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        entries = self._read()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(username)
        self._path().write_text(json.dumps(entries), encoding="utf-8")
