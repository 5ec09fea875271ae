"""Validation findings: a stable code, a severity, the field, and parameters for the message."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """ERROR blocks storing; WARNING is stored and shown (status flagged); INFO is a note."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Code(StrEnum):
    """Every finding code. Documented, with its fix, in docs/findings.md."""

    NIK_FORMAT = "NIK_FORMAT"
    NIK_PROVINCE_UNKNOWN = "NIK_PROVINCE_UNKNOWN"
    NIK_REGION_UNKNOWN = "NIK_REGION_UNKNOWN"
    NIK_BIRTHDATE_INVALID = "NIK_BIRTHDATE_INVALID"
    NIK_SERIAL_INVALID = "NIK_SERIAL_INVALID"
    NIK_PRECISION_LOST = "NIK_PRECISION_LOST"
    NIK_MASKED = "NIK_MASKED"
    NIK_BIRTHDATE_MISMATCH = "NIK_BIRTHDATE_MISMATCH"
    NIK_GENDER_MISMATCH = "NIK_GENDER_MISMATCH"
    NIK_DUPLICATE = "NIK_DUPLICATE"
    NIK_DUPLICATE_IN_FILE = "NIK_DUPLICATE_IN_FILE"
    REPORT_NIK_CHANGED = "REPORT_NIK_CHANGED"
    KK_FORMAT = "KK_FORMAT"
    KK_LIMIT_EXCEEDED = "KK_LIMIT_EXCEEDED"
    POSSIBLE_DUPLICATE = "POSSIBLE_DUPLICATE"
    AGE_BELOW_MIN = "AGE_BELOW_MIN"
    AGE_ABOVE_MAX = "AGE_ABOVE_MAX"
    IN_FORMAL_EDUCATION = "IN_FORMAL_EDUCATION"
    EXCLUDED_OCCUPATION = "EXCLUDED_OCCUPATION"
    OCCUPATION_STUDENT = "OCCUPATION_STUDENT"
    SOCIAL_ASSISTANCE_LOW_PRIORITY = "SOCIAL_ASSISTANCE_LOW_PRIORITY"
    NAME_INVALID = "NAME_INVALID"
    BIRTHDATE_INVALID = "BIRTHDATE_INVALID"
    GENDER_INVALID = "GENDER_INVALID"
    PHONE_INVALID = "PHONE_INVALID"
    EMAIL_INVALID = "EMAIL_INVALID"
    EMAIL_DOMAIN_SUSPECT = "EMAIL_DOMAIN_SUSPECT"
    CHOICE_INVALID = "CHOICE_INVALID"
    REQUIRED_MISSING = "REQUIRED_MISSING"
    DISTRICT_UNKNOWN = "DISTRICT_UNKNOWN"
    VILLAGE_UNKNOWN = "VILLAGE_UNKNOWN"
    ROW_NOT_APPLICANT = "ROW_NOT_APPLICANT"
    RT_RW_INVALID = "RT_RW_INVALID"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing validation noticed about one field."""

    code: Code
    severity: Severity
    field: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR

    def message(self, lang: str | None = None) -> str:
        from prakerja_cli.i18n import finding_message

        return finding_message(self, lang)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "field": self.field,
            "code": str(self.code),
            "severity": str(self.severity),
            "message": self.message(lang),
        }

    def to_stored(self) -> dict[str, Any]:
        """The language-free form kept in the database."""
        return {
            "field": self.field,
            "code": str(self.code),
            "severity": str(self.severity),
            "params": self.params,
        }

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Finding:
        return cls(
            Code(data["code"]), Severity(data["severity"]), data["field"], data.get("params", {})
        )


def error(code: Code, field: str, /, **params: Any) -> Finding:
    return Finding(code, Severity.ERROR, field, params)


def warning(code: Code, field: str, /, **params: Any) -> Finding:
    return Finding(code, Severity.WARNING, field, params)


def info(code: Code, field: str, /, **params: Any) -> Finding:
    return Finding(code, Severity.INFO, field, params)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.blocking for f in findings)
