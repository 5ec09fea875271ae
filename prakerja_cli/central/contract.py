"""The v1 contract as code: limits, codes, the batch envelope and the checks on one record.

docs/central-api.md says it in prose; docs/central-api.openapi.json (built from `openapi.py`, which
reads the enums below) says it as a schema. Pure: no I/O, no web framework.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeGuard

from prakerja_cli.central.limits import MAX_BODY_BYTES as MAX_BODY_BYTES
from prakerja_cli.central.limits import MAX_RECORDS as MAX_RECORDS
from prakerja_cli.core.nik import age_on, parse_kk, parse_nik

API_VERSION = "1"
#: Status feed page size.
MAX_LIMIT = 1000
DEFAULT_LIMIT = 500
#: Largest cursor SQLite can hold.
MAX_CURSOR = 2**63 - 1
MIN_AGE = 18

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
OFFICE_PATTERN = r"^[0-9]{4}$"
#: Office code + desk (1-8 letters or digits) + per-desk sequence, e.g. 3273-D01-000042.
REGISTRATION_NUMBER_PATTERN = r"^[0-9]{4}-[A-Za-z0-9]{1,8}-[0-9]{6,}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DIGITS16_PATTERN = r"^[0-9]{16}$"
#: The Audit-Head header of a status request: office, desk, then seq and hash of the desk's audit
#: head and the hash of its first entry (which trail it is).
AUDIT_HEAD_PATTERN = r"^[0-9]{4}:[A-Za-z0-9]{1,8}:[0-9]{1,18}:[0-9a-f]{64}:[0-9a-f]{64}$"

_UUID = re.compile(UUID_PATTERN)
_SHA256 = re.compile(SHA256_PATTERN)
_OFFICE = re.compile(OFFICE_PATTERN)
_REGISTRATION_NUMBER = re.compile(REGISTRATION_NUMBER_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_DIGITS16 = re.compile(DIGITS16_PATTERN)
_AUDIT_HEAD = re.compile(AUDIT_HEAD_PATTERN)


def parse_audit_head(value: str) -> tuple[str, str, str] | None:
    """(office, desk, head) of an Audit-Head header value, or None when it is malformed."""
    if len(value) > 200 or not _AUDIT_HEAD.fullmatch(value):
        return None
    office, desk, head = value.split(":", 2)
    return office, desk, head


class Outcome(StrEnum):
    """What happened to one record of a batch."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CONFLICT = "conflict"


class RejectReason(StrEnum):
    """Why a record will never be accepted as it is. When several apply, the first listed wins."""

    NIK_INVALID = "NIK_INVALID"
    KK_INVALID = "KK_INVALID"
    FIELD_INVALID = "FIELD_INVALID"
    OFFICE_MISMATCH = "OFFICE_MISMATCH"
    AGE_NOT_ELIGIBLE = "AGE_NOT_ELIGIBLE"


class ConflictReason(StrEnum):
    CONTENT_CHANGED = "CONTENT_CHANGED"


class Status(StrEnum):
    """A later verification outcome, delivered through the status feed."""

    VERIFIED = "verified"
    REGISTRY_REJECTED = "registry_rejected"
    WAVE_ASSIGNED = "wave_assigned"


class RegistryReason(StrEnum):
    """Why the population registry (Dukcapil) check failed; the first that applies wins."""

    DUKCAPIL_NOT_FOUND = "DUKCAPIL_NOT_FOUND"
    DUKCAPIL_NAME_MISMATCH = "DUKCAPIL_NAME_MISMATCH"
    DUKCAPIL_BIRTHDATE_MISMATCH = "DUKCAPIL_BIRTHDATE_MISMATCH"
    DUKCAPIL_KK_MISMATCH = "DUKCAPIL_KK_MISMATCH"


class ErrorCode(StrEnum):
    """The `error` of an error body, with the HTTP status it comes with."""

    BAD_REQUEST = "BAD_REQUEST"  # 400
    UNAUTHORIZED = "UNAUTHORIZED"  # 401
    FORBIDDEN = "FORBIDDEN"  # 403
    NOT_FOUND = "NOT_FOUND"  # 404
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"  # 405
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"  # 413
    UNSUPPORTED_ENCODING = "UNSUPPORTED_ENCODING"  # 415
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"  # 422
    RATE_LIMITED = "RATE_LIMITED"  # 429
    INTERNAL_ERROR = "INTERNAL_ERROR"  # 500
    UNAVAILABLE = "UNAVAILABLE"  # 503


class ApiError(Exception):
    """A refusal of the whole request: becomes `{"error": code, "message": ...}` with `status`."""

    def __init__(
        self, status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"error": str(self.code), "message": self.message}


