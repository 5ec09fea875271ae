"""The local SQLite store: one opener that applies migrations, and the queries."""

import sys as _sys


def _import_sqlite_utils() -> None:
    """Import sqlite-utils without the numpy and pandas it loads, when they are installed, only to
    map their scalar types: prakerja stores neither, and they cost every command ~120 ms of
    start-up (~640 ms with pandas; benchmarks/startup.py). Anything imported later may still use
    them: the block lasts for this one import. Called by store/migrations.py, the only module
    that needs sqlite-utils at run time, and only when a store has migrations to apply."""
    blocked = [name for name in ("numpy", "pandas") if name not in _sys.modules]
    for name in blocked:
        _sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in blocked:
            if _sys.modules.get(name) is None:
                del _sys.modules[name]
