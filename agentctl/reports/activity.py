"""`agentctl actions` and `agentctl triggers`: the audit trail of calls, and what each tick decided."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg


def recent_actions(
    conn: psycopg.Connection[Any], cycle_id: int | None = None, limit: int = 50
) -> list[store.ActionLine]:
    """The newest actions first, of one cycle or of all."""
    return store.recent_actions(conn, cycle_id, limit)


class TriggerReport(BaseModel):
    today_only: bool
    triggers: list[store.TriggerLine]  # newest first
    counts_today: list[store.TriggerCount] | None  # with --today: how today's ticks decided


def recent_triggers(conn: psycopg.Connection[Any], limit: int = 50, today: bool = False) -> TriggerReport:
    """The newest trigger rows first; with `today`, only today's (budget day) and their counts."""
    rows = store.recent_triggers(conn, limit, today=today)
    counts = store.trigger_counts_today(conn) if today else None
    return TriggerReport(today_only=today, triggers=rows, counts_today=counts)