def bad_request(message: str) -> ApiError:
    return ApiError(400, ErrorCode.BAD_REQUEST, message)


class SetupError(Exception):
    """A server start-up input (registry CSV, regions CSV, token) is unusable; the text says why."""


@dataclass(frozen=True, slots=True)
class Item:
    """One element of `records`: the desk's id for the record, its content hash, the record."""

    client_id: str
    content_hash: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Batch:
    office_code: str
    items: list[Item] = field(default_factory=list)


def is_uuid(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def parse_batch(document: object) -> Batch:
    """Check the envelope of a batch. Anything wrong with it refuses the whole batch (400, or 413
    for more than MAX_RECORDS records); what is wrong inside a `record` only rejects that record."""
    if not isinstance(document, dict):
        raise bad_request("the body must be a JSON object")
    office = document.get("office_code")
    if not isinstance(office, str) or not _OFFICE.fullmatch(office):
        raise bad_request("office_code must be a 4-digit regency/city code")
    records = document.get("records")
    if not isinstance(records, list):
        raise bad_request("records must be an array")
    if len(records) > MAX_RECORDS:
        raise ApiError(
            413,
            ErrorCode.BATCH_TOO_LARGE,
            f"{len(records)} records; at most {MAX_RECORDS} per batch",
        )
    items: list[Item] = []
    for index, entry in enumerate(records):
        if not isinstance(entry, dict):
            raise bad_request(f"records[{index}] must be an object")
        client_id, content_hash, record = (
            entry.get("client_id"),
            entry.get("content_hash"),
            entry.get("record"),
        )
        if not is_uuid(client_id):
            raise bad_request(f"records[{index}].client_id must be a UUID")
        if not isinstance(content_hash, str) or not _SHA256.fullmatch(content_hash):
            raise bad_request(f"records[{index}].content_hash must be 64 lowercase hex digits")
        if not isinstance(record, dict):
            raise bad_request(f"records[{index}].record must be an object")
        items.append(Item(client_id, content_hash, record))
    return Batch(office, items)


#: Optional fields of a record and the JSON types they may have when present (null is allowed).
OPTIONAL_STRINGS = (
    "birth_place", "phone", "email", "address", "rt", "rw", "village", "district", "regency",
    "province", "education", "employment", "occupation", "priority", "training", "desk", "operator",
    "registered_at",
)  # fmt: skip
OPTIONAL_BOOLEANS = ("in_school", "social_assistance")
REQUIRED_FIELDS = ("registration_number", "nik", "kk", "name", "birth_date", "gender")


def record_birth_date(record: dict[str, Any]) -> date | None:
    """The form's birth date (YYYY-MM-DD), or None when it is missing or not a real date."""
    value = record.get("birth_date")
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _fields_valid(record: dict[str, Any], today: date) -> bool:
    number = record.get("registration_number")
    if not isinstance(number, str) or not _REGISTRATION_NUMBER.fullmatch(number):
        return False
    name = record.get("name")
    if not isinstance(name, str) or not name.strip():
        return False
    born = record_birth_date(record)
    if born is None or born > today:
        return False
    if record.get("gender") not in ("L", "P"):
        return False
    for key in OPTIONAL_STRINGS:
        if record.get(key) is not None and not isinstance(record[key], str):
            return False
    return all(
        record.get(key) is None or isinstance(record[key], bool) for key in OPTIONAL_BOOLEANS
    )


def check_record(record: dict[str, Any], office_code: str, today: date) -> RejectReason | None:
    """Why the central system refuses this record for good, or None when it is well-formed.

    NIK: 16 ASCII digits that decode (province, birth date, serial) on the server's date. KK: 16
    digits with a real province. The record's office is the prefix of its registration number.
    """
    nik = record.get("nik")
    if (
        not isinstance(nik, str)
        or not _DIGITS16.fullmatch(nik)
        or not parse_nik(nik, today=today).valid
    ):
        return RejectReason.NIK_INVALID
    kk = record.get("kk")
    if not isinstance(kk, str) or not _DIGITS16.fullmatch(kk) or parse_kk(kk)[1]:
        return RejectReason.KK_INVALID
    if not _fields_valid(record, today):
        return RejectReason.FIELD_INVALID
    if not str(record["registration_number"]).startswith(f"{office_code}-"):
        return RejectReason.OFFICE_MISMATCH
    born = record_birth_date(record)
    if born is None or age_on(born, today) < MIN_AGE:
        return RejectReason.AGE_NOT_ELIGIBLE
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """A body's JSON document (UTF-8, no NaN or Infinity), or 400."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad_request("the body is not UTF-8 JSON") from None


def canonical_sha256(document: Any) -> str:
    """The hash that makes two bodies 'the same': the same JSON document, whatever the key order,
    spacing or compression (the server's, the office hub's, and a bundle's batches)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# -- amendments: corrections and withdrawals of a registration -----------------------------------


class AmendKind(StrEnum):
    """What an amendment does to a registration."""

    AMEND = "amend"
    WITHDRAW = "withdraw"


class AmendOutcome(StrEnum):
    """What happened to one amendment."""

    APPLIED = "applied"
    CONFLICT = "conflict"
    REJECTED = "rejected"


class AmendReason(StrEnum):
    """Why an amendment was not applied. `VERSION_STALE` comes with `conflict`; the others, and
    the record checks' own reasons (KK_INVALID, FIELD_INVALID, OFFICE_MISMATCH, AGE_NOT_ELIGIBLE)
    on the amended record, with `rejected`."""

    VERSION_STALE = "VERSION_STALE"
    NOT_REGISTERED = "NOT_REGISTERED"
    WITHDRAWN = "WITHDRAWN"
    FIELD_NOT_AMENDABLE = "FIELD_NOT_AMENDABLE"


#: A registration's identity: an amendment may not change these (a wrong NIK is a new registration:
#: withdraw this one and register again).
FIXED_FIELDS = ("registration_number", "nik", "desk", "operator", "registered_at")
#: Amendments in one request, at most (as records in a batch).
MAX_AMENDMENTS = MAX_RECORDS


@dataclass(frozen=True, slots=True)
class Amendment:
    """One element of `amendments`: its id (new for each correction, the same on every retry),
    the registration's client_id, the version it amends, and the changed fields."""

    amendment_id: str
    client_id: str
    base_version: int
    kind: AmendKind
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AmendmentBatch:
    office_code: str
    items: list[Amendment] = field(default_factory=list)


def parse_amendments(document: object) -> AmendmentBatch:
    """Check the envelope of an amendments request; anything wrong refuses it whole (400, or 413
    past MAX_AMENDMENTS). What the changes would make of the record only rejects that amendment."""
    if not isinstance(document, dict):
        raise bad_request("the body must be a JSON object")
    office = document.get("office_code")
    if not isinstance(office, str) or not _OFFICE.fullmatch(office):
        raise bad_request("office_code must be a 4-digit regency/city code")
    entries = document.get("amendments")
    if not isinstance(entries, list):
        raise bad_request("amendments must be an array")
    if len(entries) > MAX_AMENDMENTS:
        raise ApiError(
            413,
            ErrorCode.BATCH_TOO_LARGE,
            f"{len(entries)} amendments; at most {MAX_AMENDMENTS} per request",
        )
    items: list[Amendment] = []
    for index, entry in enumerate(entries):
        where = f"amendments[{index}]"
        if not isinstance(entry, dict):
            raise bad_request(f"{where} must be an object")
        amendment_id, client_id = entry.get("amendment_id"), entry.get("client_id")
        if not is_uuid(amendment_id):
            raise bad_request(f"{where}.amendment_id must be a UUID")
        if not is_uuid(client_id):
            raise bad_request(f"{where}.client_id must be a UUID")
        version = entry.get("base_version")
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 2**31:
            raise bad_request(f"{where}.base_version must be a whole number from 1")
        kind = entry.get("kind")
        if kind not in tuple(AmendKind):
            raise bad_request(f"{where}.kind must be amend or withdraw")
        changes = entry.get("changes", {})
        if not isinstance(changes, dict):
            raise bad_request(f"{where}.changes must be an object")
        if kind == AmendKind.AMEND and not changes:
            raise bad_request(f"{where}.changes must name at least one field")
        if kind == AmendKind.WITHDRAW and changes:
            raise bad_request(f"{where}: a withdrawal changes no fields")
        items.append(Amendment(amendment_id, client_id, version, AmendKind(kind), dict(changes)))
    return AmendmentBatch(office, items)


def check_amendment(
    record: dict[str, Any], amendment: Amendment, office_code: str, today: date
) -> tuple[str | None, dict[str, Any]]:
    """(why the amendment is refused or None, the record it makes). The amended record must pass
    the same checks as a new one (check_record); its identity (FIXED_FIELDS) stays."""
    if amendment.kind == AmendKind.WITHDRAW:
        return None, record
    if any(name in FIXED_FIELDS for name in amendment.changes):
        return str(AmendReason.FIELD_NOT_AMENDABLE), record
    amended = {**record, **amendment.changes}
    reason = check_record(amended, office_code, today)
    return (None if reason is None else str(reason)), amended
