"""Find the header row of a roster (even below title lines) and map its columns to fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prakerja_cli.core.validate import FIELDS
from prakerja_cli.errors import UsageError
from prakerja_cli.roster.columns import IGNORED_KEYS, field_for_header, header_key

#: How far down a header row may sit below title lines.
HEADER_SEARCH_ROWS = 30
MIN_HEADER_FIELDS = 3


@dataclass(frozen=True, slots=True)
class HeaderMap:
    row_index: int  # index into Sheet.rows
    columns: dict[int, str]  # column index -> field
    headers: list[str]  # the header row's cells as text
    unknown: list[str]  # headers that map to nothing (reported, not fatal)

    def missing_required(self) -> list[str]:
        present = set(self.columns.values())
        return [name for name, required in FIELDS.items() if required and name not in present]


def parse_overrides(items: list[str]) -> dict[str, str]:
    """`--map "Header=field"` pairs, keyed by the header's comparison key."""
    overrides: dict[str, str] = {}
    for item in items:
        header, sep, target = item.rpartition("=")
        if not sep or not header.strip() or not target.strip():
            raise UsageError(
                "error.map_format", hint="hint.map_format", item=item, fields=", ".join(FIELDS)
            )
        # The field by its name or as a header names it ("Telp Rumah=hp"), as `edit --set` takes.
        field = "-" if target.strip() == "-" else field_for_header(target)
        if field is None:
            raise UsageError("error.map_field", hint="hint.map_format", item=item,
                             field=target.strip(), fields=", ".join(FIELDS))  # fmt: skip
        overrides[header_key(header)] = field
    return overrides


def _field(cell: Any, overrides: dict[str, str]) -> str | None:
    key = header_key(cell)
    if key in overrides:
        target = overrides[key]
        return None if target == "-" else target
    return field_for_header(cell)


def find_header(rows: list[list[Any]], overrides: dict[str, str] | None = None) -> HeaderMap | None:
    """The first row, among the first 30, naming at least three fields including the NIK."""
    overrides = overrides or {}
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[int, str] = {}
        for col, cell in enumerate(row):
            target = _field(cell, overrides)
            if target and target not in columns.values():
                columns[col] = target
        if len(columns) >= MIN_HEADER_FIELDS and "nik" in columns.values():
            headers = ["" if c is None else str(c).strip() for c in row]
            unknown = [
                h for col, h in enumerate(headers)
                if h and col not in columns and header_key(h) not in IGNORED_KEYS
                and overrides.get(header_key(h)) != "-"
            ]  # fmt: skip
            return HeaderMap(index, columns, headers, unknown)
    return None
