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

import pytest
from centralserver import central
from test_sync import assert_exactly_once, fill, local, run_sync

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
}


class Broken(http.server.BaseHTTPRequestHandler):
    kind: str

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = ANSWERS[self.kind]
        if body is None:  # every record of the batch "registered" under an invented outcome
            import gzip

            sent = json.loads(gzip.decompress(raw))
            results = [{"client_id": r["client_id"], "outcome": "approved_maybe"}
                       for r in sent["records"]]  # fmt: skip
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
def broken(kind: str) -> Iterator[str]:
    handler = type("H", (Broken,), {"kind": kind})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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
    if kind in ("not json", "no results"):
        # Refused as outside the contract (exit 1), one line, the batch kept for the next sync.
        assert done.returncode == 1 and "galat:" in done.stderr
    # The real central system then receives every record exactly once.
    data = tmp_path / "central"
    with central(data) as url:
        assert run_sync(office, url).returncode == 0
    assert_exactly_once(office, data)
