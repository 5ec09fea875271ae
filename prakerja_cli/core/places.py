"""Kecamatan and desa/kelurahan names against the office's region list.

A misspelt kecamatan ("Sukasri") or one from another regency splits the office's recap by
kecamatan, and the region list to catch it is already in the store. Names are compared ignoring
case, spacing, punctuation and the words Kecamatan/Kec/Desa/Kelurahan/Kel, so "Kel. Lebak Gede"
is "Lebakgede". An unknown name is a warning with the closest known one, never an error: region
lists lag behind the ground, and a record with a new desa's name must still be storable.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from prakerja_cli.core.findings import Code, Finding, warning

_PREFIX = re.compile(r"^\s*(kecamatan|kec|desa|kelurahan|kel|ds)\b\.?", re.IGNORECASE)
_NOT_KEY = re.compile(r"[^0-9a-z]")
#: How close a known name must be to be offered as the one meant (difflib's ratio).
_CLOSE = 0.75


def place_key(name: str) -> str:
    """'Kec. Lebak Gede' -> 'lebakgede': what two spellings of one place have in common."""
    return _NOT_KEY.sub("", _PREFIX.sub("", name).lower())


@dataclass(frozen=True, slots=True)
class Places:
    """The kecamatan of one regency and the desa/kelurahan of each, by name key."""

    regency: str
    #: kecamatan key -> (code, name)
    districts: dict[str, tuple[str, str]]
    #: kecamatan code -> {desa/kelurahan key -> name}
    villages: dict[str, dict[str, str]]
    _verdicts: dict[tuple[str, str], list[Finding]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, regency: str, rows: Iterable[tuple[str, int, str]]) -> Places:
        """From region rows (code without dots, level 3 = kecamatan / 4 = desa, name)."""
        districts: dict[str, tuple[str, str]] = {}
        villages: dict[str, dict[str, str]] = {}
        for code, level, name in sorted(rows, key=lambda row: row[1]):
            if level == 3:
                districts.setdefault(place_key(name), (code, name))
            elif level == 4:
                villages.setdefault(code[:6], {}).setdefault(place_key(name), name)
        return cls(regency, districts, villages)

    def check(self, district: str | None, village: str | None) -> list[Finding]:
        """Warnings for a kecamatan not in the regency, or a desa not in its kecamatan."""
        if not district or not self.districts:
            return []
        memo = (district, village or "")
        found = self._verdicts.get(memo)
        if found is None:
            found = self._verdicts[memo] = self._check(district, village)
        return list(found)

    def _check(self, district: str, village: str | None) -> list[Finding]:
        known = self.districts.get(place_key(district))
        if known is None:
            closest = _closest(place_key(district), {k: n for k, (_, n) in self.districts.items()})
            return [warning(Code.DISTRICT_UNKNOWN, "district", name=district,
                            regency=self.regency, **_suggested(closest))]  # fmt: skip
        code, name = known
        names = self.villages.get(code)
        if not village or not names or place_key(village) in names:
            return []
        return [warning(Code.VILLAGE_UNKNOWN, "village", name=village, district=name,
                        **_suggested(_closest(place_key(village), names)))]  # fmt: skip


def _closest(key: str, names: dict[str, str]) -> str | None:
    match = difflib.get_close_matches(key, list(names), n=1, cutoff=_CLOSE)
    return names[match[0]] if match else None


def _suggested(closest: str | None) -> dict[str, str | None]:
    """The nearest listed name; with none near enough, the message says so rather than
    "closest name: -" (the `no_match` wording)."""
    if closest is None:
        return {"suggestion": None, "variant": "no_match"}
    return {"suggestion": closest}
