"""A stand-in for the population registry (Dukcapil): a CSV of NIK, name, birth date and KK.

The central system matches NIK + name + birth date + KK of every accepted record against it; the
first mismatch is the reason (docs/central-api.md, status feed).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from prakerja_cli.central.contract import RegistryReason, SetupError, record_birth_date

_DIGITS16 = re.compile(r"[0-9]{16}")
COLUMNS = ("nik", "name", "birth_date", "kk")


def normalise_name(name: str) -> str:
    """Names match upper-cased with runs of whitespace collapsed: 'siti  aminah' = 'SITI AMINAH'."""
    return " ".join(name.upper().split())


@dataclass(frozen=True, slots=True)
class Person:
    name: str  # normalised
    birth_date: date
    kk: str


class Registry:
    """NIK → person, loaded once at start-up."""

    def __init__(self, people: dict[str, Person], source: str) -> None:
        self.people = people
        self.source = source

    def __len__(self) -> int:
        return len(self.people)

    def verify(self, record: dict[str, Any]) -> RegistryReason | None:
        """None when NIK, name, birth date and KK all match; else the first that does not."""
        person = self.people.get(str(record.get("nik")))
        if person is None:
            return RegistryReason.DUKCAPIL_NOT_FOUND
        if normalise_name(str(record.get("name", ""))) != person.name:
            return RegistryReason.DUKCAPIL_NAME_MISMATCH
        if record_birth_date(record) != person.birth_date:
            return RegistryReason.DUKCAPIL_BIRTHDATE_MISMATCH
        if record.get("kk") != person.kk:
            return RegistryReason.DUKCAPIL_KK_MISMATCH
        return None


def load_registry(path: Path) -> Registry:
    """Read a UTF-8 CSV (`,` or `;`) with columns nik, name, birth_date (YYYY-MM-DD), kk.

    Any bad row stops start-up with the row number: a registry that silently drops people would
    turn into DUKCAPIL_NOT_FOUND events that are hard to trace back.
    """
    people: dict[str, Person] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            first = handle.readline()
            handle.seek(0)
            delimiter = ";" if first.count(";") > first.count(",") else ","
            reader = csv.reader(handle, delimiter=delimiter)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise SetupError(f"{path.name}: no column {', '.join(missing)} (need {COLUMNS})")
            where = {c: header.index(c) for c in COLUMNS}
            for line, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                cells = {c: (row[i].strip() if i < len(row) else "") for c, i in where.items()}
                nik, kk = cells["nik"], cells["kk"]
                if not _DIGITS16.fullmatch(nik) or not _DIGITS16.fullmatch(kk):
                    raise SetupError(f"{path.name} row {line}: nik and kk must be 16 digits")
                try:
                    born = date.fromisoformat(cells["birth_date"])
                except ValueError:
                    raise SetupError(
                        f"{path.name} row {line}: birth_date {cells['birth_date']!r} "
                        "is not YYYY-MM-DD"
                    ) from None
                people[nik] = Person(normalise_name(cells["name"]), born, kk)
    except FileNotFoundError:
        raise SetupError(f"the registry file {path} does not exist") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SetupError(f"{path.name} cannot be read as a UTF-8 CSV: {exc}") from None
    return Registry(people, path.name)
