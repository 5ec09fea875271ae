"""A hostile network between the desk and the central system (issue 14, finding 2): a redirect,
an HTTP proxy in the environment, a CA bundle in the environment. Each attack runs against the
real `prakerja sync` process and a recording server on loopback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from centralserver import TOKEN, central
from test_sync import fill, local, run_sync

from prakerja_cli.sync.http import ApiSettings, make_session


class Recorder(http.server.BaseHTTPRequestHandler):
    """Records every request it gets (path, headers, body); answers `answer`."""

    seen: list[tuple[str, str, dict[str, str], bytes]]
    answer: tuple[int, dict[str, str]] = (200, {})

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, dict(self.headers), body))
        status, headers = self.answer
        self.send_response(status)
        for name, value in {**headers, "Content-Length": "0"}.items():
            self.send_header(name, value)
        self.end_headers()

    do_GET = do_POST = do_PUT = _any

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def recorder(
    status: int = 200, headers: dict[str, str] | None = None
) -> Iterator[tuple[str, list]]:
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    handler = type("H", (Recorder,), {"seen": seen, "answer": (status, headers or {})})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_refused_and_the_records_go_nowhere(office: Path, tmp_path: Path) -> None:
    fill(office, tmp_path, 3)
    with recorder() as (elsewhere, received):
        target = f"{elsewhere}/steal"
        with recorder(307, {"Location": target}) as (redirecting, asked):
            done = run_sync(office, redirecting)
    assert done.returncode == 4, done.stderr
    assert asked, "the sync did not reach the configured address"
    assert received == [], "the batch followed the redirect to another host"
    assert "307" in done.stderr and elsewhere in done.stderr
    assert set(local(office).values()) == {(None, None)}  # nothing marked sent


def test_an_http_proxy_never_sees_records_meant_for_this_computer(
    office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(office, tmp_path, 3)
    with recorder() as (proxy, proxied), central(tmp_path / "central") as url:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        done = run_sync(office, url)
    assert done.returncode == 0, done.stderr
    assert proxied == []
    assert None not in {state for state, _ in local(office).values()}


def test_the_ca_bundle_option_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, theirs = tmp_path / "government-ca.pem", tmp_path / "planted.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(theirs))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(theirs))
    url = "https://central.example.go.id"
    session = make_session(ApiSettings(url, TOKEN, ca_bundle=str(mine)))
    # What requests itself will use for a request, environment merged in.
    merged = session.merge_environment_settings(url, {}, None, None, None)
    assert merged["verify"] == str(mine)
    # Without the option the environment's bundle is the fallback, as documented.
    session = make_session(ApiSettings(url, TOKEN))
    assert session.merge_environment_settings(url, {}, None, None, None)["verify"] == str(theirs)


def test_a_netrc_cannot_replace_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password else\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with recorder() as (url, seen):
        session = make_session(ApiSettings(url, TOKEN, retries=0))
        session.get(url + "/v1/ping", timeout=5)
    assert seen[0][2]["Authorization"] == f"Bearer {TOKEN}"
