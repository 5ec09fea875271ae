"""Find the header row of a roster (even below title lines) and map its columns to fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from prakerja_cli.core.validate import FIELDS
from prakerja_cli.errors import UsageError
from prakerja_cli.roster.columns import (
    BIRTH_PLACE_DATE,
    BY_FIELD,
    COMBINED,
    IGNORED_KEYS,
    field_for_header,
    header_key,
)

#: How far down a header row may sit below title lines.
HEADER_SEARCH_ROWS = 30
MIN_HEADER_FIELDS = 3


@dataclass(frozen=True, slots=True)
class HeaderMap:
    row_index: int  # index into Sheet.rows of the header's last row (data starts below it)
    columns: dict[int, str]  # column index -> field (or a combined column, COMBINED)
    headers: list[str]  # one name per column, as the error report writes its header row
    unknown: list[str]  # headers that map to nothing (reported, not fatal)

    def missing_required(self) -> list[str]:
        present = set(self.columns.values())
        for combined, parts in COMBINED.items():
            if combined in present:
                present.update(parts)
        return [name for name, required in FIELDS.items() if required and name not in present]

    def column_of(self, field: str) -> int | None:
        """The column a field's value came from (a combined column for its parts)."""
        for col, name in self.columns.items():
            if name == field or field in COMBINED.get(name, ()):
                return col
        return None


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


def _text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _one_row(row: list[Any], overrides: dict[str, str]) -> tuple[dict[int, str], list[str]]:
    columns: dict[int, str] = {}
    for col, cell in enumerate(row):
        target = _field(cell, overrides)
        if target and target not in columns.values():
            columns[col] = target
    return columns, [_text(c) for c in row]


def _two_rows(
    top: list[Any], below: list[Any], overrides: dict[str, str]
) -> tuple[dict[int, str], list[str]]:
    """A group header merged over its columns ('Alamat' over 'Jalan | RT | RW', 'Kelahiran' over
    'Tempat | Tanggal'): each column is named by its own cell below, by that cell with the group's
    name ('Tanggal Kelahiran'), or by the cell above when the one below is empty (a header merged
    down over both rows). The names are written back as one row, so an error report made from
    such a file imports again."""
    columns: dict[int, str] = {}
    names: list[str] = []
    group = ""
    for col in range(max(len(top), len(below))):
        above = _text(top[col]) if col < len(top) else ""
        under = _text(below[col]) if col < len(below) else ""
        if above:
            group = above
        elif not under:
            group = ""  # a gap ends the merged group
        tries = [under, f"{under} {group}", f"{group} {under}"] if under else [above]
        name = next((x for x in tries if x and _field(x, overrides)), "")
        target = _field(name, overrides) if name else None
        if target and target not in columns.values():
            columns[col] = target
            name = name if _field(name, {}) == target else BY_FIELD[target].header
        names.append(name or under or above)
    return columns, names


def find_header(
    rows: list[list[Any]],
    overrides: dict[str, str] | None = None,
    *,
    min_fields: int = MIN_HEADER_FIELDS,
) -> HeaderMap | None:
    """The first row, among the first 30, naming at least three fields (`min_fields`) including
    the NIK; with the row below it when the two together name more fields (a two-row header)."""
    overrides = overrides or {}
    window = rows[: HEADER_SEARCH_ROWS + 1]
    singles: dict[int, tuple[dict[int, str], list[str]]] = {}

    def single(index: int) -> tuple[dict[int, str], list[str]]:
        if index not in singles:
            singles[index] = _one_row(window[index], overrides)
        return singles[index]

    for index, row in enumerate(window[:HEADER_SEARCH_ROWS]):
        columns, headers = single(index)
        last = index
        if index + 1 < len(window) and any(_text(c) for c in row):
            # Both rows must count: a title line over a one-row header is no group header.
            paired, names = _two_rows(row, window[index + 1], overrides)
            alone = max(len(columns), len(single(index + 1)[0]))
            if len(paired) > alone and "nik" in paired.values():
                columns, headers, last = paired, names, index + 1
        if len(columns) >= min_fields and "nik" in columns.values():
            unknown = [
                h for col, h in enumerate(headers)
                if h and col not in columns and header_key(h) not in IGNORED_KEYS
                and overrides.get(header_key(h)) != "-"
            ]  # fmt: skip
            return HeaderMap(last, columns, headers, unknown)
    return None


_SPLIT_PLACE_DATE = re.compile(r"\s*(?:,|/|;|\s-\s)\s*")


def split_combined(form: dict[str, Any]) -> dict[str, Any]:
    """A combined column's value into its fields: 'Bandung, 17-08-1990' or
    'Bandung / 17 Agustus 1990' -> birth place and birth date. A value that does not split
    goes whole to the birth date, whose check then names it; separate columns win."""
    value = form.pop(BIRTH_PLACE_DATE.field, None)
    if value is None:
        return form
    place: Any = None
    when: Any = value
    if isinstance(value, str):
        parts = _SPLIT_PLACE_DATE.split(value.strip(), maxsplit=1)
        if len(parts) == 2 and any(ch.isdigit() for ch in parts[1]):
            place, when = parts
    if form.get("birth_place") is None:
        form["birth_place"] = place
    if form.get("birth_date") is None:
        form["birth_date"] = when
    return form
