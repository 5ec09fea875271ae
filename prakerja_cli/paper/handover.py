"""The Permenaker 17/2020 handover package: the recap in the ministry's columns (xlsx), the BAST
(PDF) naming the recap's SHA-256 and the audit trail's head, and a manifest (JSON) with the
SHA-256 of each file; as a folder or a zip.

Deterministic: the same records give the same recap bytes, the same BAST and the same hashes
(document dates are the period's last day, zip entries carry one fixed date). Each handover keeps
a fingerprint of every record it carried (store meta, keyed by office key HMAC, never in the
package), so the next handover of the same period names the records that changed in between.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prakerja_cli.paper.period import Period
from prakerja_cli.paper.recap import rank
from prakerja_cli.paper.workbook import ZIP_EPOCH
from prakerja_cli.store.applicants import STATUSES

if TYPE_CHECKING:
    from prakerja_cli.office import Workspace

MANIFEST = "manifest.json"
_META = "handover:"


@dataclass(frozen=True, slots=True)
class Handover:
    path: str
    files: dict[str, str]  # name -> SHA-256
    counts: dict[str, int]
    registered: int
    withdrawn: int
    unsent: int
    audit_head: str
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    previous: bool = False  # a handover of this period was made before

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "files": self.files, "counts": self.counts,
            "registered": self.registered, "withdrawn": self.withdrawn, "unsent": self.unsent,
            "audit_head": self.audit_head, "changed": self.changed, "added": self.added,
            "removed": self.removed, "previous": self.previous,
        }  # fmt: skip


def records_head(ws: Workspace) -> str:
    """`seq:hash` of the audit trail's last entry that changed records: reads (an export, this
    handover's own entry) move the trail's head, not this one, so a repeated handover of
    unchanged records names the same head."""
    from prakerja_cli.store.audit import CHANGES, GENESIS

    marks = ", ".join("?" * len(CHANGES))
    last = ws.db.execute(
        f"SELECT seq, hash FROM audit WHERE action IN ({marks}) ORDER BY seq DESC LIMIT 1",
        sorted(CHANGES),
    ).fetchone()
    return f"{last[0]}:{last[1]}" if last else f"0:{GENESIS}"


def _fingerprint(key: bytes, row: list[Any]) -> str:
    text = json.dumps(row, default=str, ensure_ascii=False)
    return hmac.new(key, b"prakerja handover\x00" + text.encode(), hashlib.sha256).hexdigest()[:32]


def check_target(path: Path, *, force: bool) -> None:
    from prakerja_cli.errors import UsageError, check_new_file

    if not path.parent.is_dir():
        raise UsageError(
            "error.output_folder_missing", hint="hint.check_path", folder=str(path.parent)
        )
    check_new_file(path, force=force)


def make_handover(ws: Workspace, period: Period, target: Path) -> Handover:
    """Write the package for `period` to `target` (a folder, or a .zip file)."""
    import tempfile

    from prakerja_cli.config import office_key
    from prakerja_cli.paper.documents import write_bast
    from prakerja_cli.paper.workbook import ministry_row, write_ministry_workbook
    from prakerja_cli.roster.read import file_sha256 as sha256_of
    from prakerja_cli.store import applicants as store
    from prakerja_cli.store import audit
    from prakerja_cli.store.db import write

    office = ws.office
    slug = f"{office.office_code}-{period.slug()}"
    recap_name, bast_name = f"rekap-prakerja-{slug}.xlsx", f"bast-prakerja-{slug}.pdf"
    where, params = store.where_clause(ws.db, since=period.first, until=period.last)
    counts = dict(ws.db.execute(f"SELECT status, count(*) FROM applicants{where} GROUP BY status",
                                params).fetchall())  # fmt: skip
    live: dict[str, Any] = {
        "statuses": ("valid", "flagged"),
        "since": period.first,
        "until": period.last,
    }
    unsent = store.count_applicants(ws.db, central="pending", **live)
    key = office_key()
    prints: dict[str, str] = {}
    first: list[dict[str, Any]] = []

    def rows() -> Any:
        for number, row in enumerate(store.iter_applicants(ws.db, oldest_first=True, **live), 1):
            if not first:
                first.append(row)
            prints[row["registration_number"]] = _fingerprint(key, ministry_row(number, row)[1:])
            yield row

    with tempfile.TemporaryDirectory(prefix="prakerja-handover-") as work:
        folder = Path(work)
        recap = folder / recap_name
        written = write_ministry_workbook(rows(), recap, period.last)
        head = records_head(ws)
        registered = counts.get("valid", 0) + counts.get("flagged", 0)
        facts = {
            "office_name": ws.config.office_name, "office_code": office.office_code,
            "regency": office.regency.title(), "period": period.label(),
            "counts": sorted(counts.items(), key=lambda c: rank(STATUSES, c[0])), "registered": registered,
            "withdrawn": counts.get("withdrawn", 0), "unsent": unsent, "recap_file": recap_name,
            "recap_sha256": sha256_of(recap), "audit_head": head, "rows": written,
        }  # fmt: skip
        moment = datetime(period.last.year, period.last.month, period.last.day, tzinfo=UTC)
        write_bast(facts, folder / bast_name, moment=moment)
        files = {name: sha256_of(folder / name) for name in (recap_name, bast_name)}
        manifest = {
            "office_code": office.office_code, "office_name": ws.config.office_name,
            "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
            "counts": dict(sorted(counts.items())), "registered": registered,
            "withdrawn": facts["withdrawn"], "unsent": unsent, "audit_head": head,
            "files": [{"name": n, "sha256": h} for n, h in files.items()],
        }  # fmt: skip
        (folder / MANIFEST).write_bytes(
            (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
        )
        files[MANIFEST] = sha256_of(folder / MANIFEST)
        _place(folder, [recap_name, bast_name, MANIFEST], target)
    meta_key = _META + period.slug()
    before_row = ws.db.execute("SELECT value FROM meta WHERE key = ?", [meta_key]).fetchone()
    before: dict[str, str] = json.loads(before_row[0]) if before_row else {}
    changed = sorted(n for n, h in prints.items() if n in before and before[n] != h)
    added = sorted(n for n in prints if n not in before) if before_row else []
    removed = sorted(n for n in before if n not in prints)
    with write(ws.db):
        ws.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                      [meta_key, json.dumps(prints, sort_keys=True)])  # fmt: skip
        details = {"file": target.name, "period": period.slug(), "records": written}
        audit.record(ws.db, office, "handover", first[0]["id"] if written == 1 else None, details)
    return Handover(str(target), files, dict(sorted(counts.items())), registered,
                    facts["withdrawn"], unsent, head, changed, added, removed,
                    before_row is not None)  # fmt: skip


def _place(folder: Path, names: list[str], target: Path) -> None:
    """The files as a zip (entries in order, one fixed date) or copied into a folder."""
    import shutil

    from prakerja_cli.files import private_folder
    from prakerja_cli.roster.output import replacing

    if target.suffix.lower() == ".zip":
        with replacing(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                info = zipfile.ZipInfo(name, ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o600 << 16
                archive.writestr(info, (folder / name).read_bytes())
        return
    private_folder(target, tighten=False)
    for name in names:
        with replacing(target / name) as tmp:
            shutil.copyfile(folder / name, tmp)
