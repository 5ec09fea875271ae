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
writes its pickled answers on stdout, each as soon as it is known (a child that dies on the second
has still given the first). It imports nothing of the application but this module. The parent
starts it and may do other work (roster/read.py runs the static bounds check meanwhile) before it
collects the answers, or stop it.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

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


class Child:
    """One calamine operation running in a child process: `book` (the sheets, then the cells of
    the sheet an import asks for first; see `first_sheet`) or `cells` (one sheet's)."""

    def __init__(
        self, operation: str, path: Path, sheet: str = "",
        limits: tuple[int, int, int, int] = (0, 0, 0, 0),
    ) -> None:  # fmt: skip
        self._deadline = time.monotonic() + TIMEOUT
        self._process = start_child("prakerja_cli.roster.sandbox", subprocess.PIPE)
        # The child reads exactly one pickle, so it starts work now; communicate() closes stdin.
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(pickle.dumps((operation, str(path), sheet, limits)))
            self._process.stdin.flush()
        except OSError:
            pass  # the child has ended already: its exit says why (answers)

    def answers(self, count: int) -> list[Any]:
        """The child's `count` answers, in order: each a value, or the ChildFailed or ChildError
        that stands for it (an answer the child did not give shares the reason it ended)."""
        try:
            timeout = max(0.0, self._deadline - time.monotonic())
            stdout, stderr = self._process.communicate(timeout=timeout)
        except MemoryError:
            self.stop()
            return [ChildFailed(True, "reply too big")] * count
        except subprocess.TimeoutExpired:
            self.stop()
            return [ChildFailed(False, "timeout")] * count
        except BaseException:
            self.stop()
            raise
        answers = _decode(stdout, count)
        if len(answers) < count:
            missing = _ended(self._process.returncode, stderr)
            answers += [missing] * (count - len(answers))
        return answers

    def stop(self) -> None:
        """End the child (it may be reading a file the parent has refused) and reap it."""
        self._process.kill()  # TerminateProcess on Windows: the child's memory is freed at once
        self._process.communicate()


def run(
    operation: str, path: Path, sheet: str = "", limits: tuple[int, int, int, int] = (0, 0, 0, 0)
) -> Any:
    """One calamine answer (the `cells` of one sheet) read in a child process."""
    return value(Child(operation, path, sheet, limits).answers(1)[0])


def value(answer: Any) -> Any:
    """An answer's value; its exception raised for a failed one."""
    if isinstance(answer, (ChildFailed, ChildError)):
        raise answer
    return answer


def _decode(stdout: bytes, count: int) -> list[Any]:
    """The whole answers in `stdout` (a child that died mid-answer leaves a truncated one)."""
    stream = io.BytesIO(stdout)
    answers: list[Any] = []
    # No collector pause here: the roster import already runs under importer.paused_gc.
    while len(answers) < count:
        try:
            tag, *payload = pickle.load(stream)  # noqa: S301 - our own child's answer
        except MemoryError:
            answers.append(ChildFailed(True, "reply too big"))
            break
        except Exception:  # no answer, or a truncated one: the child's exit tells why
            break
        if tag == "ok":
            answers.append(payload[0])
        elif tag == "memory":
            answers.append(ChildFailed(True, "MemoryError"))
        else:
            answers.append(ChildError(payload[0], payload[1]))
    return answers


def _ended(returncode: int, stderr: bytes) -> ChildFailed:
    """Why a child gave no (further) answer."""
    if returncode == 0:
        return ChildFailed(False, "no reply")
    detail = stderr.decode("utf-8", "replace").strip().splitlines()
    text = detail[-1] if detail else f"exit {returncode}"
    # An allocation failure aborts (SIGABRT, -6; 134 through a shell), a MemoryError exits 1
    # before the reply, the kernel's OOM killer sends SIGKILL (-9); on Windows a Rust abort is a
    # fail-fast (0xC0000409), the C runtime's abort() exits 3, and 0xC0000017 is "no memory".
    memory = "memory" in text.lower() or "alloc" in text.lower() or returncode in _MEMORY_EXITS
    return ChildFailed(memory, text)


