"""Pause, resume, overrun and the cycles the circuit breaker reads (SQL in sql/admission.sql).

Kept in the database, not in a setting, so every tick cron starts sees what a person
decided with `agentctl pause` / `agentctl resume`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from agentctl.domain import Blame
from agentctl.store.queries import atomic, load

if TYPE_CHECKING:
    import psycopg

_sql = load("admission")


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


class RecentEnding(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built when the breaker counts, not on a paused tick

    id: int
    outcome: str | None
    failure_reason: str | None
    blame: Blame
    completed_at: datetime


@atomic
def state(conn: psycopg.Connection[Any]) -> AdmissionState:
    """The pause, the last resume and any overrun since it (a LEFT JOIN from one row: always a row)."""
    return AdmissionState.model_validate(_sql.one(conn, "admission_state"))


@atomic
def pause(conn: psycopg.Connection[Any], note: str | None) -> datetime:
    """Stop new cycles until `resume`; returns when."""
    paused_at: datetime = _sql.one(conn, "pause", {"note": note})["paused_at"]
    return paused_at


@atomic
def resume(conn: psycopg.Connection[Any]) -> datetime:
    """Clear the pause, close the circuit breaker and lift an overrun's pause; returns when."""
    resumed_at: datetime = _sql.one(conn, "resume")["resumed_at"]
    return resumed_at


@atomic
def needs_person(conn: psycopg.Connection[Any], reason: str) -> None:
    """Hold new invocations until `resume`: the API said something only a person can fix."""
    _sql.run(conn, "needs_person", {"reason": reason[:500]})


@atomic
def recent_endings(conn: psycopg.Connection[Any], since: datetime | None, n: int) -> list[RecentEnding]:
    """The last `n` cycles that ended after `since`, newest first."""
    return [RecentEnding.model_validate(r) for r in _sql.all(conn, "recent_endings", {"since": since, "n": n})]
