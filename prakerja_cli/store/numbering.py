"""Registration numbers: the one allocator (desk and roster import), and the desk's high-water
mark kept outside the store, so that no restore makes a number be given twice.

A number is printed on the applicant's receipt and sent to the central system, so it must never be
given again. The store's counter alone cannot promise that: a restore puts back an older counter.
So every allocation also writes the highest number given, per desk, to `numbering.json` in the
data folder (beside office.key, which a restore of the store leaves in place), before the
registration is committed: a failure after that leaves a gap, never a repeat. The next number is
one above the larger of the two.

The file also names the store it has been numbering (`store_id` in the store's meta, carried by
its backups). A restore of that store on this PC continues after the file's mark. A backup of
another store, or one restored where no file is (a new or reinstalled PC), cannot say what the old
PC gave after the backup was made: the desk's numbering is then locked until the clerk gives the
last number issued (`prakerja restore FILE --last-number ...`) or the PC gets a desk id of its
own. The lock is kept both in the store (it travels with a backup) and in the file (it survives
the store's loss).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prakerja_cli.errors import ConfigError
from prakerja_cli.store.engine import dbapi

if TYPE_CHECKING:
    from prakerja_cli.store.applicants import Office
    from prakerja_cli.store.db import Database

MARKS_NAME = "numbering.json"
#: Counter names (the store's `counters` table and the file): registration:<office>:<desk>.
COUNTER_PREFIX = "registration:"
#: The meta rows of a store whose desk numbering is locked: numbering_unknown:<counter name>.
UNKNOWN_META = "numbering_unknown:"
_NUMBER = re.compile(r"(?:([0-9]{4})-([A-Z0-9]{1,8})-)?0*([0-9]{1,12})")


def counter_name(office_code: str, desk: str) -> str:
    return f"{COUNTER_PREFIX}{office_code}:{desk}"


def format_number(office_code: str, desk: str, serial: int) -> str:
    """Office code + desk + the desk's sequence, e.g. 3273-D01-000042."""
    return f"{office_code}-{desk}-{serial:06d}"


def parse_serial(text: str, office_code: str, desk: str) -> int | None:
    """The serial of a number of this office's desk (3273-D01-000057), or a bare serial (57)."""
    match = _NUMBER.fullmatch(text.strip().upper())
    if match is None or (match[1] is not None and (match[1], match[2]) != (office_code, desk)):
        return None
    return int(match[3])


def marks_path() -> Path:
    from prakerja_cli.config import app_dir

    return app_dir() / MARKS_NAME


@dataclass(slots=True)
class Marks:
    """What `numbering.json` holds: the store this PC numbers, the highest number it knows was
    given per counter, and the counters locked by a restore it could not vouch for."""

    store: str | None = None
    issued: dict[str, int] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)


