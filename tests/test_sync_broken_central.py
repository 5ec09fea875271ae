"""A hostile or broken central system (issue 14's threat table): answers outside the contract
never make the desk lose, double or wrongly settle a record. Each answer is served on loopback to
the real `prakerja sync` process; then the real reference server receives everything once."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from centralserver import central
from test_sync import assert_exactly_once, fill, local, run_sync

from prakerja_cli.store.engine import dbapi as sqlite3
from tests.conftest import invoke

#: Bodies a broken or hostile server answers a batch with (status 200 each).
ANSWERS = {
    "not json": b"<html>maintenance</html>",
    "no results": b"{}",
    "results for records never sent": json.dumps(
        {
            "results": [
                {
                    "client_id": "00000000-0000-4000-8000-000000000000",
                    "outcome": "accepted",
                    "central_id": "C-1",
                }
            ]
        }
    ).encode(),
    "an outcome the contract does not have": None,  # filled per request: the batch's own ids
    "results that are not objects": b'{"results": [1, 2]}',
    # Filled per request, for the batch's own ids: a value the desk would have to store that is
    # no plain value (a traceback, or SQLite's refusal read as "the database cannot be opened").
    "a duplicate whose registered_by is text": None,
    "a central id that is an object": None,
}
#: Answers refused whole as outside the contract: exit 1 with one line, nothing settled.
REFUSED = ("not json", "no results", "results that are not objects",
           "a duplicate whose registered_by is text", "a central id that is an object")  # fmt: skip


class Broken(http.server.BaseHTTPRequestHandler):
    kind: str

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = ANSWERS[self.kind]
        if body is None:  # an answer for each record of the batch, as `kind` says
            import gzip

            sent = json.loads(gzip.decompress(raw))
            result = {
                "an outcome the contract does not have": {"outcome": "approved_maybe"},
                "a duplicate whose registered_by is text": {"outcome": "duplicate",
                                                            "registered_by": "3201-D02-000007"},
                "a central id that is an object": {"outcome": "accepted",
                                                   "central_id": {"id": "C-1"}},
            }[self.kind]  # fmt: skip
            results = [{"client_id": r["client_id"], **result} for r in sent["records"]]
            body = json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        body = b'{"events": [], "next_cursor": 0}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served on loopback; its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def broken(kind: str) -> Any:
    return serving(type("H", (Broken,), {"kind": kind}))


@pytest.mark.parametrize("kind", list(ANSWERS))
def test_an_answer_outside_the_contract_settles_nothing(
    office: Path, tmp_path: Path, kind: str
) -> None:
    fill(office, tmp_path, 3)
    with broken(kind) as url:
        done = run_sync(office, url)
    # Nothing the answer claims is believed: no record is marked as registered centrally.
    assert all(state is None or state == "pending" for state, _ in local(office).values()), (
        kind, local(office), done.stderr,
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    if kind not in REFUSED:  # taken, but settling no record: none is counted as sent
        assert json.loads(done.stdout)["sent"] == 0, done.stdout
    if kind in REFUSED:
        # Refused as outside the contract (exit 1), one line, the batch kept for the next sync.
        assert done.returncode == 1 and "galat:" in done.stderr
        assert "pusat" in done.stderr and "basis data" not in done.stderr  # whose fault it is
    # The real central system then receives every record exactly once.
    data = tmp_path / "central"
    with central(data) as url:
        assert run_sync(office, url).returncode == 0
    assert_exactly_once(office, data)


class Relay(http.server.BaseHTTPRequestHandler):
    """The real reference server behind it, but for the status feed, which `feed` answers."""

    upstream: str
    feed: bytes
    asked: list[str]
    poison: bytes = b""  # a batch or amendment request holding it is refused as it is (400)

    def do_POST(self) -> None:
        import gzip

        import requests

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.poison and self.poison in gzip.decompress(body):
            self._send(400, b'{"error": "BAD_REQUEST", "message": "refused"}')
            return
        names = ("Authorization", "Idempotency-Key", "Content-Encoding", "Content-Type")
        answer = requests.post(self.upstream + self.path, data=body, timeout=30,
                               headers={k: self.headers[k] for k in names if self.headers[k]})  # fmt: skip
        content = answer.content
        if self.path.endswith("/amendments") and b"drop amendment results" in self.feed:
            content = json.dumps({**answer.json(), "results": []}).encode()  # applied, unsaid
        self._send(answer.status_code, content)

    def do_GET(self) -> None:
        self.asked.append(self.path)
        self._send(200, self.feed)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def relay(upstream: str, feed: dict[str, object], asked: list[str], poison: str = "") -> Any:
    return serving(type("R", (Relay,), {"upstream": upstream, "feed": json.dumps(feed).encode(),
                                        "asked": asked, "poison": poison.encode()}))  # fmt: skip


#: Status feed pages outside the contract: the first would be asked for again and again (the
#: cursor does not move), the others would reach the store as values it cannot hold.
FEEDS = {
    "a cursor that does not move": {
        "events": [{"seq": 1, "client_id": "00000000-0000-4000-8000-000000000000",
                    "status": "verified"}], "next_cursor": 0},
    "events that are not objects": {"events": ["verified"], "next_cursor": 5},
    "a wave that is an object": {
        "events": [{"seq": 1, "client_id": "00000000-0000-4000-8000-000000000000",
                    "status": "wave_assigned", "wave": {"n": 3}}], "next_cursor": 1},
    "an audit anchor past any trail": {
        "events": [], "next_cursor": 0,
        "audit_anchor": {"head": f"3273:D01:{10**30}:{'a' * 64}:{'b' * 64}",
                         "received_at": "2026-12-01T10:00:00+07:00"}},
}  # fmt: skip


@pytest.mark.parametrize("kind", list(FEEDS))
def test_a_status_feed_outside_the_contract_ends_the_sync_in_one_line(
    office: Path, tmp_path: Path, kind: str
) -> None:
    """The records are delivered (the real server behind the relay), then the feed's page is
    refused whole: one line and exit 1, never a traceback, never a sync that does not end (a
    server ignoring the cursor once made one ask 14,000 times in 20 s, holding the sync lock)."""
    fill(office, tmp_path, 3)
    asked: list[str] = []
    with central(tmp_path / "central") as upstream, relay(upstream, FEEDS[kind], asked) as url:
        done = run_sync(office, url, human=True, timeout=60)
    assert len(asked) <= 2  # no page asked for again and again
    if kind == "an audit anchor past any trail":  # read as no anchor, as an unreadable one is
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 1 and done.stderr.startswith("galat:"), done.stderr
        assert "pusat" in done.stderr and "basis data" not in done.stderr  # whose fault it is
    assert all(state == "accepted" for state, _ in local(office).values())


def test_an_amendment_the_answer_leaves_out_goes_again_and_is_not_lost(
    office: Path, tmp_path: Path
) -> None:
    """The central system applied the correction but its answer left it out: with the request
    answered, the correction would wait forever for an outcome (and doctor would say "run sync"
    to no end). It goes again with the next sync, under its amendment_id: answered as applied."""
    from test_amendments import desk_row, held, register

    from prakerja_cli.store.engine import dbapi as sqlite3

    number = register(351)
    data = tmp_path / "central"
    with central(data) as upstream:
        assert run_sync(office, upstream).returncode == 0
        assert invoke(["applicants", "edit", number, "--set", "rt=006"]).exit_code == 0
        feed = {"events": [], "next_cursor": 0, "drop amendment results": True}
        with relay(upstream, feed, []) as url:
            done = run_sync(office, url, human=True)
        assert done.returncode == 1 and done.stderr.startswith("galat:"), done.stderr
        cid = desk_row(office, number)["id"]
        assert held(data, cid)[:1] == (2,)  # applied centrally, the desk not told
        assert run_sync(office, upstream).returncode == 0
    with sqlite3.connect(office / "prakerja.db") as conn:
        outcomes = conn.execute("SELECT outcome, version FROM outbox_amendments").fetchall()
    assert outcomes == [("applied", 2)] and desk_row(office, number)["central_version"] == 2
    assert held(data, cid)[2]["rt"] == "006" and held(data, cid)[3] == 1  # applied once


def test_a_record_refused_as_sent_is_held_back_and_the_rest_go_on(
    office: Path, tmp_path: Path
) -> None:
    """A batch the central system refuses as it is (400: nothing processed) used to be sent
    again, with its key, first at every sync: no other record, correction or status update ever
    went. Now it is split down to the one record refused, which is held back (unsent, named),
    and the others are delivered; the next sync sends it again in a new batch."""
    fill(office, tmp_path, 6)
    with sqlite3.connect(office / "prakerja.db") as conn:
        poison = conn.execute("SELECT nik FROM applicants ORDER BY seq LIMIT 1 OFFSET 2").fetchone()
        number = conn.execute("SELECT registration_number FROM applicants WHERE nik = ?",
                              poison).fetchone()[0]  # fmt: skip
    data = tmp_path / "central"
    with central(data) as upstream:
        feed = {"events": [], "next_cursor": 0}
        for _ in range(2):  # the second sync sends it again, and only it
            with relay(upstream, feed, [], poison=poison[0]) as url:
                done = run_sync(office, url, human=True)
            assert done.returncode == 1, done.stderr
            assert done.stderr.startswith(f"{number}: ditolak sistem pusat sebagaimana dikirim "
                                          "(HTTP 400)"), done.stderr  # fmt: skip
            states = [state for state, _ in local(office).values()]
            assert states.count("accepted") == 5 and states.count(None) == 1
        code = run_sync(office, upstream).returncode
    assert code == 0
    assert_exactly_once(office, data)


class Silent(http.server.BaseHTTPRequestHandler):
    """Takes the request and never answers (until the test ends)."""

    received: threading.Event
    done: threading.Event

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.set()
        self.done.wait(120)

    def log_message(self, *args: object) -> None:
        pass


def test_ctrl_c_ends_a_sync_waiting_for_an_answer_at_once(office: Path, tmp_path: Path) -> None:
    """At a terminal, Ctrl+C while a call waits for the central system: the sync used to wait for
    the call's thread first, through every retry (minutes), then say that nothing was stored.
    Now it ends at once and says what is kept; the batch goes again, under its key, next time."""
    import time

    from centralserver import TOKEN
    from terminal import Terminal

    fill(office, tmp_path, 3)
    received, done = threading.Event(), threading.Event()
    handler = type("S", (Silent,), {"received": received, "done": done})
    with serving(handler) as url:
        env = {"PRAKERJA_API_URL": url, "PRAKERJA_API_TOKEN": TOKEN}
        terminal = Terminal(["sync"], office, env=env)
        try:
            assert received.wait(30), terminal.screen
            started = time.monotonic()
            terminal.interrupt()
            code, screen = terminal.close(timeout=15)
            seconds = time.monotonic() - started
        finally:
            done.set()
    assert code == 130 and seconds < 5, (code, seconds, screen)
    assert "Dibatalkan. Jawaban sistem pusat yang sudah diterima tetap tersimpan" in screen
    assert "Traceback" not in screen
    data = tmp_path / "central"
    with central(data) as real:
        assert run_sync(office, real).returncode == 0
    assert_exactly_once(office, data)


def test_a_correction_refused_as_sent_is_held_back_and_the_others_go(
    office: Path, tmp_path: Path
) -> None:
    """The same for amendment requests: one refused as it is (400) is split down to the record
    whose correction it refuses, held back; the other corrections are applied, the status feed
    is still read, and the next sync sends the held one again."""
    from test_amendments import desk_row, held, register

    numbers = [register(i) for i in (361, 362, 363, 364)]
    data = tmp_path / "central"
    with central(data) as upstream:
        assert run_sync(office, upstream).returncode == 0
        for number, rt in zip(numbers, ("011", "012", "013", "014"), strict=True):
            assert invoke(["applicants", "edit", number, "--set", f"rt={rt}"]).exit_code == 0
        feed = {"events": [], "next_cursor": 0}
        asked: list[str] = []
        with relay(upstream, feed, asked, poison='"rt":"013"') as url:
            done = run_sync(office, url, human=True)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith(f"{numbers[2]}: ditolak sistem pusat sebagaimana dikirim "
                                      "(HTTP 400)"), done.stderr  # fmt: skip
        assert asked  # the status feed was read all the same
        rts = [held(data, desk_row(office, n)["id"])[2]["rt"] for n in numbers]
        assert rts == ["011", "012", None, "014"]
        assert run_sync(office, upstream).returncode == 0
        assert held(data, desk_row(office, numbers[2])["id"])[:1] == (2,)
        assert held(data, desk_row(office, numbers[2])["id"])[2]["rt"] == "013"
