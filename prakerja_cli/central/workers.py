"""Several server processes on one listening socket, for the PostgreSQL engine.

The parent binds the socket (app.listen), starts `count` worker processes that each build the
app and run uvicorn on that socket (the kernel hands each new connection to one of them), restarts
a worker that dies, and on Ctrl+C or SIGTERM stops them all. Processes are spawned, not forked,
so it works the same on Windows; each worker has its own connection pool to the one database.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prakerja_cli.central.app import Settings

#: A worker that dies this soon after starting is a broken set-up, not bad luck: stop.
_EARLY_DEATH = 5.0
#: Restarts of dead workers before the server gives up.
_MAX_RESTARTS = 20


def _worker(settings: Settings, sock: socket.socket, log_level: str) -> None:
    from prakerja_cli.central.app import build_server, create_app

    asgi = create_app(settings)
    try:
        build_server(asgi, log_level=log_level).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        asgi.state.central.store.close()


def serve_workers(settings: Settings, sock: socket.socket, count: int, log_level: str) -> int:
    """Run `count` workers until a stop signal; the exit status (0, or 1 after a broken start)."""
    multiprocessing.allow_connection_pickling()
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_signal)

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(target=_worker, args=(settings, sock, log_level), daemon=False)
        process.start()
        return process, time.monotonic()

    workers = [start() for _ in range(count)]
    restarts, status = 0, 0
    while not stop.wait(0.5):
        for index, (process, started) in enumerate(workers):
            if process.is_alive():
                continue
            if time.monotonic() - started < _EARLY_DEATH or restarts >= _MAX_RESTARTS:
                status = 1
                stop.set()
                break
            restarts += 1
            workers[index] = start()
    for process, _ in workers:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    for process, _ in workers:
        process.join(15)
        if process.is_alive():
            process.kill()
            process.join()
    return status