def start_child(module: str, stderr: int | None = None) -> subprocess.Popen[bytes]:
    """A child process of ours running `module`, talking over pipes: the reader here, the row
    workers (roster/rows.py), the import's writer (roster/writer.py). -P: not the current folder
    first on sys.path (`-m` puts it there), so a folder named prakerja_cli where the clerk runs the
    command is never what the child runs. Its error output (`stderr` None: discarded) could quote
    cells, names or NIKs: shown only when PRAKERJA_DEBUG is set."""
    if stderr is None and not os.environ.get("PRAKERJA_DEBUG"):
        stderr = subprocess.DEVNULL
    return subprocess.Popen(  # noqa: S603 - this interpreter, one of our modules
        [sys.executable, "-P", "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=child_environment(),
    )


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


def sheet_names(metadata: list[tuple[str, str, str]]) -> tuple[list[str], set[str]]:
    """The worksheets an import may take (every sheet when there is no worksheet), and those
    Excel does not show (hidden or "very hidden")."""
    names = [name for name, kind, _ in metadata if kind.endswith("WorkSheet")]
    hidden = {name for name, _, visible in metadata if not visible.endswith(".Visible")}
    return names or [name for name, _, _ in metadata], hidden


def first_sheet(metadata: list[tuple[str, str, str]], wanted: str) -> str | None:
    """The sheet an import reads first (importer.choose_sheet): the one asked for, or the first
    visible one. Read with the sheet list, calamine opens the file once; a wrong guess costs
    one more child."""
    names, hidden = sheet_names(metadata)
    if wanted:
        names = [n for n in names if n == wanted] or [
            n for n in names if n.lower() == wanted.lower()
        ]
    ordered = [n for n in names if n not in hidden] + [n for n in names if n in hidden]
    return ordered[0] if ordered else None


def _metadata(workbook: Any) -> list[tuple[str, str, str]]:
    """(name, kind, visibility) of every sheet, in workbook order."""
    return [(m.name, str(m.typ), str(m.visible)) for m in workbook.sheets_metadata]


def _cells(workbook: Any, name: str, limits: tuple[int, int, int, int]) -> tuple[Any, ...]:
    """("rows", rows, first row) or ("too_big",) or ("text_too_long", row). `limits`: columns,
    rows, cells, characters of one cell (an expanded shared string or .ods `text:s` run)."""
    max_columns, max_rows, max_cells, max_text = limits
    sheet = workbook.get_sheet_by_name(name)
    # The grid starts at A1 (skip_empty_area=False keeps blank leading rows and columns, so each
    # row's number is the one Excel shows) and ends at the last cell used.
    height, width = (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
    if width > max_columns or height > max_rows or width * height > max_cells:
        return ("too_big",)
    rows = sheet.to_python(skip_empty_area=False)
    first = 1
    for number, row in enumerate(rows, start=first):
        for cell in row:  # one plain loop: half the time of any() over a generator
            if cell.__class__ is str and len(cell) > max_text:
                return ("text_too_long", number)
    return ("rows", rows, first)


def _work(
    operation: str, path: str, sheet: str, limits: tuple[int, int, int, int]
) -> Iterator[Any]:
    """The answers to one request, each computed when the previous one has been sent."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(path)
    try:
        if operation == "book":
            metadata = _metadata(workbook)
            yield metadata
            first = first_sheet(metadata, sheet)
            yield None if first is None else _cells(workbook, first, limits)
        else:
            yield _cells(workbook, sheet, limits)
    finally:
        workbook.close()


def pickled(value: Any) -> bytes:
    """`value` pickled without the memo, for a child's answer (here, and the row workers' of
    roster/rows.py): a sheet's 1.5M strings are each written once, and the memo's bookkeeping
    was 0.36 s of 0.50 s for 100k rows x 15 columns. Answers hold no object twice and no cycle,
    which is what the memo is for."""
    data = io.BytesIO()
    pickler = pickle.Pickler(data, protocol=pickle.HIGHEST_PROTOCOL)
    # Documented as deprecated since Python 3.0 yet never warned about; were it ever removed,
    # the answer would only be slower.
    with contextlib.suppress(AttributeError):
        pickler.fast = True
    pickler.dump(value)
    return data.getvalue()


def _send(out: IO[bytes], answer: tuple[Any, ...]) -> None:
    out.write(pickled(answer))
    out.flush()


def _main() -> int:
    _limit_memory()
    gc.disable()  # a short-lived reader holding no cycles: 0.1 s less to build 100k rows
    out = sys.stdout.buffer
    try:
        # Exactly one pickle, without waiting for the end of stdin: the parent keeps it open.
        operation, path, sheet, limits = pickle.load(sys.stdin.buffer)  # noqa: S301
        work = _work(operation, path, sheet, limits)
        while True:
            try:
                answer = next(work)
            except StopIteration:
                return 0
            _send(out, ("ok", answer))
    except MemoryError:
        _send(out, ("memory",))
    except BaseException as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        if "pointer is null" in text:  # pyo3's panic when a MemoryError left it no object
            _send(out, ("memory",))
        else:
            _send(out, ("error", type(exc).__name__, text))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
