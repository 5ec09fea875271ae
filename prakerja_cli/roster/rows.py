"""What each row of a roster decides on its own: whether it is an applicant's row at all, and every
check of its cells that needs no store (core.validate.check_form). Pure, so a big file is checked
on every core: the importer's process takes the first share of the rows and worker processes
(`python -P -m prakerja_cli.roster.rows`, one pickled request on stdin, the verdicts back on
stdout in chunks of _CHUNK rows) take the others; the importer asks the store about each row in
file order, as its verdict comes (checks_in_order).

A worker that cannot start or fails leaves its share to the importer's process: the same checks
run there, so the result is the same, only slower.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from prakerja_cli.core.fields import blank
from prakerja_cli.core.nik import NikInfo
from prakerja_cli.core.validate import FIELDS, Checked, ValidationContext, check_form
from prakerja_cli.roster.sandbox import pickled, start_child

#: A row's verdict before the store is asked: None (a blank row), TOTAL (a total line), NOT_APPLICANT
#: (a title, a section heading, column numbers, a signature line), or its Checked form.
TOTAL = "total"
NOT_APPLICANT = "not_applicant"
RowCheck = Checked | str | None

#: Rows a worker process must have to be worth its start (~0.35 s: an interpreter, the
#: validation modules and its request): a row's checks take ~30 us, so by default a file needs
#: twice this for a worker at all.
MIN_SHARE = 10_000
#: What rows cost, fitted on the 100k-row benchmark roster (µs a row): here, checking a row,
#: asking the store about it and comparing it with similar records (own), or unpacking a worker's
#: verdict, asking and comparing (handed); in a worker, reading, checking and packing; and a
#: worker's start with its request (µs). At 2 cores this keeps ~36 % of the rows here: 30-39 %
#: all measured alike (3.7-3.9 s from the read to the end of the similar-record comparisons).
_OWN_US, _HANDED_US, _WORKER_US, _START_US = 44, 21, 40, 350_000
#: Rows a worker answers at a time, and the most bytes such an answer may take.
_CHUNK = 2000
_MAX_CHUNK_BYTES = 1 << 28
_NO_NUMBERS: frozenset[str] = frozenset()

_TOTAL_ROW = re.compile(r"^\s*(jumlah|total|grand total|sub ?total)\b", re.IGNORECASE)
_IDENTIFYING = re.compile(r"\d{8}")
_COLUMN_NUMBER = re.compile(r"\s*[(\[]?\d{1,3}[)\]]?\.?\s*")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the mapped fields are in a row: (column, field) pairs in header order."""

    columns: tuple[tuple[int, str], ...]
    combined: bool  # a column holds two fields ("Tempat/Tgl Lahir"): split_combined splits it

    @property
    def nik_col(self) -> int:
        return next(col for col, name in self.columns if name == "nik")

    @property
    def id_cols(self) -> list[int]:
        return [col for col, name in self.columns if name in ("nik", "kk")]


def blank_row(cells: list[Any]) -> bool:
    return all(map(blank, cells))


def is_total_row(cells: list[Any], nik_col: int) -> bool:
    nik = cells[nik_col] if nik_col < len(cells) else None
    if nik not in (None, "") and not (isinstance(nik, str) and _TOTAL_ROW.match(nik)):
        return False  # a row with an ordinary NIK (nearly every row) is no total row
    first = next((c for c in cells if not blank(c)), None)
    return (
        isinstance(first, str)
        and bool(_TOTAL_ROW.match(first))
        and (nik in (None, "") or nik == first)
    )


def not_applicant(cells: list[Any], id_columns: list[int], columns: list[int]) -> bool:
    """A row with no NIK or KK number that is a title, a section heading ("RT 01"), the column
    numbers some forms print under the header ("(1) (2) (3)"), or a line of the signature block:
    at most two cells filled, or nothing but small numbers."""
    for col in id_columns:
        value = cells[col] if col < len(cells) else None
        if isinstance(value, str):
            if _IDENTIFYING.search(value):
                return False  # nearly every row: a NIK or KK with its digits
        elif isinstance(value, int | float) and not isinstance(value, bool) and value >= 1e7:
            return False
    filled = [cells[col] for col in columns if col < len(cells) and not blank(cells[col])]
    return len(filled) <= 2 or all(map(_small_number, filled))


