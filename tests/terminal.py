"""Run the real `prakerja` process under a pseudo-terminal, as a clerk's console runs it.

CliRunner and pipes hide what a terminal shows (progress bars, prompts, colours, width); these
tests see it. pexpect drives the process: `expect` waits for text on the screen, `line` types an
answer and Enter, `close` waits for the exit and returns the exit code and the whole screen text
with the terminal's escape sequences removed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect", reason="pseudo-terminals are POSIX (pexpect.spawn)")

#: CSI sequences (colours, cursor moves, erase), OSC titles, and the odd single-byte escapes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]|\x1b[=>]")


def plain(text: str) -> str:
    """Screen text without escape sequences and carriage returns."""
    return _ESCAPES.sub("", text).replace("\r", "")


class Terminal:
    """One `prakerja` process on an 80x24 pseudo-terminal (stdin, stdout and stderr all on it)."""

    def __init__(
        self,
        args: list[str],
        home: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        width: int = 80,
    ) -> None:
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PRAKERJA_", "PYTEST_", "COLUMNS", "LINES"))
        }
        environment.update(
            {"PRAKERJA_HOME": str(home), "TERM": "xterm-256color", "PYTHONIOENCODING": "utf-8"}
        )
        environment.update(env or {})
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "prakerja_cli", *args],
            cwd=str(cwd) if cwd else None,
            env=environment,
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(24, width),
            timeout=timeout,
        )
        self._seen: list[str] = []

    def expect(self, pattern: str, timeout: float | None = None) -> str:
        """Wait until `pattern` (a regular expression, matched on the text without escapes)
        appears; return the screen text up to and including it."""
        regex = re.compile(pattern)
        buffer = ""
        while True:
            match = regex.search(plain(buffer))
            if match:
                self._seen.append(buffer)
                return plain(buffer)
            try:
                buffer += self.child.read_nonblocking(4096, timeout=timeout or self.child.timeout)
            except pexpect.EOF:
                self._seen.append(buffer)
                raise AssertionError(
                    f"the process ended before {pattern!r} appeared:\n{plain(buffer)}"
                ) from None
            except pexpect.TIMEOUT:
                self._seen.append(buffer)
                raise AssertionError(f"{pattern!r} did not appear:\n{plain(buffer)}") from None

    def line(self, text: str = "") -> None:
        """Type `text` and Enter."""
        self.child.send(text + "\r")

    def answer(self, label: str, text: str) -> str:
        """Wait for the question whose line starts with `label` (a prompt ends in ": "), type
        `text` and Enter; return the screen up to the question."""
        screen = self.expect(rf"(?m)^{re.escape(label)}[^\n]*: $")
        self.line(text)
        return screen

    def interrupt(self) -> None:
        """Ctrl-C, as the clerk presses it."""
        self.child.sendintr()

    def close(self, timeout: float | None = None) -> tuple[int, str]:
        """Wait for the process to end; its exit code and everything it showed."""
        try:
            rest = self.child.read() if timeout is None else ""
            if timeout is not None:
                self.child.expect(pexpect.EOF, timeout=timeout)
                rest = self.child.before or ""
        except pexpect.TIMEOUT:
            self.child.terminate(force=True)
            raise AssertionError(f"the process did not end:\n{self.screen}") from None
        self._seen.append(rest)
        self.child.close()
        status = self.child.exitstatus
        if status is None:  # ended by a signal
            status = 128 + (self.child.signalstatus or 0)
        return status, self.screen

    @property
    def screen(self) -> str:
        return plain("".join(self._seen))


def run_at_terminal(
    args: list[str], home: Path, *, timeout: float = 120, **options: object
) -> tuple[int, str]:
    """Run a command that asks nothing to its end at a terminal; its exit code and screen."""
    terminal = Terminal(args, home, timeout=timeout, **options)  # type: ignore[arg-type]
    return terminal.close()
