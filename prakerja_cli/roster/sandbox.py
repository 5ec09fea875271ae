"""Runs calamine in a child process with a memory limit: a hostile spreadsheet that makes it abort
(a Rust allocation failure ends the process, no exception reaches Python) or swell without bound
ends the child, and the command reports it as one clean refusal.

Why a child and not only static checks (roster/bounds.py): calamine follows package
relationships, part-name spellings, sheet kinds, BIFF records and text expansions (shared strings,
.ods `text:s`) its own way, and each new version may read one more. bounds.py refuses what it
recognises early and with a precise reason; this limit holds for whatever it misses. On Windows,
where `resource` does not exist, the child still keeps an abort from taking the command down; the
memory is then bounded by the machine only.

The child is `python -m prakerja_cli.roster.sandbox`: it reads one pickled request on stdin and
writes one pickled reply on stdout. It imports nothing of the application but this module.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Address space the child may use. An import holds ~250 bytes per cell at its peak (bounds.py
#: MAX_CELLS = 4M cells is about 1 GB), and the reply is pickled once more before it is sent.
MAX_READ_MEMORY = 3 << 30
#: Seconds one read may take (a 100k-row workbook takes well under a minute).
TIMEOUT = 600


class ChildFailed(Exception):
    """The child ran out of memory or was ended; `memory` when it was memory."""

    def __init__(self, memory: bool, detail: str) -> None:
        super().__init__(detail)
        self.memory = memory


class ChildError(Exception):
    """calamine refused the file in the child: its exception's class name and text."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name
        self.text = text


def run(
    operation: str, path: Path, sheet: str = "", limits: tuple[int, int, int, int] = (0, 0, 0, 0)
) -> Any:
    """One calamine operation (`sheets` or `cells`) on `path`, in a child process."""
    request = pickle.dumps((operation, str(path), sheet, limits))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "prakerja_cli.roster.sandbox"],
            input=request,
            capture_output=True,
            check=False,
            timeout=TIMEOUT,
            env=_child_environment(),
        )
    except MemoryError:
        raise ChildFailed(True, "reply too big") from None
    except subprocess.TimeoutExpired:
        raise ChildFailed(False, "timeout") from None
    if done.returncode == 0:
        try:
            tag, *payload = pickle.loads(done.stdout)  # noqa: S301 - our own child's reply
        except Exception:
            raise ChildFailed(False, "no reply") from None
        if tag == "ok":
            return payload[0]
        if tag == "memory":
            raise ChildFailed(True, "MemoryError")
        raise ChildError(payload[0], payload[1])
    detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
    text = detail[-1] if detail else f"exit {done.returncode}"
    # An allocation failure aborts (SIGABRT, -6; 134 through a shell), a MemoryError exits 1
    # before the reply, the kernel's OOM killer sends SIGKILL (-9); on Windows 0xC0000409/...
    memory = "memory" in text.lower() or "alloc" in text.lower() or done.returncode in (-6, -9)
    raise ChildFailed(memory, text)


def _child_environment() -> dict[str, str]:
    # The package's own folder first, so the child imports this very code however the parent was
    # started (installed, editable, or from a checkout on sys.path).
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    # A Rust panic's backtrace, symbolised with no memory left, can hang the child.
    return {**os.environ, "PYTHONPATH": path, "RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # Windows: no address-space limit; the child still isolates an abort
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MAX_READ_MEMORY
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def sheets(path: str) -> list[tuple[str, str, str]]:
    """(name, kind, visibility) of every sheet, in workbook order."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(path)
    try:
        return [(m.name, str(m.typ), str(m.visible)) for m in workbook.sheets_metadata]
    finally:
        workbook.close()


def cells(path: str, name: str, limits: tuple[int, int, int, int]) -> tuple[Any, ...]:
    """("rows", rows, first row) or ("too_big",) or ("text_too_long", row). `limits`: columns,
    rows, cells, characters of one cell (an expanded shared string or .ods `text:s` run)."""
    from python_calamine import CalamineWorkbook

    max_columns, max_rows, max_cells, max_text = limits
    workbook = CalamineWorkbook.from_path(path)
    try:
        sheet = workbook.get_sheet_by_name(name)
        width, height = sheet.width, sheet.height
        if width > max_columns or height > max_rows or width * height > max_cells:
            return ("too_big",)
        rows = sheet.to_python(skip_empty_area=False)
        first = sheet.start[0] + 1 if sheet.start else 1
        for number, row in enumerate(rows, start=first):
            if any(isinstance(cell, str) and len(cell) > max_text for cell in row):
                return ("text_too_long", number)
        return ("rows", rows, first)
    finally:
        workbook.close()


def _main() -> int:
    _limit_memory()
    reply: tuple[Any, ...]
    try:
        operation, path, sheet, limits = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
        reply = ("ok", sheets(path) if operation == "sheets" else cells(path, sheet, limits))
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = pickle.dumps(("memory",))
    except BaseException as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        if "pointer is null" in text:  # pyo3's panic when a MemoryError left it no object
            data = pickle.dumps(("memory",))
        else:
            data = pickle.dumps(("error", type(exc).__name__, text))
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
