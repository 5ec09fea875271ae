"""How the central API client names a network failure: one line, its reason, its fix."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from prakerja_cli.errors import ExitCode
from prakerja_cli.i18n import t
from prakerja_cli.sync.http import ApiSettings, UnreachableError, api_call, make_session


def _call(url: str, timeout: tuple[float, float] = (5.0, 5.0)) -> UnreachableError:
    session = make_session(ApiSettings(url, "token", retries=0, backoff=0))
    with pytest.raises(UnreachableError) as caught:
        api_call(session, "GET", url + "/v1/ping", timeout=timeout)
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    return caught.value


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        yield server.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_names_the_address_and_the_fix() -> None:
    port = _free_port()
    error = _call(f"http://127.0.0.1:{port}")
    assert error.key == "error.api_refused"
    assert t(error.key, **error.params) == (
        f"Server pusat menolak sambungan di http://127.0.0.1:{port} (tidak ada layanan di alamat "
        "itu). Tidak ada data yang hilang."
    )
    assert error.hint == "hint.api_refused"


def test_each_retry_is_reported_before_its_wait() -> None:
    heard: list[tuple[int, int]] = []
    url = f"http://127.0.0.1:{_free_port()}"
    session = make_session(
        ApiSettings(url, "token", retries=2, backoff=0), lambda n, of: heard.append((n, of))
    )
    with pytest.raises(UnreachableError):
        api_call(session, "GET", url + "/v1/ping")
    assert heard == [(1, 2), (2, 2)]


def test_a_server_that_never_answers_is_a_timeout(silent_port: int) -> None:
    error = _call(f"http://127.0.0.1:{silent_port}", timeout=(2.0, 0.3))
    assert error.key == "error.api_timeout"
    assert t(error.key, lang="en") == "The central server did not answer in time. Nothing is lost."


def test_an_unknown_host_name_is_a_dns_failure() -> None:
    error = _call("https://central.prakerja.invalid")
    assert error.key == "error.api_dns"
    assert error.params == {"host": "central.prakerja.invalid"}
    assert "DNS" in t(error.key, **error.params)


def test_tls_failure_is_named_with_the_ca_bundle_fix() -> None:
    # Plain TCP that closes at once during the TLS handshake.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def close_first() -> None:
            conn, _ = server.accept()
            conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nnot tls")
            conn.close()

        threading.Thread(target=close_first, daemon=True).start()
        error = _call(f"https://127.0.0.1:{port}")
    assert error.key == "error.api_tls"
    assert error.hint == "hint.api_tls"
