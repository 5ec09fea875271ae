"""What each row of a roster decides on its own: whether it is an applicant's row at all, and every
check of its cells that needs no store (core.validate.check_form). Pure, so a big file is checked
on every core: the importer's process takes the first share of the rows and worker processes
(`python -m prakerja_cli.roster.rows`, one pickled request on stdin, one pickled reply on stdout)
take the others; the importer then asks the store about each row, in file order.

A worker that cannot start or fails leaves its share to the importer's process: the same checks
run there, so the result is the same, only slower.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from prakerja_cli.core.fields import blank
from prakerja_cli.core.nik import NikInfo
from prakerja_cli.core.validate import FIELDS, Checked, ValidationContext, check_form

#: A row's verdict before the store is asked: None (a blank row), TOTAL (a total line), NOT_APPLICANT
#: (a title, a section heading, column numbers, a signature line), or its Checked form.
TOTAL = "total"
NOT_APPLICANT = "not_applicant"
RowCheck = Checked | str | None
Progress = Callable[[int], None]

#: Rows a worker process must have to be worth its start (~0.2 s: an interpreter and the
#: validation modules): a row's checks take ~30 us, so a share below this is checked at home.
MIN_SHARE = 10_000
#: What a share costs, measured on the 100k-row benchmark roster (µs): checking a row here, and
#: in a worker (with packing its answer, and unpacking it here afterwards), and a worker's start.
_CHECK_US, _WORKER_US, _START_US = 30, 34, 200_000
#: How often (rows) the importer's own share reports progress.
_PROGRESS_EVERY = 1000

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


def check_rows(
    rows: Sequence[list[Any]],
    layout: Layout,
    ctx: ValidationContext,
    progress: Progress | None = None,
) -> list[RowCheck]:
    """Each row's verdict before the store is asked (see RowCheck), in order."""
    from prakerja_cli.roster.headers import split_combined

    columns = layout.columns
    nik_col, id_cols = layout.nik_col, layout.id_cols
    mapped = [col for col, _ in columns]
    last_col = max(mapped)
    out: list[RowCheck] = []
    for offset, cells in enumerate(rows):
        if progress is not None and offset % _PROGRESS_EVERY == 0:
            progress(offset)
        if blank_row(cells):
            out.append(None)
            continue
        if is_total_row(cells, nik_col):
            out.append(TOTAL)
            continue
        if not_applicant(cells, id_cols, mapped):
            out.append(NOT_APPLICANT)
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
        numeric = frozenset(number_cells) if number_cells else frozenset()
        out.append(check_form(form, ctx, numeric))
    return out


def cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def check_rows_parallel(
    rows: Sequence[list[Any]],
    layout: Layout,
    ctx: ValidationContext,
    jobs: int,
    progress: Progress | None = None,
    min_share: int = MIN_SHARE,
) -> list[RowCheck]:
    """check_rows on up to `jobs` processes (this one included), each with `min_share` rows or
    more: the same list, sooner."""
    shares = max(1, min(jobs, len(rows) // max(1, min_share)))
    if getattr(sys, "frozen", False):
        shares = 1  # a frozen build's executable is the CLI itself, not an interpreter
    if shares == 1:
        return check_rows(rows, layout, ctx, progress)
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
        # This process's share is 1/shares of the rows; the workers move at about its pace.
        scaled = (lambda done: progress(done * shares)) if progress is not None else None
        checked = check_rows(rows[: bounds[1]], layout, ctx, scaled)
        for i, worker in enumerate(workers, start=1):
            part = worker.result()
            if part is None or len(part) != bounds[i + 1] - bounds[i]:
                part = check_rows(rows[bounds[i] : bounds[i + 1]], layout, ctx)
            checked.extend(part)
    finally:
        for worker in workers:
            worker.stop()
    return checked


def share_bounds(count: int, shares: int) -> list[int]:
    """Where each share of `count` rows begins, and the end: this process's first, then the
    workers'. A worker's share is smaller by what starting it and handing its answer over cost,
    so that all finish together (the result does not depend on it, only the wait)."""
    worker = (_CHECK_US * count - _START_US) // (_CHECK_US * (shares - 1) + _WORKER_US)
    worker = max(1, min(worker, count // shares))
    first = count - worker * (shares - 1)
    return [0, *(first + worker * i for i in range(shares))]


#: Seconds a worker may take for its share (~0.3 s for 10,000 rows) before it is ended and its
#: share checked here: a worker that hangs must not hang the import.
WORKER_TIMEOUT = 600.0


class _Worker:
    """One worker process checking one share of the rows."""

    def __init__(self, proc: subprocess.Popen[bytes] | None, feeder: threading.Thread | None):
        self.proc = proc
        self.feeder = feeder

    @classmethod
    def start(cls, rows: Sequence[list[Any]], layout: Layout, ctx: ValidationContext) -> _Worker:
        from prakerja_cli.roster.sandbox import child_environment

        try:
            request = dumps((list(rows), layout, ctx))
            proc = subprocess.Popen(
                # -P: not the current folder first on sys.path (see roster/sandbox.py).
                [sys.executable, "-P", "-m", "prakerja_cli.roster.rows"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # A worker's traceback could quote cells (names, NIKs): shown only when debugging.
                stderr=None if os.environ.get("PRAKERJA_DEBUG") else subprocess.DEVNULL,
                env=child_environment(),
            )
        except Exception:  # no interpreter to start, or a context that does not pickle
            return cls(None, None)
        assert proc.stdin is not None
        # Fed from a thread: the worker reads its request while this process checks its share.
        feeder = threading.Thread(target=_feed, args=(proc.stdin, request), daemon=True)
        feeder.start()
        return cls(proc, feeder)

    def result(self) -> list[RowCheck] | None:
        """The worker's answer, or None when it failed or took longer than WORKER_TIMEOUT (its
        share is then checked here)."""
        if self.proc is None or self.proc.stdout is None:
            return None
        watchdog = threading.Timer(WORKER_TIMEOUT, self.proc.kill)
        watchdog.start()
        try:
            data = self.proc.stdout.read()
            if self.proc.wait() != 0:
                return None
            return unpack(data)
        except Exception:
            return None
        finally:
            watchdog.cancel()

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        if self.feeder is not None:
            self.feeder.join()


def _feed(stream: IO[bytes], request: bytes) -> None:
    try:
        stream.write(request)
    except OSError:
        pass  # the worker ended early: result() sees it
    finally:
        with contextlib.suppress(OSError):
            stream.close()


_BORN = tuple(FIELDS).index("birth_date")
_NIK = tuple(FIELDS).index("nik")


def pack(checks: list[RowCheck]) -> bytes:
    """A worker's answer as bytes, pickled as plain tuples with dates as day numbers: a slotted
    dataclass pickles through Python code, and a date as a class and its state, several times
    the cost of checking the row. The rare findings stay objects."""
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
    return dumps(packed)


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


def dumps(value: Any) -> bytes:
    """Pickled without the memo: nothing here is shared or recursive, and the memo's bookkeeping
    is most of the cost of pickling many small tuples and lists."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(value)
    return buffer.getvalue()


def _main() -> int:
    gc.disable()  # as in the importer (importer.paused_gc): its rows make no cycles
    rows, layout, ctx = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - from our importer
    sys.stdout.buffer.write(pack(check_rows(rows, layout, ctx)))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
