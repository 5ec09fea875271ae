"""The HTTP face of the reference central server: routes, bearer tokens, faults, and uvicorn.

Needs the `central` extra (Starlette + uvicorn). Request handling is async; database work runs in
Starlette's thread pool, one batch per transaction (see store.py). `serve_workers` runs several
server processes on one listening socket (PostgreSQL only: they share its database).
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import os
import random
import re
import socket
import sqlite3
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from prakerja_cli.central.contract import (
    API_VERSION,
    DEFAULT_LIMIT,
    MAX_BODY_BYTES,
    MAX_CURSOR,
    MAX_LIMIT,
    ApiError,
    ErrorCode,
    SetupError,
    bad_request,
    canonical_sha256,
    is_uuid,
    parse_amendments,
    parse_audit_head,
    parse_batch,
    parse_json,
)
from prakerja_cli.central.openapi import openapi_document
from prakerja_cli.central.reference import RegionList
from prakerja_cli.central.registry import Registry
from prakerja_cli.central.store import CentralStore, open_store

#: Env var with tokens, separated by commas or whitespace, each OFFICE:TOKEN or a bare TOKEN.
TOKENS_ENV = "PRAKERJA_CENTRAL_TOKENS"
#: A gzip body is a little larger than its content when that does not compress at all.
_RAW_LIMIT = MAX_BODY_BYTES + 65_536
#: gzip members in one request body (RFC 1952 allows many; the sync client sends one).
MAX_GZIP_MEMBERS = 64
#: Up to this much of an oversized body is read and thrown away before the 413, so the client,
#: still sending, reads the answer instead of a broken pipe.
_DRAIN_LIMIT = 64 * 1024 * 1024
_OFFICE_TOKEN = re.compile(r"([0-9]{4}):(.+)")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Tokens:
    """Bearer tokens and the office each belongs to (None: a token for any office)."""

    entries: tuple[tuple[bytes, str | None], ...] = ()

    @classmethod
    def parse(cls, values: Iterable[str]) -> Tokens:
        """`3273:secret` is office 3273's token; a value without a 4-digit office is any office's."""
        entries: list[tuple[bytes, str | None]] = []
        for value in values:
            for part in re.split(r"[\s,]+", value.strip()):
                if not part:
                    continue
                match = _OFFICE_TOKEN.fullmatch(part)
                token, office = (match[2], match[1]) if match else (part, None)
                if not token.isascii() or not token.isprintable():
                    raise SetupError("a token must be printable ASCII without spaces or commas")
                entries.append((token.encode("ascii"), office))
        return cls(tuple(entries))

    @classmethod
    def from_options(cls, values: Iterable[str]) -> Tokens:
        """The --token values and then the tokens in PRAKERJA_CENTRAL_TOKENS."""
        return cls.parse([*values, os.environ.get(TOKENS_ENV, "")])

    def lookup(self, token: str) -> tuple[bool, str | None]:
        """(known, office). Every entry is compared in constant time."""
        given = token.encode("utf-8", "replace")
        found, office = False, None
        for candidate, candidate_office in self.entries:
            if hmac.compare_digest(given, candidate) and not found:
                found, office = True, candidate_office
        return found, office

    def describe(self) -> str:
        """For the start-up line: counts and offices, never the tokens."""
        offices = sorted({o for _, o in self.entries if o is not None})
        any_office = sum(1 for _, o in self.entries if o is None)
        text = f"{len(self.entries)} token(s)"
        if offices:
            text += f"; offices {', '.join(offices)}"
        if any_office:
            text += f"; {any_office} for any office"
        return text


@dataclass(frozen=True, slots=True)
class Faults:
    """Trouble to make on purpose (tests, clerk training); all off by default.

    Each API request (not health, not the OpenAPI document) first waits `latency` seconds, then
    draws three numbers: below `error_rate` it gets 503, else below `throttle_rate` 429 (both with
    Retry-After, before anything is processed); below `drop_rate` it is processed and committed,
    and then the connection is closed without an answer. `seed` makes the draws repeatable.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after: int = 1
    seed: int | None = None

    def describe(self) -> str:
        parts = [
            f"{name} {value:g}"
            for name, value in (
                ("latency", self.latency),
                ("error-rate", self.error_rate),
                ("throttle-rate", self.throttle_rate),
                ("drop-rate", self.drop_rate),
            )
            if value
        ]
        return ", ".join(parts) if parts else "none"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    tokens: Tokens
    registry: Registry | None = None
    regions_csv: Path | None = None
    #: The wave every verified registration is assigned to; None or 0: no wave events.
    wave: int | None = 1
    faults: Faults = field(default_factory=Faults)
    #: Bytes of JSON a batch may have (after gzip); lower it to see clients split batches on 413.
    max_body_bytes: int = MAX_BODY_BYTES
    #: The server's date, for NIK decoding and the age check.
    today: Callable[[], date] = date.today
    #: A postgresql:// URL; None: SQLite in `data_dir`.
    database: str | None = None
    #: Connections each server process keeps to PostgreSQL at most.
    pool_size: int = 8


