"""The OpenAPI document of the v1 contract, built from the codes in `contract`.

docs/central-api.openapi.json is this document; regenerate it after a change with
`python -m prakerja_cli.central.openapi docs/central-api.openapi.json` (a test compares them).
The server serves it at GET /v1/openapi.json.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

from prakerja_cli.central.contract import (
    API_VERSION,
    AUDIT_HEAD_PATTERN,
    DATE_PATTERN,
    DEFAULT_LIMIT,
    DIGITS16_PATTERN,
    FIXED_FIELDS,
    MAX_AMENDMENTS,
    MAX_BODY_BYTES,
    MAX_CURSOR,
    MAX_LIMIT,
    MAX_RECORDS,
    OFFICE_PATTERN,
    OPTIONAL_BOOLEANS,
    OPTIONAL_STRINGS,
    REGISTRATION_NUMBER_PATTERN,
    REQUIRED_FIELDS,
    SHA256_PATTERN,
    UUID_PATTERN,
    AmendKind,
    AmendOutcome,
    AmendReason,
    ConflictReason,
    ErrorCode,
    Outcome,
    RegistryReason,
    RejectReason,
    Status,
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _values(enum: type[StrEnum]) -> list[str]:
    return [str(member) for member in enum]


def _json(schema: dict[str, Any] | str, description: str) -> dict[str, Any]:
    body = _ref(schema) if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": body}}}


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}


def _error(description: str, *, retry: bool = False) -> dict[str, Any]:
    response = _json("Error", description)
    if retry:
        response["headers"] = _RETRY_AFTER
    return response


_COMMON_ERRORS = {
    "401": _error("Missing or unknown token (UNAUTHORIZED)."),
    "429": _error("Too many requests (RATE_LIMITED).", retry=True),
    "503": _error("Unavailable, e.g. maintenance (UNAVAILABLE).", retry=True),
}

_UUID = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
_NULLABLE_STRING = {"type": ["string", "null"]}


def _record_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "registration_number": {
            "type": "string",
            "pattern": REGISTRATION_NUMBER_PATTERN,
            "description": "Office code, desk and per-desk sequence; its office code must be the "
            "batch's (else OFFICE_MISMATCH).",
            "examples": ["3273-D01-000001"],
        },
        "nik": {
            "type": "string",
            "pattern": DIGITS16_PATTERN,
            "description": "16 digits: region, birth date (women +40 on the day), serial "
            "(else NIK_INVALID).",
        },
        "kk": {"type": "string", "pattern": DIGITS16_PATTERN, "description": "Else KK_INVALID."},
        "name": {"type": "string", "minLength": 1, "pattern": "\\S"},
        "birth_date": {
            "type": "string",
            "format": "date",
            "pattern": DATE_PATTERN,
            "description": "YYYY-MM-DD, not in the future; the applicant must be at least 18 on "
            "the server's date (else AGE_NOT_ELIGIBLE).",
        },
        "gender": {"type": "string", "enum": ["L", "P"]},
    }
    for name in OPTIONAL_STRINGS:
        properties[name] = dict(_NULLABLE_STRING)
    for name in OPTIONAL_BOOLEANS:
        properties[name] = {"type": ["boolean", "null"]}
    return {
        "type": "object",
        "description": "The applicant as registered at the desk. A record that breaks this "
        "schema is rejected (the reasons are in the descriptions; otherwise FIELD_INVALID); the "
        "rest of the batch is processed. Other properties are kept and ignored.",
        "required": list(REQUIRED_FIELDS),
        "properties": properties,
    }


def _result(outcome: Outcome, extra: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["client_id", "outcome", *required],
        "properties": {
            "client_id": _UUID,
            "outcome": {"type": "string", "const": str(outcome)},
            **extra,
        },
    }


_CENTRAL_ID = {"type": "string", "pattern": "^C-[0-9]{6,}$", "examples": ["C-000001"]}


def _event(status: Status, reason: dict[str, Any], wave: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["seq", "client_id", "central_id", "status", "reason", "wave", "at"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "client_id": _UUID,
            "central_id": _CENTRAL_ID,
            "status": {"type": "string", "const": str(status)},
            "reason": reason,
            "wave": wave,
            "at": {"type": "string", "format": "date-time"},
        },
    }


def _amendment(kind: AmendKind, changes: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["amendment_id", "client_id", "base_version", "kind", *required],
        "properties": {
            "amendment_id": {
                **_UUID,
                "description": "Made with the correction; the same on every retry. Its first "
                "answer is final: sent again, it is answered the same and never applied twice.",
            },
            "client_id": {**_UUID, "description": "The registration's client_id."},
            "base_version": {
                "type": "integer",
                "minimum": 1,
                "maximum": 2**31 - 1,
                "description": "The version it amends (a registration is version 1; each applied "
                "amendment adds one). Another version held: conflict VERSION_STALE.",
            },
            "kind": {"type": "string", "const": str(kind)},
            "changes": changes,
        },
    }


_VERSION = {"type": "integer", "minimum": 1, "description": "The registration's version now."}


def _amend_result(
    outcome: AmendOutcome, extra: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["amendment_id", "client_id", "outcome", *required],
        "properties": {
            "amendment_id": _UUID,
            "client_id": _UUID,
            "outcome": {"type": "string", "const": str(outcome)},
            **extra,
        },
    }


def _amendment_schemas() -> dict[str, Any]:
    fixed = ", ".join(FIXED_FIELDS)
    return {
        "Amend": _amendment(
            AmendKind.AMEND,
            {
                "type": "object",
                "minProperties": 1,
                "description": "The changed fields of the record (as in Record) and their new "
                f"values. Not amendable ({fixed}): FIELD_NOT_AMENDABLE. The amended record must "
                "pass the checks of a new one (else rejected with that reason).",
            },
            ["changes"],
        ),
        "Withdraw": _amendment(
            AmendKind.WITHDRAW,
            {"type": "object", "maxProperties": 0, "description": "None: a withdrawal."},
            [],
        ),
        "Amendment": {"oneOf": [_ref("Amend"), _ref("Withdraw")]},
        "AmendmentRequest": {
            "type": "object",
            "required": ["office_code", "amendments"],
            "properties": {
                "office_code": {"type": "string", "pattern": OFFICE_PATTERN},
                "amendments": {
                    "type": "array",
                    "maxItems": MAX_AMENDMENTS,
                    "items": _ref("Amendment"),
                },
            },
        },
        "Applied": _amend_result(
            AmendOutcome.APPLIED,
            {"central_id": _CENTRAL_ID, "version": _VERSION},
            ["central_id", "version"],
        ),
        "AmendConflict": _amend_result(
            AmendOutcome.CONFLICT,
            {
                "reason": {"type": "string", "const": str(AmendReason.VERSION_STALE)},
                "central_id": _CENTRAL_ID,
                "version": _VERSION,
            },
            ["reason", "central_id", "version"],
        ),
        "AmendRejected": _amend_result(
            AmendOutcome.REJECTED,
            {
                "reason": {
                    "type": "string",
                    "enum": [r for r in _values(AmendReason) if r != AmendReason.VERSION_STALE]
                    + _values(RejectReason),
                },
                "central_id": _CENTRAL_ID,
                "version": _VERSION,
            },
            ["reason"],
        ),
        "AmendmentResult": {
            "oneOf": [_ref("Applied"), _ref("AmendConflict"), _ref("AmendRejected")]
        },
        "AmendmentResponse": {
            "type": "object",
            "required": ["request_id", "results"],
            "properties": {
                "request_id": {**_UUID, "description": "The Idempotency-Key."},
                "results": {
                    "type": "array",
                    "maxItems": MAX_AMENDMENTS,
                    "description": "One per amendment, in the order of the request.",
                    "items": _ref("AmendmentResult"),
                },
            },
        },
    }


def _schemas() -> dict[str, Any]:
    return {
        **_amendment_schemas(),
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "enum": _values(ErrorCode)},
                "message": {"type": "string"},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "version"],
            "properties": {
                "status": {"type": "string", "const": "ok"},
                "version": {"type": "string", "const": API_VERSION},
            },
        },
        "Record": _record_schema(),
        "BatchItem": {
            "type": "object",
            "required": ["client_id", "content_hash", "record"],
            "properties": {
                "client_id": {**_UUID, "description": "Made at the desk; never changes."},
                "content_hash": {
                    "type": "string",
                    "pattern": SHA256_PATTERN,
                    "description": "SHA-256 (lowercase hex) of the record's content, computed by "
                    "the client the same way every time; the server compares it, never recomputes "
                    "it.",
                },
                "record": _ref("Record"),
            },
        },
        "BatchRequest": {
            "type": "object",
            "required": ["office_code", "records"],
            "properties": {
                "office_code": {"type": "string", "pattern": OFFICE_PATTERN},
                "records": {
                    "type": "array",
                    "maxItems": MAX_RECORDS,
                    "items": _ref("BatchItem"),
                },
            },
        },
        "Accepted": _result(Outcome.ACCEPTED, {"central_id": _CENTRAL_ID}, ["central_id"]),
        "Duplicate": _result(
            Outcome.DUPLICATE,
            {
                "central_id": {**_CENTRAL_ID, "description": "The registration holding the NIK."},
                "registered_by": {
                    "type": "object",
                    "required": ["office_code", "registration_number"],
                    "properties": {
                        "office_code": {"type": "string", "pattern": OFFICE_PATTERN},
                        "registration_number": {
                            "type": "string",
                            "pattern": REGISTRATION_NUMBER_PATTERN,
                        },
                    },
                },
            },
            ["central_id", "registered_by"],
        ),
        "Rejected": _result(
            Outcome.REJECTED,
            {"reason": {"type": "string", "enum": _values(RejectReason)}},
            ["reason"],
        ),
        "Conflict": _result(
            Outcome.CONFLICT,
            {
                "reason": {"type": "string", "enum": _values(ConflictReason)},
                "central_id": {**_CENTRAL_ID, "description": "The registration that stands."},
            },
            ["reason", "central_id"],
        ),
        "Result": {
            "oneOf": [_ref("Accepted"), _ref("Duplicate"), _ref("Rejected"), _ref("Conflict")]
        },
        "BatchResponse": {
            "type": "object",
            "required": ["batch_id", "results"],
            "properties": {
                "batch_id": {**_UUID, "description": "The Idempotency-Key."},
                "results": {
                    "type": "array",
                    "maxItems": MAX_RECORDS,
                    "description": "One per record, in the order of the request.",
                    "items": _ref("Result"),
                },
            },
        },
        "Event": {
            "oneOf": [
                _event(Status.VERIFIED, {"type": "null"}, {"type": "null"}),
                _event(
                    Status.REGISTRY_REJECTED,
                    {"type": "string", "enum": _values(RegistryReason)},
                    {"type": "null"},
                ),
                _event(Status.WAVE_ASSIGNED, {"type": "null"}, {"type": "integer", "minimum": 1}),
            ]
        },
        "StatusFeed": {
            "type": "object",
            "required": ["events", "next_cursor"],
            "properties": {
                "events": {"type": "array", "maxItems": MAX_LIMIT, "items": _ref("Event")},
                "next_cursor": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "The seq of the last event returned; the cursor asked for "
                    "when there is none.",
                },
                "audit_anchor": {
                    "description": "Only when the request carried Audit-Head: the head this "
                    "server held for that office and desk before the request (null: none yet).",
                    "oneOf": [{"type": "null"}, _ref("AuditAnchor")],
                },
            },
        },
        "AuditAnchor": {
            "type": "object",
            "required": ["head", "received_at"],
            "properties": {
                "head": {"type": "string", "pattern": AUDIT_HEAD_PATTERN},
                "received_at": {"type": "string", "format": "date-time"},
            },
        },
        "Region": {
            "type": "object",
            "required": ["code", "level", "name"],
            "properties": {
                "code": {
                    "type": "string",
                    "pattern": "^[0-9]{2}(\\.[0-9]{2}(\\.[0-9]{2}(\\.[0-9]{4})?)?)?$",
                    "examples": ["32.73"],
                },
                "level": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 4,
                    "description": "1 province, 2 regency/city, 3 kecamatan, 4 kelurahan/desa.",
                },
                "name": {"type": "string"},
            },
        },
        "Regions": {
            "type": "object",
            "required": ["regions"],
            "properties": {"regions": {"type": "array", "items": _ref("Region")}},
        },
    }


def openapi_document() -> dict[str, Any]:
    """The contract as an OpenAPI 3.1 document."""
    batches: dict[str, dict[str, Any]] = {
        "post": {
            "operationId": "submitBatch",
            "summary": "Register a batch of records (one result per record, in order).",
            "description": f"At most {MAX_RECORDS} records and {MAX_BODY_BYTES} bytes of JSON "
            "(after decompression); larger batches are refused whole (413). The valid records "
            "of a batch are kept when others fail. Replays: the same client_id with the same "
            "content_hash returns its first result; the same Idempotency-Key with the same body "
            "(the same JSON document) returns the first response, with another body 422.",
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "description": "A new UUID per batch; the same one when retrying it.",
                    "schema": _UUID,
                },
                {
                    "name": "Content-Encoding",
                    "in": "header",
                    "required": False,
                    "description": "gzip to send a compressed body.",
                    "schema": {"type": "string", "enum": ["gzip", "identity"]},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("BatchRequest")}},
            },
            "responses": {
                "200": _json("BatchResponse", "One result per record, in order."),
                "400": _error("Missing or malformed Idempotency-Key, or the body is not gzip, "
                              "JSON or a batch; nothing was processed (BAD_REQUEST)."),
                "401": _COMMON_ERRORS["401"],
                "403": _error("office_code is not the token's office (FORBIDDEN)."),
                "413": _error("Over the limits; nothing was processed (BATCH_TOO_LARGE)."),
                "415": _error("Content-Encoding other than gzip (UNSUPPORTED_ENCODING)."),
                "422": _error("Idempotency-Key used before with another body "
                              "(IDEMPOTENCY_KEY_REUSED)."),
                "429": _COMMON_ERRORS["429"],
                "503": _COMMON_ERRORS["503"],
            },
        }
    }  # fmt: skip
    amendments = {
        "post": {
            "operationId": "submitAmendments",
            "summary": "Correct or withdraw registrations (one result per amendment, in order).",
            "description": f"At most {MAX_AMENDMENTS} amendments and {MAX_BODY_BYTES} bytes of "
            "JSON. Each amends the version it names of one of the office's registrations, in "
            "order (a second amendment of one registration in a request amends what the first "
            "made). Replays: an amendment_id answered before gets its first answer; the same "
            "Idempotency-Key with the same body returns the first response, with another body 422.",
            "parameters": batches["post"]["parameters"],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("AmendmentRequest")}},
            },
            "responses": {
                **batches["post"]["responses"],
                "200": _json("AmendmentResponse", "One result per amendment, in order."),
                "400": _error("Missing or malformed Idempotency-Key, or the body is not gzip, "
                              "JSON or an amendments request; nothing was processed "
                              "(BAD_REQUEST)."),
            },
        }
    }  # fmt: skip
    status = {
        "get": {
            "operationId": "statusFeed",
            "summary": "Later verification outcomes for the token's office, oldest first.",
            "parameters": [
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "description": "The next_cursor of the previous page; 0 to start.",
                    "schema": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_CURSOR,
                        "default": 0,
                    },
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                    },
                },
                {
                    "name": "Audit-Head",
                    "in": "header",
                    "required": False,
                    "description": "OFFICE:DESK:SEQ:HASH:FIRST, the head of the desk's audit chain "
                    "and the hash of its first entry. "
                    "Kept per office and desk; the response's audit_anchor is the one kept "
                    "before.",
                    "schema": {"type": "string", "pattern": AUDIT_HEAD_PATTERN},
                },
            ],
            "responses": {
                "200": _json("StatusFeed", "Events after the cursor; never reordered or removed."),
                "400": _error(
                    "cursor or limit out of range, or Audit-Head malformed (BAD_REQUEST)."
                ),
                "401": _COMMON_ERRORS["401"],
                "403": _error("Audit-Head names another office than the token's (FORBIDDEN)."),
                "429": _COMMON_ERRORS["429"],
                "503": _COMMON_ERRORS["503"],
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kartu Prakerja central API",
            "version": API_VERSION,
            "description": "The contract between the office client (`prakerja sync`) and the "
            "central system; the prose is docs/central-api.md. Errors are "
            '{"error": CODE, "message": text}.',
        },
        "paths": {
            "/v1/health": {
                "get": {
                    "operationId": "health",
                    "security": [],
                    "responses": {"200": _json("Health", "The server is up.")},
                }
            },
            "/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "This document.")},
                }
            },
            "/v1/registrations/batches": batches,
            "/v1/registrations/amendments": amendments,
            "/v1/status": status,
            "/v1/reference/regions": {
                "get": {
                    "operationId": "regions",
                    "summary": "The region list the central system validates against.",
                    "responses": {"200": _json("Regions", "Every region code."), **_COMMON_ERRORS},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "One token per office.",
                }
            },
            "schemas": _schemas(),
        },
        "security": [{"bearer": []}],
    }


def render() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = render()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
