"""Set up and run prakerja-cli from a checkout, with nothing but Python >= 3.11.

    python3 run.py demo     the demo (a throw-away office, then a sync to the reference server)
    python3 run.py test     what CI runs: ruff check, ruff format --check, mypy, pytest

(On Windows: `py run.py demo`.) Both make a virtual environment in `.venv` beside this file the
first time, install the project into it, and run there: a system Python that refuses
`pip install` (Debian and Ubuntu's "externally-managed-environment") is never asked to install
anything. Run from a virtual environment that is already active, they use that one instead.
Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"

TASKS = {
    "demo": ("central", [["-m", "prakerja_cli", "demo"]]),
    "test": (
        "test",
        [
            ["-m", "ruff", "check", "."],
            ["-m", "ruff", "format", "--check", "."],
            ["-m", "mypy"],
            ["-m", "pytest"],
        ],
    ),
}


def say(text: str) -> None:
    print(f"run.py: {text}", file=sys.stderr, flush=True)


def venv_python(folder: Path) -> Path:
    if os.name == "nt":
        return folder / "Scripts" / "python.exe"
    return folder / "bin" / "python"


def has_pip(python: Path) -> bool:
    probe = [str(python), "-m", "pip", "--version"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def make_venv() -> Path:
    """The interpreter to install into: the active virtual environment, or `.venv` (made now if
    it is missing or broken)."""
    if sys.prefix != sys.base_prefix:
        return Path(sys.executable)
    python = venv_python(VENV)
    if python.is_file() and has_pip(python):
        return python
    say(f"making a virtual environment in {VENV}")
    # Debian and Ubuntu split ensurepip off (package python3-venv), and their venv then exits
    # the process. A venv without pip still works: the system's own pip, run by the venv's
    # interpreter, installs pip into it.
    with_pip = importlib.util.find_spec("ensurepip") is not None
    venv.EnvBuilder(with_pip=with_pip, clear=True).create(VENV)
    if not with_pip:
        bootstrap_pip(python)
    return python


def bootstrap_pip(python: Path) -> None:
    try:
        import pip
    except ImportError:
        sys.exit(
            "run.py: this Python has neither ensurepip nor pip. Install one of them "
            "(Debian/Ubuntu: `apt install python3-venv` or `apt install python3-pip`)."
        )
    where = str(Path(pip.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": where}
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--ignore-installed", "pip"],
        env=env,
        check=True,
    )


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        sys.exit(
            f"run.py: prakerja-cli needs Python 3.11 or newer (this is {sys.version.split()[0]})."
        )
    if len(argv) != 1 or argv[0] not in TASKS:
        sys.exit(f"usage: python3 run.py {{{'|'.join(TASKS)}}}")
    extra, steps = TASKS[argv[0]]
    started = time.monotonic()
    python = make_venv()
    say(f"installing prakerja-cli[{extra}] into {python.parent.parent}")
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*install, "-e", f".[{extra}]"], cwd=ROOT, check=True)
    for step in steps:
        began = time.monotonic()
        done = subprocess.run([str(python), *step], cwd=ROOT, check=False)
        say(f"{' '.join(step[1:])}: exit {done.returncode} in {time.monotonic() - began:.0f} s")
        if done.returncode != 0:
            return done.returncode
    say(f"{argv[0]} done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as exc:
        sys.exit(f"run.py: {' '.join(map(str, exc.cmd))} failed (exit {exc.returncode})")
    except KeyboardInterrupt:
        sys.exit(130)