def read_marks() -> Marks | None:
    """The file, or None where there is none (a new PC, or one set up before the file existed)."""
    path = marks_path()
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return Marks(
            store=data.get("store"),
            issued={str(k): int(v) for k, v in data["issued"].items()},
            unknown={str(k) for k in data.get("unknown", [])},
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        # Written atomically, so this is damage or a hand edit: never guess a lower number.
        raise ConfigError("error.numbering_broken", hint="hint.numbering_broken",
                          path=str(path)) from None  # fmt: skip


def write_marks(marks: Marks) -> None:
    """Write the file atomically (flushed to disk, then moved into place)."""
    from prakerja_cli.config import write_private

    body = {"store": marks.store, "issued": dict(sorted(marks.issued.items())),
            "unknown": sorted(marks.unknown)}  # fmt: skip
    path = marks_path()
    from prakerja_cli.files import private_folder

    private_folder(path.parent)
    write_private(path, (json.dumps(body, indent=1) + "\n").encode("utf-8"))


def store_id(conn: dbapi.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
    return None if row is None else str(row[0])


def adopt(db: Database) -> None:
    """Start the file for this store where there is none: at the first use after `init`, or after
    an upgrade from a version without it (the store's counters are what this PC gave)."""
    if marks_path().exists():
        return
    write_marks(Marks(store_id(db.conn), issued_in(db.conn)))


def reserve_numbers(db: Database, office: Office, count: int = 1) -> list[str]:
    """Reserve `count` consecutive registration numbers; call inside a write transaction (which
    serialises desks on one store). The file is written first: a rollback leaves a gap."""
    numbers = Numbers(db, office)
    given = numbers.take(count)
    numbers.reserve()
    return given


class Numbers:
    """The desk's next registration numbers, handed out block by block inside one write
    transaction (which keeps every other allocator out until it ends) and reserved once at the
    end: `reserve` writes the file, then the store's counter, before the caller commits. A
    cancelled transaction that never reserved leaves the file as it was, so no gap; one that
    reserved and then rolled back leaves a gap, never a repeat."""

    def __init__(self, db: Database, office: Office) -> None:
        self.db, self.office = db, office
        self.name = counter_name(office.office_code, office.desk)
        self.marks = read_marks() or Marks(store_id(db.conn))
        row = db.execute("SELECT value FROM counters WHERE name = ?", [self.name]).fetchone()
        issued = max(int(row[0]) if row else 0, self.marks.issued.get(self.name, 0))
        locked = db.execute("SELECT 1 FROM meta WHERE key = ?", [UNKNOWN_META + self.name])
        if locked.fetchone() is not None or self.name in self.marks.unknown:
            raise ConfigError(
                "error.numbering_unknown", hint="hint.numbering_unknown", desk=office.desk,
                office=office.office_code,
                known=format_number(office.office_code, office.desk, issued),
            )  # fmt: skip
        self.issued = self.last = issued

    def take(self, count: int) -> list[str]:
        """The next `count` numbers (not yet reserved: call `reserve` before committing)."""
        first, self.last = self.last + 1, self.last + count
        code, desk = self.office.office_code, self.office.desk
        return [format_number(code, desk, n) for n in range(first, self.last + 1)]

    def reserve(self) -> None:
        """Record the numbers taken: the file first, then the store's counter."""
        if self.last == self.issued:
            return
        self.marks.issued[self.name] = self.last
        self.marks.store = store_id(self.db.conn)
        write_marks(self.marks)
        self.db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [self.name, self.last],
        )
        self.issued = self.last


def issued_in(conn: dbapi.Connection) -> dict[str, int]:
    """The highest serial a store says each desk gave: its counters, and its records (which a
    store from before the counter, or a damaged one, may hold beyond it)."""
    issued: dict[str, int] = {}
    rows = conn.execute(
        "SELECT name, value FROM counters WHERE name LIKE ?", [COUNTER_PREFIX + "%"]
    ).fetchall()
    rows += conn.execute(
        "SELECT ? || office_code || ':' || desk, "
        "max(CAST(substr(registration_number, length(office_code) + length(desk) + 3) AS INTEGER)) "
        "FROM applicants GROUP BY office_code, desk",
        [COUNTER_PREFIX],
    ).fetchall()
    for name, value in rows:
        issued[str(name)] = max(issued.get(str(name), 0), int(value or 0))
    return issued


def locked_in(conn: dbapi.Connection) -> set[str]:
    """The counters a store holds locked."""
    rows = conn.execute("SELECT key FROM meta WHERE key LIKE ?", [UNKNOWN_META + "%"]).fetchall()
    return {str(r[0])[len(UNKNOWN_META) :] for r in rows}


@dataclass(frozen=True, slots=True)
class StoreNumbers:
    """What one store (the backup, or the store a restore replaces) says about numbering."""

    store: str | None
    issued: dict[str, int]
    locked: set[str]

    @classmethod
    def read(cls, conn: dbapi.Connection) -> StoreNumbers:
        return cls(store_id(conn), issued_in(conn), locked_in(conn))


@dataclass(frozen=True, slots=True)
class Floors:
    """After a restore: the highest number given per counter, as far as anything here knows, and
    the counters this PC cannot vouch for (locked until the last number is given)."""

    issued: dict[str, int]
    unknown: set[str]


def restore_floors(
    backup: StoreNumbers,
    current: StoreNumbers | None,
    marks: Marks | None,
    own: str,
    last_number: int | None = None,
) -> Floors:
    """The numbering after `backup` replaces `current` (None: missing or unreadable); `own` is
    this desk's counter, `last_number` the clerk's word for it.

    A counter is vouched for when this PC has been numbering the backup's store (the file names
    it) and nothing has locked the counter; the clerk's last number vouches for the desk's own.
    """
    names = {own, *backup.issued, *(current.issued if current else {})}
    if marks is not None:
        names |= set(marks.issued) | marks.unknown
    issued = {}
    for name in names:
        sources = [backup.issued, current.issued if current else {}, marks.issued if marks else {}]
        issued[name] = max(source.get(name, 0) for source in sources)
    ours = marks is not None and backup.store is not None and marks.store == backup.store
    locked = (
        backup.locked | (current.locked if current else set()) | (marks.unknown if marks else set())
    )
    unknown = {name for name in names if not ours or name in locked}
    if last_number is not None:
        issued[own] = max(issued[own], last_number)
        unknown.discard(own)
    return Floors(issued, unknown)


def settle(db: Database, floors: Floors, marks: Marks | None, backup_store: str | None) -> None:
    """Write the floors into the restored store and the file; call inside a write transaction."""
    for name, value in floors.issued.items():
        db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
            [name, value],
        )
        if name in floors.unknown:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, 'restore')",
                       [UNKNOWN_META + name])  # fmt: skip
        else:
            db.execute("DELETE FROM meta WHERE key = ?", [UNKNOWN_META + name])
    marks = marks or Marks()
    for name, value in floors.issued.items():
        marks.issued[name] = max(marks.issued.get(name, 0), value)
    marks.unknown = set(floors.unknown)
    marks.store = backup_store
    write_marks(marks)
