"""The office hub's HTTP face: the central API (docs/central-api.md) spoken to the office's desks.

Composed from the reference central server (central/app.py): the same body reading and limits,
envelope checks (central/contract.py), "same body" hash, error answers, socket and uvicorn set-up.
What differs is behind it: desk tokens the hub issued (hub/store.py), the office store, and a
status feed per desk. With `forward`, a thread runs the hub's own sync (sync/run.py) upstream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from prakerja_cli.central.app import (
    decode_body,
    exception_handlers,
    keyed_document,
    read_body,
)
from prakerja_cli.central.contract import (
    API_VERSION,
    DEFAULT_LIMIT,
    MAX_BODY_BYTES,
    MAX_CURSOR,
    MAX_LIMIT,
    ApiError,
    ErrorCode,
    bad_request,
    canonical_sha256,
    is_uuid,
    parse_amendments,
    parse_batch,
)
from prakerja_cli.hub import store

if TYPE_CHECKING:
    from prakerja_cli.store.applicants import Office
    from prakerja_cli.store.db import Database


@dataclass(frozen=True, slots=True)
class HubSettings:
    db_path: Path
    office: Office
    today: Callable[[], date] = date.today


class HubApp:
    """One database connection per worker thread (SQLite's rule), all on the hub's store."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self._local = threading.local()
        self._all: list[Database] = []
        self._lock = threading.Lock()

    def db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            from prakerja_cli.store.db import open_db

            db = open_db(self.settings.db_path)
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.conn.close()
            self._all.clear()

    def _desk(self, request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        desk = None
        if scheme.lower() == "bearer" and token.strip():
            desk = store.desk_of_token(self.db(), token.strip())
        if desk is None:
            raise ApiError(
                401,
                ErrorCode.UNAUTHORIZED,
                "a desk token this hub issued is required (prakerja hub enrol)",
                {"WWW-Authenticate": "Bearer"},
            )
        return desk

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": API_VERSION, "hub": True})

    async def batches(self, request: Request) -> Response:
        desk = await run_in_threadpool(self._desk, request)
        key = request.headers.get("idempotency-key", "").strip()
        if not is_uuid(key):
            raise bad_request("the Idempotency-Key header must be a UUID, new for each batch")
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise ApiError(
                415, ErrorCode.UNSUPPORTED_ENCODING, "Content-Encoding must be gzip or absent"
            )
        raw = await read_body(request)
        document = await run_in_threadpool(decode_body, raw, encoding, MAX_BODY_BYTES)
        batch = parse_batch(document)
        office = self.settings.office
        store.check_claims(batch, office.office_code, desk)
        answer = await run_in_threadpool(
            lambda: store.submit(
                self.db(), office, desk, key=key, body_sha256=canonical_sha256(document),
                batch=batch, today=self.settings.today(),
            )
        )  # fmt: skip
        return Response(answer, media_type="application/json")

    async def amendments(self, request: Request) -> Response:
        desk = await run_in_threadpool(self._desk, request)
        key, document = await keyed_document(request, MAX_BODY_BYTES)
        batch = parse_amendments(document)
        office = self.settings.office
        answer = await run_in_threadpool(
            lambda: store.amend(
                self.db(), office, desk, key=key, body_sha256=canonical_sha256(document),
                batch=batch, today=self.settings.today(),
            )
        )  # fmt: skip
        return Response(answer, media_type="application/json")

    async def status(self, request: Request) -> Response:
        desk = await run_in_threadpool(self._desk, request)
        cursor = _int_param(request, "cursor", 0, 0, MAX_CURSOR)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        feed = await run_in_threadpool(store.feed, self.db(), desk, cursor, limit)
        return JSONResponse(feed)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise bad_request(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def create_hub_app(settings: HubSettings) -> Starlette:
    """The ASGI app; `app.state.hub` is the HubApp."""
    hub = HubApp(settings)
    routes = [
        Route("/v1/health", hub.health, methods=["GET"]),
        Route("/v1/registrations/batches", hub.batches, methods=["POST"]),
        Route("/v1/registrations/amendments", hub.amendments, methods=["POST"]),
        Route("/v1/status", hub.status, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers=exception_handlers())
    app.state.hub = hub
    return app


def forward_loop(
    every: float, stop: threading.Event, report: Callable[[str], None]
) -> threading.Thread:
    """A thread that runs the hub's sync upstream every `every` seconds until `stop` is set;
    a failed run (no connection, the central system down) is reported and tried again later.
    So is one that fails in a way nobody foresaw (a database locked past its busy timeout, a full
    disk): the thread must outlive it, or the hub would go on answering its desks and never
    forward again."""

    def run() -> None:
        while not stop.is_set():
            try:
                line = forward_once()
            except Exception as exc:  # reported; the next run tries again
                line = f"forward: failed ({type(exc).__name__}); trying again"
            report(line)
            stop.wait(every)

    thread = threading.Thread(target=run, name="hub-forward", daemon=True)
    thread.start()
    return thread


def forward_once() -> str:
    """One sync of the hub's store upstream; a line for the log."""
    from prakerja_cli.errors import PrakerjaError
    from prakerja_cli.office import open_workspace
    from prakerja_cli.sync.http import ApiSettings
    from prakerja_cli.sync.run import run_sync

    try:
        ws = open_workspace()
        try:
            url, token = ws.config.effective_api()
            result = run_sync(ws, ApiSettings(url, token))
        finally:
            ws.db.conn.close()
    except PrakerjaError as exc:
        return f"forward: not now ({exc.key})"
    data: dict[str, Any] = result.to_json()
    amended = data.pop("amendments")
    data.pop("amendment_conflicts")
    data.update({f"amendments {k}": v for k, v in amended.items()})
    return "forward: " + ", ".join(f"{k} {v}" for k, v in data.items() if v and k != "dry_run")
