"""The audit chain's anchor outside the PC (issue 14, finding 5): each sync sends the chain's head
to the central system, which keeps it; a chain truncated or rewritten since is found at the next
sync against the real reference server, and `audit verify` and `doctor` then say so."""

from __future__ import annotations

from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from centralserver import TOKEN, central

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import applicant_args, invoke


def register(serial: int) -> None:
    nik = synthetic_nik("327301", date(1990, 8, 17), "P", serial)
    run = invoke(applicant_args(nik=nik, kk=f"32730101011{serial:05d}"))
    assert run.exit_code == 0, run.stderr


def sync(url: str) -> tuple[int, dict[str, Any], str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRAKERJA_API_URL", url)
        mp.setenv("PRAKERJA_API_TOKEN", TOKEN)
        run = invoke(["sync", "--json"])
    return run.exit_code, dict(run.json()), run.stderr


def truncate(office: Path, keep: int) -> None:
    """What a clerk without the office key can do: drop the newest entries and move the head."""
    with closing(sqlite3.connect(office / "prakerja.db")) as conn, conn:
        (digest,) = conn.execute("SELECT hash FROM audit WHERE seq = ?", [keep]).fetchone()
        conn.execute("DELETE FROM audit WHERE seq > ?", [keep])
        conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", [f"{keep}:{digest}"])


def test_truncating_the_trail_is_found_at_the_next_sync(office: Path, tmp_path: Path) -> None:
    with central(tmp_path / "central") as url:
        for serial in (1, 2, 3):
            register(serial)
        code, first, _ = sync(url)
        assert code == 0 and first["audit_anchor"] == "new"  # nothing kept centrally yet
        code, second, _ = sync(url)
        assert code == 0 and second["audit_anchor"] == "kept"
        assert invoke(["applicants", "list", "--reveal"]).exit_code == 0  # audited: to hide
        truncate(office, 3)  # the syncs and the reveal are gone from the trail
        verify = invoke(["audit", "verify"])
        assert verify.exit_code == 0, verify.stderr  # locally the shorter chain holds together
        code, third, stderr = sync(url)
        assert code == 1 and third["audit_anchor"] == "lost"
        assert "audit verify" in stderr
    run = invoke(["audit", "verify", "--json"])
    assert run.exit_code == 1
    doc = run.json()
    assert doc["intact"] is False and doc["anchor_lost"] is not None
    assert int(doc["anchor_lost"].split(":")[0]) > 3  # an entry past the cut
    assert "jejak ditulis ulang" in invoke(["audit", "verify"]).stderr
    checks = {c["check"]: c for c in invoke(["doctor", "--json"]).json()}
    assert checks["audit"]["ok"] is False
    actions = [e["action"] for e in invoke(["audit", "log", "--json"]).json()]
    assert "anchor_lost" in actions


def test_the_reference_server_keeps_the_head_per_office_and_desk(tmp_path: Path) -> None:
    first = ":" + "e" * 64
    head = "3273:D01:7:" + "a" * 64 + first
    with central(tmp_path / "central") as url:
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def status(value: str | None) -> requests.Response:
            headers = {**auth, **({"Audit-Head": value} if value is not None else {})}
            return requests.get(f"{url}/v1/status", headers=headers, timeout=10)

        assert "audit_anchor" not in status(None).json()  # no header: the feed as before
        assert status(head).json()["audit_anchor"] is None
        kept = status("3273:D01:8:" + "b" * 64 + first).json()["audit_anchor"]
        assert kept["head"] == head and kept["received_at"]
        assert (
            status("3273:D02:1:" + "c" * 64 + first).json()["audit_anchor"] is None
        )  # another desk
        bad = status("3273:D01:8:xyz")
        assert bad.status_code == 400 and bad.json()["error"] == "BAD_REQUEST"
        other = status("3201:D01:1:" + "d" * 64 + first)
        assert other.status_code == 403 and other.json()["error"] == "FORBIDDEN"


def test_a_backup_prints_the_head_and_verify_checks_one_written_down(
    office: Path, tmp_path: Path
) -> None:
    register(1)
    register(2)
    made = invoke(["backup", str(tmp_path / "cadangan"), "--json"])
    assert made.exit_code == 0, made.stderr
    seq, digest = made.json()["audit_head"].split(":")
    human = invoke(["backup", str(tmp_path / "lagi")])
    assert f"#{seq}" in human.stdout and digest[:16] in human.stdout
    assert invoke(["audit", "verify", "--anchor", f"{seq}:{digest[:16]}"]).exit_code == 0
    truncate(office, int(seq) - 1)
    lost = invoke(["audit", "verify", "--anchor", f"{seq}:{digest[:16]}"])
    assert lost.exit_code == 1 and f"#{seq}" in lost.stderr
    bad = invoke(["audit", "verify", "--anchor", "12:abc"])
    assert bad.exit_code == 2 and "galat" in bad.stderr


def test_a_restore_since_the_anchor_explains_a_shorter_trail(office: Path, tmp_path: Path) -> None:
    register(1)
    made = invoke(["backup", str(tmp_path / "cadangan"), "--json"])
    with central(tmp_path / "central") as url:
        register(2)
        assert sync(url)[0] == 0
        restored = invoke(["restore", made.json()["file"], "--yes", "--json"])
        assert restored.exit_code == 0, restored.stderr
        code, after, _ = sync(url)
        assert (code, after["audit_anchor"]) == (0, "restored")
    assert invoke(["audit", "verify"]).exit_code == 0


def test_a_desk_set_up_again_is_another_trail_not_a_lost_one(
    office: Path, _office_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new PC for desk D01 (or a store set up again) has its own trail: sync says `replaced`
    and does not fail; an emptied trail that still holds records is `lost`."""
    import shutil

    with central(tmp_path / "central") as url:
        register(1)
        assert sync(url)[0] == 0
        code, kept, _ = sync(url)
        assert (code, kept["audit_anchor"]) == (0, "kept")
        other = tmp_path / "other"
        shutil.copytree(_office_template, other)
        monkeypatch.setenv("PRAKERJA_HOME", str(other))
        register(2)
        code, again, _ = sync(url)
        assert (code, again["audit_anchor"]) == (0, "replaced")
        with closing(sqlite3.connect(other / "prakerja.db")) as conn, conn:
            conn.execute("DELETE FROM audit")
            conn.execute("DELETE FROM meta WHERE key = 'audit_head'")
        code, emptied, _ = sync(url)
        assert (code, emptied["audit_anchor"]) == (1, "lost")
    changed = invoke(["audit", "verify", "--json"]).json()["changed"]
    assert changed == ["3273-D01-000001"]  # not sealed again: its entry is gone
