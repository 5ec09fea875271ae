"""Runs calamine in a child process with a memory limit: a hostile spreadsheet that makes it abort
(a Rust allocation failure ends the process, no exception reaches Python) or swell without bound
ends the child, and the command reports it as one clean refusal.

Why a child and not only static checks (roster/bounds.py): calamine follows package
relationships, part-name spellings, sheet kinds, BIFF records and text expansions (shared strings,
.ods `text:s`) its own way, and each new version may read one more. bounds.py refuses what it
recognises early and with a precise reason; this limit holds for whatever it misses. On Linux and
macOS the limit is the child's address space (RLIMIT_AS); on Windows, where `resource` does not
exist, the child puts itself in a Job Object whose per-process memory limit is the same figure
(`_limit_memory_windows`), and asks Windows for no crash dialog, so a hostile file cannot leave a
"python has stopped working" box on the clerk's screen with the import waiting behind it.

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
            env=child_environment(),
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
    # before the reply, the kernel's OOM killer sends SIGKILL (-9); on Windows a Rust abort is a
    # fail-fast (0xC0000409), the C runtime's abort() exits 3, and 0xC0000017 is "no memory".
    memory = "memory" in text.lower() or "alloc" in text.lower() or done.returncode in _MEMORY_EXITS
    raise ChildFailed(memory, text)


def child_environment() -> dict[str, str]:
    # The package's own folder first, so the child imports this very code however the parent was
    # started (installed, editable, or from a checkout on sys.path).
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    # A Rust panic's backtrace, symbolised with no memory left, can hang the child.
    return {**os.environ, "PYTHONPATH": path, "RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}


#: Exit codes of a child that ran out of memory (see run): POSIX signals, then Windows statuses.
_MEMORY_EXITS = (-6, -9, 3, 0xC0000409, 0xC0000017)


def _limit_memory() -> None:
    if sys.platform == "win32":
        _limit_memory_windows()
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MAX_READ_MEMORY
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


# Windows: a Job Object with a per-process memory limit (winnt.h, jobapi2.h). The structures are
# laid out as the 64-bit and 32-bit SDKs define them: LARGE_INTEGER is 64 bits, SIZE_T and
# ULONG_PTR are pointer-sized.
_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9  # JOBOBJECTINFOCLASS
_JOB_OBJECT_LIMIT_PROCESS_MEMORY = 0x00000100
_JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x00000400
_SEM_FAILCRITICALERRORS, _SEM_NOGPFAULTERRORBOX = 0x0001, 0x0002


def _job_structures() -> tuple[type[Any], type[Any]]:
    """(JOBOBJECT_BASIC_LIMIT_INFORMATION, JOBOBJECT_EXTENDED_LIMIT_INFORMATION) as ctypes
    structures; defined on any OS so that tests can check their layout."""
    import ctypes

    class Basic(ctypes.Structure):
        _fields_ = [
            ("PerProcessUserTimeLimit", ctypes.c_int64),
            ("PerJobUserTimeLimit", ctypes.c_int64),
            ("LimitFlags", ctypes.c_uint32),
            ("MinimumWorkingSetSize", ctypes.c_size_t),
            ("MaximumWorkingSetSize", ctypes.c_size_t),
            ("ActiveProcessLimit", ctypes.c_uint32),
            ("Affinity", ctypes.c_size_t),
            ("PriorityClass", ctypes.c_uint32),
            ("SchedulingClass", ctypes.c_uint32),
        ]

    class IoCounters(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_uint64)
            for name in ("ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
                         "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")
        ]  # fmt: skip

    class Extended(ctypes.Structure):
        _fields_ = [
            ("BasicLimitInformation", Basic),
            ("IoInfo", IoCounters),
            ("ProcessMemoryLimit", ctypes.c_size_t),
            ("JobMemoryLimit", ctypes.c_size_t),
            ("PeakProcessMemoryUsed", ctypes.c_size_t),
            ("PeakJobMemoryUsed", ctypes.c_size_t),
        ]

    return Basic, Extended


def job_limit(limit: int) -> Any:
    """The JOBOBJECT_EXTENDED_LIMIT_INFORMATION that caps each process of a job at `limit` bytes
    (and ends it, rather than showing a dialog, on an unhandled exception)."""
    _, extended = _job_structures()
    info = extended()
    info.BasicLimitInformation.LimitFlags = (
        _JOB_OBJECT_LIMIT_PROCESS_MEMORY | _JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
    )
    info.ProcessMemoryLimit = limit
    return info


def _limit_memory_windows(kernel32: Any = None) -> bool:
    """Put this process in a new Job Object limited to MAX_READ_MEMORY (a process may join a
    job of its own since Windows 8, nested inside any job it is already in); True when the limit
    holds. Where it cannot be set (an old Windows, a job that forbids it), the child still keeps
    an abort from taking the command down, and the memory is bounded by the machine only."""
    import ctypes

    if kernel32 is None:
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        kernel32.SetErrorMode.argtypes = [wintypes.UINT]
        kernel32.SetErrorMode.restype = wintypes.UINT
        kernel32.CreateJobObjectW.argtypes = [wintypes.LPVOID, wintypes.LPCWSTR]
        kernel32.CreateJobObjectW.restype = wintypes.HANDLE
        kernel32.SetInformationJobObject.argtypes = [
            wintypes.HANDLE, ctypes.c_int, wintypes.LPVOID, wintypes.DWORD,
        ]  # fmt: skip
        kernel32.SetInformationJobObject.restype = wintypes.BOOL
        kernel32.GetCurrentProcess.argtypes = []
        kernel32.GetCurrentProcess.restype = wintypes.HANDLE
        kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
        kernel32.AssignProcessToJobObject.restype = wintypes.BOOL
    # No "has stopped working" box for a crash: the parent reports it.
    kernel32.SetErrorMode(_SEM_FAILCRITICALERRORS | _SEM_NOGPFAULTERRORBOX)
    job = kernel32.CreateJobObjectW(None, None)
    if not job:
        return False
    info = job_limit(MAX_READ_MEMORY)
    if not kernel32.SetInformationJobObject(
        job, _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ctypes.byref(info), ctypes.sizeof(info)
    ):
        return False
    # The job's handle stays open for the child's life (closing it would not lift the limit,
    # but there is nothing to gain by closing it early).
    return bool(kernel32.AssignProcessToJobObject(job, kernel32.GetCurrentProcess()))


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
