"""`prakerja doctor`: check the store, the outbox, the configuration and the clock."""

from __future__ import annotations

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, escape, out


def doctor(json_output: JsonOpt = False) -> None:
    """Integrity, unsent and parked records, unanswered and refused amendments, WAL size,
    configuration, clock, audit chain; with the fix for each problem found. Exit 1 when something
    needs fixing (records and amendments refused centrally are a warning: exit 0).
    """
    from prakerja_cli.desk import health_checks
    from prakerja_cli.errors import ExitCode
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    checks = health_checks(open_workspace())
    if json_output:
        emit_json(
            [
                # The fix as the clerk reads it, only for a check that needs one.
                {"check": c.name, "ok": c.ok, "warning": c.warning and not c.ok,
                 "detail": c.detail, "fix": t(c.fix) if c.fix and not c.ok else None}
                for c in checks
            ]
        )  # fmt: skip
    else:
        for c in checks:
            mark = "[green]OK[/]" if c.ok else "[yellow]! [/]" if c.warning else "[bold red]!![/]"
            out.print(f"{mark} {escape(t('doctor.' + c.name))}: {escape(c.shown or c.detail)}")
            if not c.ok and c.fix:
                out.print(f"   {t('label.hint')}: {t(c.fix)}", markup=False)
    if not all(c.ok or c.warning for c in checks):
        raise typer.Exit(int(ExitCode.ERROR))
