"""The roster import's writer: a child process that holds the store's write lock for the whole
import and writes what the importer sends it, in one transaction.

An import's inserts are SQLite's own work (~2.3 s of a 100k-row import, 11 indexes), done in the
importer's process they wait for the checks and the checks wait for them: the importer is the
critical path on two cores, and its threads take turns on Python's lock. Here the records go to
the writer chunk by chunk as the import decides them, and it inserts them on the core the worker
processes leave free (docs/performance.md, "Eleventh session").

The writer takes the lock before the importer looks anything up in the store, so nothing can
change between the look-ups and the commit: no desk registration, no purge (an import written in
its own process must check for those again; roster/importer.py `_store`). Other writers wait for
the import, under the store's busy timeout. Everything the import writes happens in the writer's
one transaction: the new records, the updated rows with their outbox edits and audit entries, the
numbering reservation, the import's audit entry. The writer commits only when told to finish; at
the end of its input, a failure or a kill it commits nothing (SQLite rolls an unfinished
transaction back), and the importer then writes in its own process.

Messages, both ways: an 8-byte length, then a memo-less pickle (roster/sandbox.py `pickled`).
The importer sends ("open", office) as the import starts (the writer's start overlaps the
reading of the file), ("lock",) once the file is read and its columns are known (a file refused
then never held the lock, nor did its reading), then ("insert", records)..., ("update", id,
changes, audit details)..., ("finish", first serial, count, import details, created ids); the
writer answers ("locked",) once it holds the lock and ("done",) once it has committed.
"""

from __future__ import annotations

import contextlib
import pickle
import queue
import signal
import subprocess
import sys
import threading
from typing import IO, Any

from prakerja_cli.roster.sandbox import pickled, start_child

#: SQLite page cache while an import writes (KiB). Each row updates every index (11); with the
#: default 2 MB their pages keep spilling and inserting 100k rows takes ~1.5x as long.
CACHE_KIB = 32768
#: The largest message the importer accepts from the writer (its answers are a few bytes).
_MAX_ANSWER = 1 << 16


class Writer:
    """The importer's side: start, wait for the lock, send, finish, stop. Every failure of the
    writer makes `ok` false and is otherwise silent: the importer then writes in its own
    process, as it always could."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.ok = True
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        # Sent by a thread: a chunk of records is ~1 MB, a pipe holds 64 KiB, and the importer
        # must not wait while the writer inserts the chunk before.
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._feeder.start()

    @classmethod
    def start(cls, office: Any) -> Writer | None:
        """A writer for this office's store (None where no interpreter can be started: a frozen
        build's executable is the CLI itself)."""
        if getattr(sys, "frozen", False):
            return None
        try:
            proc = start_child("prakerja_cli.roster.writer")
        except OSError:
            return None
        writer = cls(proc)
        writer.send(("open", office))
        return writer

    def send(self, message: tuple[Any, ...]) -> None:
        if self.ok:
            self._outbox.put(pickled(message))

    def _feed(self) -> None:
        stream = self.proc.stdin
        assert stream is not None
        try:
            while (body := self._outbox.get()) is not None:
                stream.write(len(body).to_bytes(8, "big"))
                stream.write(body)
                stream.flush()
        except (OSError, ValueError):  # the writer ended: `ok` turns false at its next answer
            self.ok = False
        finally:
            with contextlib.suppress(OSError, ValueError):
                stream.close()

    def lock(self) -> bool:
        """Have the writer take the store's write lock; false when it cannot (then `ok` is false:
        the import is written in the importer's process)."""
        self.send(("lock",))
        return self.answer(("locked",))

    def answer(self, expected: tuple[Any, ...]) -> bool:
        """Wait for the writer's next answer; false (and `ok` false) unless it is `expected`."""
        if self.ok:
            stream = self.proc.stdout
            assert stream is not None
            try:
                self.ok = _receive(stream, _MAX_ANSWER) == expected
            except Exception:  # the writer ended, or said something that is no answer
                self.ok = False
        return self.ok

    def finish(self, message: tuple[Any, ...]) -> bool:
        """Send the last message and wait until the writer has committed (true) or failed."""
        self.send(message)
        self._outbox.put(None)  # the end of the writer's input
        return self.answer(("done",))

    def stop(self) -> None:
        """End the writer (a writer that has not committed then commits nothing)."""
        self.ok = False
        self._outbox.put(None)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._feeder.join()
        if self.proc.stdout is not None:
            # On Windows a virtualenv's python.exe is a launcher: killing it ends the interpreter
            # it started a moment later, not at once. That interpreter holds the pipe's other
            # end, so its end of file means it is gone: nothing commits after stop() returns.
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdout.read()
            self.proc.stdout.close()


def _receive(stream: IO[bytes], limit: int) -> Any:
    head = stream.read(8)
    if len(head) != 8:
        raise EOFError
    size = int.from_bytes(head, "big")
    if size > limit:
        raise ValueError("message too long")
    body = stream.read(size)
    if len(body) != size:
        raise EOFError
    return pickle.loads(body)  # noqa: S301 - our own importer's or writer's message


def _send(stream: IO[bytes], message: tuple[Any, ...]) -> None:
    body = pickled(message)
    stream.write(len(body).to_bytes(8, "big") + body)
    stream.flush()


def _main() -> int:
    """The writer: lock, write what comes, commit at "finish" (anything else: no commit)."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store import applicants as store
    from prakerja_cli.store import audit
    from prakerja_cli.store.db import write
    from prakerja_cli.store.numbering import Numbers
    from prakerja_cli.sync import outbox

    # Ctrl+C at a console reaches every process of the group: the importer ends this one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    limit = 1 << 34  # from our importer: a chunk of records, the ids of a whole import
    kind, office = _receive(inp, limit)
    assert kind == "open"
    ws = open_workspace()
    (kind,) = _receive(inp, limit)  # once the file is read and its columns known
    if kind != "lock":
        raise ValueError(f"unexpected message {kind!r}")
    with write(ws.db):
        ws.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        _send(out, ("locked",))
        # The audit entry's record hashes, from the records as they are inserted (here, not in
        # the importer, whose process is the import's critical path).
        hashes = audit.NewRecordHashes(ws.db, store.NEW_COLUMNS)
        while True:
            message = _receive(inp, limit)
            if message[0] == "insert":
                hashes.add(message[1])
                store.insert_records(ws.db, store.NEW_COLUMNS, message[1])
            elif message[0] == "update":
                _, applicant_id, changes, details = message
                central = outbox.write_edit(ws.db, applicant_id, changes)
                audit.record(ws.db, office, "edit", applicant_id,
                             {**details, **central.audit_details()})  # fmt: skip
            elif message[0] == "finish":
                _, first, count, details, created = message
                if count:
                    numbers = Numbers(ws.db, office)
                    if numbers.issued + 1 != first:
                        raise RuntimeError("the numbers the importer gave are not the counter's")
                    numbers.take(count)
                    numbers.reserve()
                known = hashes.hashes
                audit.record(ws.db, office, "import", None, details, touched=created, known=known)
                break
            else:
                raise ValueError(f"unknown message {message[0]!r}")
    _send(out, ("done",))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
