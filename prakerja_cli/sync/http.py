"""The one HTTP session factory for the central API, and the errors a call can end in."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prakerja_cli import __version__
from prakerja_cli.errors import ExitCode, PrakerjaError, UsageError

if TYPE_CHECKING:
    import requests

#: Connect quickly or give up; a batch of 1000 records may take the server a while.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0


class UnreachableError(PrakerjaError):
    """The central system could not be reached or kept failing; nothing is lost, try later."""

    exit_code = ExitCode.UNREACHABLE


class AuthError(PrakerjaError):
    """The central system refused the token."""

    exit_code = ExitCode.AUTH


@dataclass(frozen=True, slots=True)
class ApiSettings:
    url: str
    token: str
    ca_bundle: str | None = None
    allow_insecure_http: bool = False
    retries: int = 5
    backoff: float = 0.5


#: Told before each wait between attempts: (attempts failed so far, retries allowed).
RetryReport = Callable[[int, int], None]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_settings(settings: ApiSettings) -> None:
    """Refuse a missing address or token, and plain http beyond loopback unless allowed."""
    if not settings.url:
        raise UsageError("error.api_url_missing", hint="hint.api_settings")
    if not settings.token:
        raise UsageError("error.api_token_missing", hint="hint.api_settings")
    check_api_url(settings.url, allow_insecure_http=settings.allow_insecure_http)


def check_api_url(url: str, *, allow_insecure_http: bool = False) -> None:
    """An http(s) address with a host; plain http only to loopback unless allowed. Used by sync and
    by `config set api_url`."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # a bad port or IPv6 bracket raises here
    except ValueError:
        host = None
    if not host or parts.scheme not in ("http", "https") or not url.isprintable() or " " in url:
        raise UsageError("error.api_url_invalid", hint="hint.api_settings", url=url)
    if parts.scheme == "http" and not _loopback(host) and not allow_insecure_http:
        raise UsageError("error.api_insecure", hint="hint.api_insecure", url=url)


def make_session(settings: ApiSettings, on_retry: RetryReport | None = None) -> requests.Session:
    """A requests session for the central API: bearer token, User-Agent, TLS always verified
    (with a government CA bundle if given), and urllib3 retries with exponential backoff and
    jitter that honour Retry-After. POST is retried too: every batch carries an Idempotency-Key,
    so a resend is harmless by contract. `on_retry` hears of each wait, so that a clerk is not
    left looking at a silent screen while the backoff runs (about 15 s with the defaults).
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.response import BaseHTTPResponse
    from urllib3.util.retry import Retry

    class ReportingRetry(Retry):
        # urllib3 rebuilds the Retry after every attempt through new(), from its own fields
        # only, so the report lives on this per-session class rather than on the instance.
        def sleep(self, response: BaseHTTPResponse | None = None) -> None:
            if on_retry is not None:
                on_retry(len(self.history), settings.retries)
            super().sleep(response)

    check_settings(settings)
    retry = ReportingRetry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        allowed_methods=None,
        status_forcelist=(429, 500, 502, 503, 504),
        backoff_factor=settings.backoff,
        backoff_jitter=settings.backoff,
        backoff_max=30.0,
        retry_after_max=300,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["Authorization"] = f"Bearer {settings.token}"
    session.headers["User-Agent"] = f"prakerja-cli/{__version__}"
    # The environment decides nothing by itself: requests would let REQUESTS_CA_BUNDLE override
    # --ca-bundle, a .netrc replace the token, and HTTP_PROXY receive the token and records
    # meant for this computer. Proxies and CA bundle are resolved here, once, explicitly.
    session.trust_env = False
    session.verify = ca_bundle(settings)
    session.proxies = proxies_for(settings.url)
    return session


def ca_bundle(settings: ApiSettings) -> str | bool:
    """--ca-bundle, else REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, else the system's trust store."""
    import os

    return (
        settings.ca_bundle
        or os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or True
    )


def proxies_for(url: str) -> dict[str, str]:
    """The environment's proxy for `url` (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), and never one for
    this computer: the records and token for 127.0.0.1 stay on it."""
    from requests.utils import get_environ_proxies

    host = urlsplit(url).hostname or ""
    if _loopback(host):
        return {}
    return dict(get_environ_proxies(url))


def api_call(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """One call (retried inside the session); network failure -> UnreachableError, 401/403 ->
    AuthError, anything still 429/5xx after the retries -> UnreachableError."""
    import requests

    kwargs.setdefault("timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
    try:
        # A redirect could carry the batch to another host, or to plain http (requests drops
        # the token on the way but keeps the body): the contract has none, so none is followed.
        response = session.request(method, url, allow_redirects=False, **kwargs)
    except requests.exceptions.RequestException as exc:
        raise network_error(exc, url) from None
    if response.is_redirect or 300 <= response.status_code < 400:
        where = _origin(response.headers.get("Location", "")) or "-"
        raise UnreachableError(
            "error.api_redirect", hint="hint.api_redirect", status=response.status_code, url=where
        )
    if response.status_code in (401, 403):
        raise AuthError("error.api_auth", hint="hint.api_token", status=response.status_code)
    if response.status_code == 429 or response.status_code >= 500:
        raise UnreachableError(
            "error.api_unavailable", hint="hint.api_later", status=response.status_code
        )
    return response


def network_error(exc: BaseException, url: str) -> UnreachableError:
    """How the network failed, as one localised line with its fix: TLS, DNS, timeout, refused,
    or (anything else) unreachable."""
    import socket
    import ssl

    import requests

    causes = list(_causes(exc))

    def caused_by(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    parts = urlsplit(url)
    if caused_by(requests.exceptions.SSLError, ssl.SSLError):
        return UnreachableError("error.api_tls", hint="hint.api_tls", reason=_short(exc))
    if caused_by(socket.gaierror):
        return UnreachableError("error.api_dns", hint="hint.api_dns", host=parts.hostname)
    if caused_by(requests.exceptions.Timeout, TimeoutError):
        return UnreachableError("error.api_timeout", hint="hint.api_later")
    if caused_by(ConnectionRefusedError):
        return UnreachableError("error.api_refused", hint="hint.api_refused", url=_origin(url))
    return UnreachableError("error.api_unreachable", hint="hint.api_later", reason=_short(exc))


def _origin(url: str) -> str:
    """scheme://host:port of an address: never a path, query or user name and password."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else ""


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps: requests keeps urllib3's error in args, urllib3
    its own in `reason`, and the socket's error is the cause of that."""
    found: list[BaseException] = []
    todo = [exc]
    while todo and len(found) < 50:
        current = todo.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped += list(current.args)
        todo += [x for x in wrapped if isinstance(x, BaseException)]
    return found


def _short(exc: BaseException) -> str:
    """The exception's class only: messages can carry URLs with the host, never the token,
    but keep logs short and predictable."""
    return type(exc).__name__