def _small_number(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 0 < value < 1000 and float(value).is_integer()
    return isinstance(value, str) and _COLUMN_NUMBER.fullmatch(value) is not None


def check_rows(rows: Sequence[list[Any]], layout: Layout, ctx: ValidationContext) -> list[RowCheck]:
    """Each row's verdict before the store is asked (see RowCheck), in order."""
    return list(iter_checks(rows, layout, ctx))


def iter_checks(
    rows: Sequence[list[Any]], layout: Layout, ctx: ValidationContext
) -> Iterator[RowCheck]:
    """check_rows, one row at a time (the importer asks the store about a row as it comes)."""
    from prakerja_cli.roster.headers import split_combined

    columns = layout.columns
    nik_col, id_cols = layout.nik_col, layout.id_cols
    mapped = [col for col, _ in columns]
    last_col = max(mapped)
    for cells in rows:
        if blank_row(cells):
            yield None
            continue
        if is_total_row(cells, nik_col):
            yield TOTAL
            continue
        if not_applicant(cells, id_cols, mapped):
            yield NOT_APPLICANT
            continue
        if len(cells) > last_col:
            form = {name: cells[col] for col, name in columns}
        else:
            form = {name: cells[col] if col < len(cells) else None for col, name in columns}
        if layout.combined:
            form = split_combined(form)
        number_cells = [
            name
            for name, value in form.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        ]
        yield check_form(form, ctx, frozenset(number_cells) if number_cells else _NO_NUMBERS)


def cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def checks_in_order(
    rows: Sequence[list[Any]],
    layout: Layout,
    ctx: ValidationContext,
    jobs: int,
    min_share: int = MIN_SHARE,
) -> Generator[RowCheck, None, None]:
    """iter_checks on up to `jobs` processes (this one included), each with `min_share` rows or
    more: the same verdicts in the same order, sooner. This process checks the first share while
    the workers check theirs; their answers then come in chunks as they are ready, so the
    importer asks the store about one worker's rows while the workers still check later ones.
    Close it (contextlib.closing) so that workers are ended if the caller stops early."""
    shares = max(1, min(jobs, len(rows) // max(1, min_share)))
    if getattr(sys, "frozen", False):
        shares = 1  # a frozen build's executable is the CLI itself, not an interpreter
    if shares == 1:
        yield from iter_checks(rows, layout, ctx)
        return
    bounds = share_bounds(len(rows), shares)
    # What a worker needs of the context: no store lookups (check_form never calls them) and a
    # memo of its own.
    pure = ValidationContext(
        rules=ctx.rules, today=ctx.today, regions=ctx.regions, places=ctx.places, memo={}
    )
    workers: list[_Worker] = []
    try:
        for i in range(1, shares):
            workers.append(_Worker.start(rows[bounds[i] : bounds[i + 1]], layout, pure))
        yield from iter_checks(rows[: bounds[1]], layout, ctx)
        for i, worker in enumerate(workers, start=1):
            share = rows[bounds[i] : bounds[i + 1]]
            done = 0
            for part in worker.answers(len(share)):
                yield from part
                done += len(part)
            # A worker that failed or ended early: the rest of its share is checked here.
            yield from iter_checks(share[done:], layout, ctx)
    finally:
        for worker in workers:
            worker.stop()


def share_bounds(count: int, shares: int) -> list[int]:
    """Where each share of `count` rows begins, and the end: this process's first, then the
    workers' (equal). Sized so that this process, which checks its own rows and then asks the
    store about every row, never waits for a worker: it keeps enough rows to stay busy while the
    workers start, and the workers take as many as they can check before it needs them. The
    verdicts do not depend on it, only the time."""
    workers = shares - 1
    worker = (_OWN_US * count - _START_US) // (workers * (_OWN_US - _HANDED_US) + _WORKER_US)
    own_at_least = (_START_US + _CHUNK * _WORKER_US) // _OWN_US  # busy until the first chunk
    worker = max(1, min(worker, (count - min(own_at_least, count // shares)) // workers))
    first = count - worker * workers
    return [0, *(first + worker * i for i in range(shares))]


#: Seconds a worker may take for its share (~0.3 s for 10,000 rows) before it is ended and its
#: share checked here: a worker that hangs must not hang the import.
WORKER_TIMEOUT = 600.0


class _Worker:
    """One worker process checking one share of the rows. Its answer is read by a thread as it
    comes (a chunk is ~0.5 MB, a pipe holds 64 KiB: unread, the worker would stop at its first
    chunk until this process asks for it) and handed over whole chunks at a time."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes] | None = None,
        threads: tuple[threading.Thread, ...] = (),
    ) -> None:
        self.proc = proc
        self.threads = threads
        self.chunks: queue.Queue[bytes | None] = queue.Queue()

    @classmethod
    def start(cls, rows: Sequence[list[Any]], layout: Layout, ctx: ValidationContext) -> _Worker:
        try:
            request = pickled((list(rows), layout, ctx, _CHUNK))
            proc = start_child("prakerja_cli.roster.rows")
        except Exception:  # no interpreter to start, or a context that does not pickle
            return cls()
        assert proc.stdin is not None and proc.stdout is not None
        worker = cls(proc)
        # The worker reads its request while this process checks its own share.
        feeder = threading.Thread(target=_feed, args=(proc.stdin, request), daemon=True)
        reader = threading.Thread(target=_drain, args=(proc.stdout, worker.chunks), daemon=True)
        worker.threads = (feeder, reader)
        for thread in worker.threads:
            thread.start()
        return worker

    def answers(self, expected: int) -> Iterator[list[RowCheck]]:
        """The worker's answer in chunks, in order, until it ends, fails, answers more than
        `expected` rows or takes longer than WORKER_TIMEOUT in all; the rows it did not answer
        are then checked by the caller."""
        if self.proc is None:
            return
        deadline = time.monotonic() + WORKER_TIMEOUT
        while expected > 0:
            try:
                body = self.chunks.get(timeout=max(0.0, deadline - time.monotonic()))
                if body is None:  # the worker's end (early, when rows are still expected)
                    return
                part = unpack(body)
            except Exception:  # too slow, or an answer that is not one
                return
            if len(part) > expected:
                return
            expected -= len(part)
            yield part

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for thread in self.threads:
            thread.join()  # the reader sees the end of the dead worker's output
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


def _feed(stream: IO[bytes], request: bytes) -> None:
    try:
        stream.write(request)
    except OSError:
        pass  # the worker ended early: answers() sees it
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _drain(stream: IO[bytes], chunks: queue.Queue[bytes | None]) -> None:
    """Whole chunks (an 8-byte length, then the pickle) as the worker writes them; None last."""
    try:
        while len(head := stream.read(8)) == 8:
            size = int.from_bytes(head, "big")
            if size > _MAX_CHUNK_BYTES:
                break  # not one of our chunks (a chunk of 2,000 rows is ~0.5 MB)
            body = stream.read(size)
            if len(body) != size:
                break  # cut short: the worker died mid-chunk
            chunks.put(body)
    except Exception:  # noqa: S110 - a broken pipe or a closed stream: the end, said below
        pass
    finally:
        chunks.put(None)


_BORN = tuple(FIELDS).index("birth_date")
_NIK = tuple(FIELDS).index("nik")


def pack(checks: list[RowCheck]) -> bytes:
    """A chunk of a worker's answer as bytes, pickled as plain tuples with dates as day
    numbers: a slotted dataclass pickles through Python code, and a date as a class and its
    state, several times the cost of checking the row. The rare findings stay objects."""
    packed: list[Any] = []
    for check in checks:
        if isinstance(check, Checked):
            values = list(check.values.values())
            values[_BORN] = _day(values[_BORN])
            nik = check.nik_info
            packed.append(
                (
                    values,
                    check.findings,
                    check.later,
                    None if nik is None else (nik.nik, nik.province_code, nik.regency_code,
                                              nik.district_code, _day(nik.birth_date), nik.gender,
                                              nik.serial, nik.findings),
                )
            )  # fmt: skip
        else:
            packed.append(check)
    return pickled(packed)


def unpack(data: bytes) -> list[RowCheck]:
    """What pack packed."""
    names = tuple(FIELDS)
    checks: list[RowCheck] = []
    for item in pickle.loads(data):  # noqa: S301 - our own worker's answer
        if type(item) is tuple:
            values, findings, later, nik = item
            values[_BORN] = _undo_day(values[_BORN])
            info = None
            if nik is not None:
                number, province, regency, district, born, gender, serial, found = nik
                if number == values[_NIK]:
                    number = values[_NIK]  # one string, as in the worker (not two copies)
                info = NikInfo(
                    number, province, regency, district, _undo_day(born), gender, serial, found
                )
            checks.append(Checked(dict(zip(names, values, strict=True)), findings, later, info))
        else:
            checks.append(item)
    return checks


def _day(value: Any) -> Any:
    """A date as its day number (an int); anything else in a tuple, to tell the two apart."""
    return value.toordinal() if type(value) is date else (value,)


def _undo_day(value: Any) -> Any:
    return date.fromordinal(value) if type(value) is int else value[0]


def _main() -> int:
    gc.disable()  # as in the importer (importer.paused_gc): its rows make no cycles
    request = sys.stdin.buffer.read()
    rows, layout, ctx, chunk = pickle.loads(request)  # noqa: S301 - from our importer
    out = sys.stdout.buffer
    for start in range(0, len(rows), chunk):
        body = pack(check_rows(rows[start : start + chunk], layout, ctx))
        out.write(len(body).to_bytes(8, "big"))
        out.write(body)
        out.flush()  # the importer asks the store about these rows while this checks the next
    return 0


if __name__ == "__main__":
    sys.exit(_main())
