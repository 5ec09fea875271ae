"""`prakerja bundle`: the USB routine between the office's desks and its hub, with no network
(docs/office.md): export and import bundles, and exchange the keys that protect them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prakerja_cli.cli.common import JsonOpt, emit_json, out

app = typer.Typer(no_args_is_help=True)

ForceOpt = Annotated[bool, typer.Option("--force")]


@app.command("export")
def export(
    out_path: Annotated[Path, typer.Argument(metavar="OUT")],
    for_desk: Annotated[str | None, typer.Option("--for-desk")] = None,
    force: ForceOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Write a bundle: on a desk, what its sync would send; on the hub, a desk's answers."""
    from prakerja_cli.bundle.exchange import export_desk, export_for_desk
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    ws = open_workspace()
    if for_desk is None:
        moved = export_desk(ws, out_path, force=force)
    else:
        moved = export_for_desk(ws, for_desk, out_path, force=force)
    if json_output:
        emit_json(moved.to_json())
        return
    if for_desk is None:
        text = t("msg.bundle_exported_desk", records=moved.records, batches=moved.batches,
                 hub=moved.peer, file=moved.path)  # fmt: skip
    else:
        text = t("msg.bundle_exported_hub", desk=moved.peer, answers=moved.answers,
                 events=moved.events, file=moved.path)  # fmt: skip
    out.print(text, markup=False, soft_wrap=True)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument()],
    json_output: JsonOpt = False,
) -> None:
    """Take a bundle in: on the hub, a desk's; on a desk, the hub's answers."""
    from prakerja_cli.bundle.exchange import DESK, import_file
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    moved = import_file(open_workspace(), file)
    if json_output:
        emit_json(moved.to_json())
        return
    counts = ", ".join(f"{t('bundle.count.' + k)} {v}" for k, v in sorted(moved.outcomes.items()))
    if moved.kind == DESK:
        text = t("msg.bundle_imported_at_hub", desk=moved.peer, records=moved.records,
                 batches=moved.batches, counts=counts or "-")  # fmt: skip
    else:
        text = t("msg.bundle_imported_at_desk", hub=moved.peer, answers=moved.answers,
                 events=moved.events, counts=counts or "-")  # fmt: skip
    out.print(text, markup=False, soft_wrap=True)


@app.command("key")
def key(
    out_path: Annotated[Path, typer.Argument(metavar="OUT")],
    json_output: JsonOpt = False,
) -> None:
    """Write this PC's public bundle key to a file (for enrolment) and show its fingerprint."""
    from prakerja_cli.bundle.exchange import write_public
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    path, public = write_public(open_workspace(), out_path)
    if json_output:
        emit_json({"file": str(path), "key": public.text(), "fingerprint": public.fingerprint})
        return
    out.print(t("msg.bundle_key_written", file=str(path)), markup=False, soft_wrap=True)
    out.print(t("msg.bundle_fingerprint", fingerprint=public.fingerprint), markup=False)


@app.command("trust")
def trust(
    file: Annotated[Path, typer.Argument()],
    replace: Annotated[bool, typer.Option("--replace")] = False,
    json_output: JsonOpt = False,
) -> None:
    """On a desk: keep the hub's public bundle key from its key file."""
    from prakerja_cli.bundle.exchange import trust_hub
    from prakerja_cli.i18n import t
    from prakerja_cli.office import open_workspace

    hub = trust_hub(open_workspace(), file, replace=replace)
    if json_output:
        emit_json({"hub": hub.desk, "fingerprint": hub.fingerprint})
        return
    out.print(t("msg.bundle_trusted", hub=hub.desk), markup=False)
    out.print(t("msg.bundle_fingerprint", fingerprint=hub.fingerprint), markup=False)
