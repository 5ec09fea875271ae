"""CPU time of each process of a command's process tree, sampled while it runs (Linux: /proc).

    PRAKERJA_HOME=/tmp/office python benchmarks/process_cpu.py prakerja roster import r.csv --json

Prints the command's wall time, then for each process it started (the roster import's reader,
row workers and writer): when it appeared, the CPU (user + system) it had used at its last
sample, and its command line. Figures are lower bounds: a process's last 20 ms are not seen. The
command's standard output goes to /dev/null.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

#: Seconds between samples, and the kernel's clock ticks per second (USER_HZ).
INTERVAL = 0.02
TICKS = 100


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, children):
        found += [child, *descendants(child)]
    return found


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    if not Path("/proc/self/stat").exists():
        print("needs Linux's /proc")
        return 2
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    seen: dict[int, tuple[float, float, str]] = {}  # pid: (first seen, cpu, command line)
    while proc.poll() is None:
        for pid in [proc.pid, *descendants(proc.pid)]:
            cpu = cpu_seconds(pid)
            if cpu is None:
                continue
            first, _, line = seen.get(pid, (time.perf_counter() - start, 0.0, command_line(pid)))
            seen[pid] = (first, cpu, line)
        time.sleep(INTERVAL)
    print(f"wall {time.perf_counter() - start:.2f} s, exit {proc.returncode}")
    for first, cpu, line in seen.values():
        print(f"  from {first:5.2f} s  cpu >= {cpu:5.2f} s  {line[-90:]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
