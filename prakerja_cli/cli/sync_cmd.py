"""`prakerja sync`: deliver registrations to the central system and pull their status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, err, out, progress_bar

# The help is the callback's docstring, so `prakerja sync --help` shows the exit codes and example.
app = typer.Typer(invoke_without_command=True)


@app.callback()
def sync(
    ctx: typer.Context,
    # The contract takes at most 1000 records a batch (sync.run.MAX_BATCH): more is refused here,
    # naming the range, rather than quietly cut down.
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    ca_bundle: Annotated[Path | None, typer.Option()] = None,
    allow_insecure_http: Annotated[bool, typer.Option("--allow-insecure-http")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Send every valid, unsent registration in batches, then pull status updates."""
    if ctx.invoked_subcommand is not None:
        return
    from prakerja_cli.errors import CancelledError, ExitCode
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.sync.http import ApiSettings
    from prakerja_cli.sync.run import run_sync

    ws = open_workspace()
    url, token = ws.config.effective_api()
    settings = ApiSettings(
        url, token, str(ca_bundle) if ca_bundle else None, allow_insecure_http=allow_insecure_http
    )

    def retrying(failed: int, allowed: int) -> None:
        err.print(t("msg.sync_retrying", attempt=failed, retries=allowed), markup=False)

    try:
        with progress_bar(t("progress.sync")) as progress:
            result = run_sync(ws, settings, batch_size=batch_size, dry_run=dry_run,
                              progress=progress, on_retry=retrying)  # fmt: skip
    except KeyboardInterrupt:  # not "nothing was stored": what was answered is kept
        raise CancelledError("msg.sync_cancelled") from None
    if json_output:
        emit_json({**result.to_json(), "audit_anchor": result.audit_anchor,
                   "possible_duplicates": result.warned})  # fmt: skip
    else:
        key = "msg.sync_dry" if dry_run else "msg.sync_done"
        out.print(t(key, **result.to_json()), markup=False)
        _tell_warned(result.warned)
        if result.amendments["sent"]:
            a = result.amendments
            text = t("msg.sync_amendments", sent=a["sent"], applied=a["applied"],
                     conflict=a["conflict"], rejected=a["rejected"])  # fmt: skip
            out.print(text, markup=False)
        for number in result.amendment_conflicts:
            out.print(t("msg.sync_amendment_conflict", number=number), markup=False)
    for held in result.held_back:  # on stderr: the sync did not do all it should
        err.print(t("msg.sync_held_back", number=held["registration_number"],
                    status=held["status"]), markup=False)  # fmt: skip
    if result.audit_anchor == "lost":  # the chain lost what the central system kept of it
        err.print(t("msg.sync_anchor_lost"), markup=False)
        err.print(f"{t('label.hint')}: {t('fix.audit')}", markup=False)
    if result.refused:
        raise typer.Exit(int(ExitCode.REJECTED))
    if result.held_back or result.audit_anchor == "lost":
        raise typer.Exit(int(ExitCode.ERROR))


#: Warned records named one by one after a sync; the rest are counted (`applicants show` has each).
WARNED_SHOWN = 20


def _tell_warned(warned: list[dict[str, str]]) -> None:
    """The office hub's near-duplicates (docs/office.md): which record, like which other desk's."""
    from prakerja_cli.i18n import t

    for item in warned[:WARNED_SHOWN]:
        out.print(t("msg.sync_possible_duplicate", number=item["registration_number"],
                    other=item["other"], desk=item["desk"]), markup=False)  # fmt: skip
    if len(warned) > WARNED_SHOWN:
        out.print(t("msg.sync_possible_duplicate_more", count=len(warned) - WARNED_SHOWN),
                  markup=False)  # fmt: skip


@app.command("status")
def status(json_output: JsonOpt = False) -> None:
    """Counts per central state, the last successful sync, the age of the oldest pending record."""
    from datetime import datetime

    from prakerja_cli.i18n import format as fmt
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace
    from prakerja_cli.sync.outbox import sync_counts

    data = sync_counts(open_workspace().db)
    oldest = data["oldest_pending"]
    age_hours = None
    if oldest:
        delta = datetime.now().astimezone() - datetime.fromisoformat(oldest)
        age_hours = round(delta.total_seconds() / 3600, 1)
    data["oldest_pending_age_hours"] = age_hours
    if json_output:
        emit_json(data)
        return
    for state, count in sorted(data["states"].items()):
        out.print(f"{t('central.' + state)}: {count}", markup=False)
    last = fmt.moment(data["last_sync"]) if data["last_sync"] else t("msg.sync_never")
    out.print(t("msg.sync_last", when=last), markup=False)
    if age_hours is not None:
        out.print(t("msg.sync_oldest", age=fmt.hours(age_hours)), markup=False)