@dataclass(frozen=True, slots=True)
class _Draw:
    error: bool
    throttle: bool
    drop: bool


# -- dropping a connection without an answer ----------------------------------------------------

#: (server address, client address) → transport of every open connection of our protocol.
_TRANSPORTS: dict[tuple[Any, Any], asyncio.Transport] = {}


def _address(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


class DroppingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, remembering each connection's transport so that the app can close
    it without an answer (the drop fault): the ASGI scope has no way to do that."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Headers and body go out in two writes; never let the second wait for an ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _TRANSPORTS[(_address(self.server), _address(self.client))] = transport

    def connection_lost(self, exc: Exception | None) -> None:
        _TRANSPORTS.pop((_address(self.server), _address(self.client)), None)
        super().connection_lost(exc)


class _TruncatedResponse(Response):
    """Fallback drop under another server: a 200 whose body stops halfway, then the server closes
    the connection (uvicorn does when an app returns mid-response)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.body)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body) + 1).encode()),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )


async def _drop(request: Request, response: Response) -> Response:
    key = (_address(request.scope.get("server")), _address(request.scope.get("client")))
    transport = _TRANSPORTS.get(key)
    if transport is None:
        return _TruncatedResponse(bytes(response.body))
    transport.abort()
    # Let uvicorn see the connection lost; after that it sends nothing of the response below.
    for _ in range(3):
        await asyncio.sleep(0)
    return Response(status_code=204)


# -- request parts ------------------------------------------------------------------------------


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if _DIGITS.fullmatch(declared) and int(declared) > _DRAIN_LIMIT:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= _RAW_LIMIT:
            chunks.append(chunk)
        elif size > _DRAIN_LIMIT:
            raise _too_large()
    if size > _RAW_LIMIT:
        raise _too_large()
    return b"".join(chunks)


def _too_large(limit: int = MAX_BODY_BYTES) -> ApiError:
    return ApiError(413, ErrorCode.BATCH_TOO_LARGE, f"the batch is over {limit} bytes of JSON")


def gunzip(data: bytes, limit: int = MAX_BODY_BYTES) -> bytes:
    """Decompress a gzip body of one or more members, refusing more than `limit` bytes of output
    (a small body can inflate to gigabytes)."""
    out = bytearray()
    if not data:
        raise bad_request("Content-Encoding is gzip but the body is empty")
    members = 0
    try:
        while data:
            # Each member costs a copy of the rest of the body (unused_data): 250,000 empty
            # members in 5 MB held a worker for ~45 s. A client sends one; a few are allowed.
            members += 1
            if members > MAX_GZIP_MEMBERS:
                raise bad_request(f"the gzip body has more than {MAX_GZIP_MEMBERS} members")
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise _too_large(limit)
            if not inflater.eof:
                raise bad_request("the gzip body is truncated")
            data = inflater.unused_data
    except zlib.error:
        raise bad_request("the body is not valid gzip") from None
    return bytes(out)


def decode_body(raw: bytes, encoding: str, limit: int) -> Any:
    """The JSON document of a request body (gzip or identity), at most `limit` bytes of JSON."""
    body = gunzip(raw, limit) if encoding == "gzip" else raw
    if len(body) > limit:
        raise _too_large(limit)
    return parse_json(body)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise bad_request(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() == "gzip":
            q = params.replace(" ", "").lower()
            return q not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


async def keyed_document(request: Request, limit: int) -> tuple[str, Any]:
    """The Idempotency-Key and JSON document of a POST (a batch, amendments): the key a UUID,
    the body identity or gzip, at most `limit` bytes of JSON (also the office hub's)."""
    key = request.headers.get("idempotency-key", "").strip()
    if not is_uuid(key):
        raise bad_request("the Idempotency-Key header must be a UUID, new for each request")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(
            415, ErrorCode.UNSUPPORTED_ENCODING, "Content-Encoding must be gzip or absent"
        )
    raw = await _read_body(request)
    # Decompressing and parsing up to 5 MB is CPU work: off the event loop, so one batch
    # never stalls the health check and every other office's requests.
    document = await run_in_threadpool(decode_body, raw, encoding, limit)
    return key, document


def _check_office(office_code: str, office: str | None) -> None:
    if office is not None and office_code != office:
        raise ApiError(403, ErrorCode.FORBIDDEN, f"this token is not for office {office_code}")


# -- the app ------------------------------------------------------------------------------------

Handler = Callable[[Request, str | None], Awaitable[Response]]


class CentralApp:
    """The server's state (store, registry, regions, fault dice) and its route handlers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.faults = settings.faults
        self.store: CentralStore = open_store(
            settings.data_dir, settings.database, pool_size=settings.pool_size
        )
        self.region_list = RegionList(settings.regions_csv)
        # Not for security: the dice of the fault settings, repeatable with a seed.
        self.dice = random.Random(settings.faults.seed)  # noqa: S311
        self.openapi = json.dumps(openapi_document(), ensure_ascii=False).encode("utf-8")

    def _draw(self) -> _Draw:
        f = self.faults
        # Always three draws per request, so a seed gives the same sequence whatever happens.
        error, throttle, drop = self.dice.random(), self.dice.random(), self.dice.random()
        return _Draw(error < f.error_rate, throttle < f.throttle_rate, drop < f.drop_rate)

    def _authenticate(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        known, office = (False, None)
        if scheme.lower() == "bearer" and token.strip():
            known, office = self.settings.tokens.lookup(token.strip())
        if not known:
            raise ApiError(
                401,
                ErrorCode.UNAUTHORIZED,
                "a valid bearer token is required",
                {"WWW-Authenticate": "Bearer"},
            )
        return office

    def api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Faults, then the token, then the handler; the drop fault after it has committed."""

        async def endpoint(request: Request) -> Response:
            draw = self._draw()
            if self.faults.latency > 0:
                await asyncio.sleep(self.faults.latency)
            retry = {"Retry-After": str(self.faults.retry_after)}
            if draw.error:
                raise ApiError(
                    503, ErrorCode.UNAVAILABLE, "the central system is unavailable", retry
                )
            if draw.throttle:
                raise ApiError(429, ErrorCode.RATE_LIMITED, "too many requests; slow down", retry)
            office = self._authenticate(request)
            response = await handler(request, office)
            if draw.drop:
                return await _drop(request, response)
            return response

        return endpoint

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": API_VERSION})

    async def openapi_json(self, request: Request) -> Response:
        return Response(self.openapi, media_type="application/json")

    async def batches(self, request: Request, office: str | None) -> Response:
        return await self._submit(request, office, parse_batch, self.store.submit_batch)

    async def amendments(self, request: Request, office: str | None) -> Response:
        return await self._submit(request, office, parse_amendments, self.store.submit_amendments)

    async def _submit(
        self,
        request: Request,
        office: str | None,
        parse: Callable[[Any], Any],
        submit: Callable[..., bytes],
    ) -> Response:
        """A keyed request (a batch, or amendments): parsed, checked against the office the
        token names, then stored off the event loop; the stored answer is the response."""
        key, document = await keyed_document(request, self.settings.max_body_bytes)
        parsed = parse(document)
        _check_office(parsed.office_code, office)
        settings = self.settings
        answer = await run_in_threadpool(
            lambda: submit(
                key=key,
                body_sha256=canonical_sha256(document),
                batch=parsed,
                today=settings.today(),
                registry=settings.registry,
                wave=settings.wave,
            )
        )
        return Response(answer, media_type="application/json")

    async def status(self, request: Request, office: str | None) -> Response:
        cursor = _int_param(request, "cursor", 0, 0, MAX_CURSOR)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        anchor = self._audit_head(request, office)
        feed = await run_in_threadpool(self.store.events, office, cursor, limit)
        if anchor is not None:
            feed["audit_anchor"] = await run_in_threadpool(self.store.swap_anchor, *anchor)
        return JSONResponse(feed)

    @staticmethod
    def _audit_head(request: Request, office: str | None) -> tuple[str, str, str] | None:
        """The Audit-Head header as (office, desk, head); None when absent."""
        value = request.headers.get("audit-head")
        if value is None:
            return None
        parsed = parse_audit_head(value.strip())
        if parsed is None:
            raise bad_request(
                "Audit-Head must be OFFICE:DESK:SEQ:HASH:FIRST (hashes: 64 lowercase hex)"
            )
        if office is not None and parsed[0] != office:
            raise ApiError(403, ErrorCode.FORBIDDEN, f"this token is not for office {parsed[0]}")
        return parsed

    async def regions(self, request: Request, office: str | None) -> Response:
        raw, compressed = await run_in_threadpool(self.region_list.encoded)
        if _accepts_gzip(request):
            return Response(
                compressed,
                media_type="application/json",
                headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
            )
        return Response(raw, media_type="application/json", headers={"Vary": "Accept-Encoding"})


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
        exc.status_code, ErrorCode.BAD_REQUEST
    )
    return JSONResponse(
        {"error": str(code), "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _on_busy(request: Request, exc: Exception) -> Response:
    """The database stayed locked past the busy timeout, the disk failed, or the database server
    cannot be reached: unavailable."""
    error = ApiError(
        503, ErrorCode.UNAVAILABLE, "the central database is busy", {"Retry-After": "5"}
    )
    return JSONResponse(error.body(), status_code=503, headers=error.headers)


async def _on_crash(request: Request, exc: Exception) -> Response:
    # uvicorn closes the connection after an app error: say so, or a keep-alive client would send
    # its next request into a closing socket.
    return JSONResponse(
        {"error": str(ErrorCode.INTERNAL_ERROR), "message": "internal error"},
        status_code=500,
        headers={"Connection": "close"},
    )


def exception_handlers() -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """How a server of this contract answers what goes wrong (also the office hub's, hub/app.py)."""
    return {
        ApiError: _on_api_error,
        HTTPException: _on_http_error,
        sqlite3.OperationalError: _on_busy,
        Exception: _on_crash,
    }


async def read_body(request: Request) -> bytes:
    """A request's raw body, refused with 413 past the limit (also the office hub's)."""
    return await _read_body(request)


def create_app(settings: Settings) -> Starlette:
    """The ASGI app; `app.state.central` is the CentralApp (store, settings)."""
    central = CentralApp(settings)
    routes = [
        Route("/v1/health", central.health, methods=["GET"]),
        Route("/v1/openapi.json", central.openapi_json, methods=["GET"]),
        Route("/v1/registrations/batches", central.api(central.batches), methods=["POST"]),
        Route("/v1/registrations/amendments", central.api(central.amendments), methods=["POST"]),
        Route("/v1/status", central.api(central.status), methods=["GET"]),
        Route("/v1/reference/regions", central.api(central.regions), methods=["GET"]),
    ]
    handlers = exception_handlers()
    for error in central.store.busy_errors:
        handlers[error] = _on_busy
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.central = central
    return app


# -- serving ------------------------------------------------------------------------------------


def listen(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts, so a taken port is one clear error and port 0 can be told.

    The socket is made with proto IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections
    only then (socket.create_server makes proto 0, and every answer waited ~40 ms for Nagle).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Room for many desks connecting at once (the kernel caps it at somaxconn).
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def build_server(app: Starlette, *, log_level: str = "info") -> uvicorn.Server:
    """uvicorn with the h11 protocol that can drop connections; its logs (access log included) go
    to stderr. Nothing it logs contains a token: the access log shows the request line only."""
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    config = uvicorn.Config(
        app,
        http=DroppingH11Protocol,
        lifespan="off",
        log_level=log_level,
        log_config=log_config,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    return uvicorn.Server(config)
