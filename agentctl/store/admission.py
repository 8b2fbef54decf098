"""Pause, resume, overrun and the cycles the circuit breaker reads (SQL in sql/admission.sql).

Kept in the database, not in a setting, so every tick cron starts sees what a person
decided with `agentctl pause` / `agentctl resume`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.store.queries import load

if TYPE_CHECKING:
    import psycopg


class AdmissionState(BaseModel):
    """What stands between a tick and a new invocation, as stored."""

    now: datetime
    paused_at: datetime | None = None
    pause_note: str | None = None
    resumed_at: datetime | None = None
    overrun_date: date | None = None  # the latest day a call cost more than it reserved, since the last resume
    overrun_at: datetime | None = None
    overrun_usd: Decimal | None = None
    needs_person_at: datetime | None = None  # an API failure no retry can fix, since the last resume
    needs_person_reason: str | None = None


class Ending(BaseModel):
    id: int
    outcome: str | None
    failure_reason: str | None
    completed_at: datetime


def state(conn: psycopg.Connection[Any]) -> AdmissionState:
    """The pause, the last resume and any overrun since it."""
    with conn.transaction():
        row = conn.execute(load("admission")["admission_state"]).fetchone()
    assert row is not None, "a LEFT JOIN from one row always returns one"
    return AdmissionState.model_validate(dict(row))


def pause(conn: psycopg.Connection[Any], note: str | None) -> datetime:
    """Stop new cycles until `resume`; returns when."""
    with conn.transaction():
        row = conn.execute(load("admission")["pause"], {"note": note}).fetchone()
    assert row is not None, "an upsert with RETURNING returns its row"
    paused_at: datetime = row["paused_at"]
    return paused_at


def resume(conn: psycopg.Connection[Any]) -> datetime:
    """Clear the pause, close the circuit breaker and lift an overrun's pause; returns when."""
    with conn.transaction():
        row = conn.execute(load("admission")["resume"]).fetchone()
    assert row is not None, "an upsert with RETURNING returns its row"
    resumed_at: datetime = row["resumed_at"]
    return resumed_at


def needs_person(conn: psycopg.Connection[Any], reason: str) -> None:
    """Hold new invocations until `resume`: the API said something only a person can fix."""
    with conn.transaction():
        conn.execute(load("admission")["needs_person"], {"reason": reason[:500]})


def recent_endings(conn: psycopg.Connection[Any], since: datetime | None, n: int) -> list[Ending]:
    """The last `n` cycles that ended after `since`, newest first."""
    with conn.transaction():
        rows = conn.execute(load("admission")["recent_endings"], {"since": since, "n": n}).fetchall()
    return [Ending.model_validate(dict(r)) for r in rows]
