"""A TCP proxy on loopback that breaks connections on purpose: between an office hub and the
central system in the hub's proof (tests/test_hub_proof.py).

Each connection it accepts draws its fate from a seeded generator, in the order they arrive:
`reset` reads the request's first bytes and answers with a TCP reset (nothing reaches the
server); `drop` passes the request on, waits for the server's answer to begin (the server has
processed and committed it), then resets the client: the answer is lost; `pass` relays both ways.
"""

from __future__ import annotations

import contextlib
import random
import selectors
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN: the peer sees "connection reset by peer"."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@dataclass
class FaultProxy:
    upstream: tuple[str, int]
    reset_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    #: How many connections met each fate.
    seen: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._dice = random.Random(self.seed)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def calm(self) -> None:
        """No more faults: every later connection passes."""
        with self._lock:
            self.reset_rate = self.drop_rate = 0.0

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

    def _fate(self) -> str:
        with self._lock:
            roll = self._dice.random()
            fate = (
                "reset"
                if roll < self.reset_rate
                else "drop"
                if roll < self.reset_rate + self.drop_rate
                else "pass"
            )
            self.seen[fate] += 1
            return fate

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            fate = self._fate()
            threading.Thread(target=self._serve, args=(client, fate), daemon=True).start()

    def _serve(self, client: socket.socket, fate: str) -> None:
        """One connection, on one thread: a socket closed while another thread is blocked
        reading it stays open (Linux), and the reset would never be sent."""
        with client:
            if fate == "reset":
                with contextlib.suppress(OSError):
                    client.recv(65536)
                _reset(client)
                return
            try:
                server = socket.create_connection(self.upstream, timeout=30)
            except OSError:
                _reset(client)
                return
            with server:
                self._relay(client, server, fate)

    @staticmethod
    def _relay(client: socket.socket, server: socket.socket, fate: str) -> None:
        client.setblocking(False)
        server.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, server)
            selector.register(server, selectors.EVENT_READ, client)
            while True:
                for key, _ in selector.select(timeout=120):
                    source = key.fileobj
                    assert isinstance(source, socket.socket)
                    target: socket.socket = key.data
                    try:
                        chunk = source.recv(65536)
                    except OSError:
                        chunk = b""
                    if source is server and chunk and fate == "drop":
                        # The answer has begun: the server has done the work. The client never
                        # hears of it.
                        _reset(client)
                        return
                    if not chunk:
                        return
                    try:
                        target.setblocking(True)
                        target.sendall(chunk)
                        target.setblocking(False)
                    except OSError:
                        return
