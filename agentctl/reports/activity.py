"""`agentctl actions` and `agentctl triggers`: the audit trail of calls, and what each tick decided."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.reports.common import ActionRow, TriggerRow
from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg


def recent_actions(conn: psycopg.Connection[Any], session_id: int | None = None, limit: int = 50) -> list[ActionRow]:
    """The newest actions first, of one cycle or of all."""
    return [ActionRow.of(a) for a in store.recent_actions(conn, session_id, limit)]


class TriggerCount(BaseModel):
    trigger_reason: str
    skip_reason: str | None
    agent_invoked: bool
    count: int


class TriggerReport(BaseModel):
    today_only: bool
    triggers: list[TriggerRow]  # newest first
    counts_today: list[TriggerCount] | None  # with --today: how today's ticks decided


def recent_triggers(conn: psycopg.Connection[Any], limit: int = 50, today: bool = False) -> TriggerReport:
    """The newest trigger rows first; with `today`, only today's (budget day) and their counts."""
    rows = store.recent_triggers(conn, limit, today=today)
    counts = None
    if today:
        counts = [
            TriggerCount(
                trigger_reason=r.trigger_reason,
                skip_reason=r.skip_reason,
                agent_invoked=bool(r.agent_invoked),
                count=r.n,
            )
            for r in store.trigger_counts_today(conn)
        ]
    return TriggerReport(today_only=today, triggers=[TriggerRow.of(r) for r in rows], counts_today=counts)
