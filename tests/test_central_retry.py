"""PostgreSQL's retry loop gives up as "busy" (answered 503 with Retry-After), whatever the conflict
that kept recurring: a unique violation is not one of psycopg's OperationalErrors."""

from __future__ import annotations

import pytest

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL engine's extra is not installed")

from prakerja_cli.central import postgres_store  # noqa: E402


@pytest.mark.parametrize(
    "conflict",
    [psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected,
     psycopg.errors.SerializationFailure],
    ids=["unique", "deadlock", "serialization"],
)  # fmt: skip
def test_a_conflict_that_keeps_recurring_ends_as_busy(
    monkeypatch: pytest.MonkeyPatch, conflict: type[Exception]
) -> None:
    monkeypatch.setattr(postgres_store.time, "sleep", lambda seconds: None)
    attempts = []

    def once() -> bytes:
        attempts.append(1)
        raise conflict("conflict")

    with pytest.raises(psycopg.OperationalError):
        postgres_store._retrying(once)
    assert len(attempts) == postgres_store.MAX_ATTEMPTS


def test_a_conflict_settled_on_a_later_attempt_gives_its_answer() -> None:
    attempts = []

    def once() -> bytes:
        attempts.append(1)
        if len(attempts) < 3:
            raise psycopg.errors.UniqueViolation("conflict")
        return b"ok"

    assert postgres_store._retrying(once) == b"ok" and len(attempts) == 3


def test_other_errors_are_not_retried() -> None:
    attempts = []

    def once() -> bytes:
        attempts.append(1)
        raise ValueError("a bug, not a conflict")

    with pytest.raises(ValueError):
        postgres_store._retrying(once)
    assert len(attempts) == 1
