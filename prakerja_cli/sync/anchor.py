"""The audit chain's anchor outside the PC: each sync sends the chain's head (`Audit-Head` on the
status request, docs/central-api.md) and the central system answers with the head it kept from the
sync before. A chain that no longer holds that head was truncated or rewritten since: the finding
is kept (meta ANCHOR_LOST, an `anchor_lost` entry) so `audit verify` and `doctor` report it.

A restore of an older backup drops entries on purpose; a restore entry made after the central
system received the anchor explains a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prakerja_cli.store import audit
from prakerja_cli.store.db import write

if TYPE_CHECKING:
    from prakerja_cli.store.applicants import Office
    from prakerja_cli.store.db import Database

#: What a sync found of the anchor: none kept yet, kept, explained by a restore, lost, or one of
#: another trail (a new store for this desk: a PC set up again, or the whole trail replaced).
NEW, KEPT, RESTORED, LOST, REPLACED = "new", "kept", "restored", "lost", "replaced"


def header(db: Database, office: Office) -> str:
    """The Audit-Head header value: OFFICE:DESK:SEQ:HASH:FIRST (FIRST: entry #1's hash)."""
    seq, digest = audit.head(db)
    return f"{office.office_code}:{office.desk}:{seq}:{digest}:{_first(db)}"


def _first(db: Database) -> str:
    row = db.execute("SELECT hash FROM audit WHERE seq = 1").fetchone()
    return str(row[0]) if row else audit.GENESIS


def check(db: Database, office: Office, anchor: Any) -> str | None:
    """Compare the central system's anchor (the status response's `audit_anchor`) with the chain;
    None when the answer carries none we can read (a server without anchors)."""
    if anchor is None:
        return NEW
    try:
        office_code, desk, seq_text, digest, first = str(anchor["head"]).split(":")
        seq, received = int(seq_text), datetime.fromisoformat(str(anchor["received_at"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not 0 <= seq < 1 << 63:  # no entry of a trail: SQLite's integers end there
        return None
    if (office_code, desk) != (office.office_code, office.desk):
        return None
    if audit.holds(db, seq, digest):
        return KEPT
    ours = _first(db)
    if first not in (audit.GENESIS, ours) and (
        ours != audit.GENESIS or db.execute("SELECT 1 FROM applicants LIMIT 1").fetchone() is None
    ):
        return REPLACED  # another trail for this desk; an emptied one holding records is lost
    if _restored_since(db, received):
        return RESTORED
    lost = f"{seq}:{digest}"
    with write(db):
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [audit.ANCHOR_LOST, lost]
        )
        audit.record(db, office, "anchor_lost", None, {"seq": seq, "anchor": digest[:12]})
    return LOST


def _restored_since(db: Database, received: datetime) -> bool:
    for (at,) in db.execute("SELECT at FROM audit WHERE action = 'restore'"):
        try:
            when = datetime.fromisoformat(str(at))
            if when.tzinfo is None or received.tzinfo is None:
                when, received = when.replace(tzinfo=None), received.replace(tzinfo=None)
            if when >= received:
                return True
        except ValueError:
            continue
    return False
