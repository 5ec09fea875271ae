"""Entry point for `python -m prakerja_cli`."""

from prakerja_cli.cli import main

main()
