"""What several reports share: rounding, ages, the budget day, trigger and action rows, hints."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from agentctl.store.budget import BudgetSnapshot
    from agentctl.store.reports import ActionLine, TriggerLine

NO_TICK_WARNING_S = 300.0  # cron runs the tick every minute: 5 minutes of silence means it stopped
NO_CYCLES_HINT = "no cycles yet: run `agentctl tick`, or `agentctl cron --install` to tick every minute"
NO_TICK_HINT = "no tick has run yet: run `agentctl tick`, or `agentctl cron --install` to tick every minute"

_Day = date  # inside BudgetDay the field `date` hides the type


def usd(value: Decimal | float | int) -> float:
    """Money for display and JSON: USD, 4 decimal places."""
    return float(round(Decimal(value), 4))


def usd_or_none(value: Decimal | float | int | None) -> float | None:
    return None if value is None else usd(value)


def num(value: Any, places: int = 4) -> float | None:
    """A figure rounded to `places`; None when missing or not a number."""
    if value is None:
        return None
    try:
        return round(float(value), places)
    except (TypeError, ValueError):
        return None


def age(seconds: float) -> str:
    """A coarse age for warnings: 90s, 5m, 2h05m, 3d."""
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d"


class BudgetDay(BaseModel):
    date: date
    limit_usd: float
    used_usd: float
    reserved_usd: float
    remaining_usd: float
    invocations: int
    cycles_started: int
    cycles_completed: int
    exists: bool  # false: no tick has created the day's row yet (figures are the defaults)

    @classmethod
    def of(cls, snap: BudgetSnapshot) -> BudgetDay:
        """A day that has a row, from the budget's own snapshot."""
        return cls(
            date=snap.date,
            limit_usd=usd(snap.limit),
            used_usd=usd(snap.used),
            reserved_usd=usd(snap.reserved),
            remaining_usd=usd(snap.remaining),
            invocations=snap.invocations,
            cycles_started=snap.cycles_started,
            cycles_completed=snap.cycles_completed,
            exists=True,
        )

    @classmethod
    def untouched(cls, day: _Day, limit: Decimal) -> BudgetDay:
        """A day no tick has opened: nothing spent, the whole default limit left."""
        return cls(
            date=day,
            limit_usd=usd(limit),
            used_usd=0.0,
            reserved_usd=0.0,
            remaining_usd=usd(limit),
            invocations=0,
            cycles_started=0,
            cycles_completed=0,
            exists=False,
        )


class TriggerRow(BaseModel):
    id: int
    triggered_at: datetime
    trigger_reason: str
    session_id: int | None
    agent_invoked: bool
    skip_reason: str | None
    budget_used_today_usd: float | None
    budget_remaining_usd: float | None

    @classmethod
    def of(cls, line: TriggerLine) -> TriggerRow:
        return cls(
            id=line.id,
            triggered_at=line.triggered_at,
            trigger_reason=line.trigger_reason,
            session_id=line.session_id,
            agent_invoked=bool(line.agent_invoked),
            skip_reason=line.skip_reason,
            budget_used_today_usd=usd_or_none(line.budget_used_today_usd),
            budget_remaining_usd=usd_or_none(line.budget_remaining_usd),
        )


class ActionRow(BaseModel):
    id: int
    session_id: int | None
    action_at: datetime | None
    tool_name: str
    agent: str | None
    invocation: str | None
    model: str | None
    success: bool | None
    error_message: str | None
    tokens_input: int | None
    tokens_output: int | None
    tokens_cache_write: int | None
    tokens_cache_read: int | None
    cost_usd: float
    latency_ms: int | None
    request_id: str | None
    stop_reason: str | None
    attempt: int | None

    @classmethod
    def of(cls, line: ActionLine) -> ActionRow:
        return cls(**{**line.model_dump(), "cost_usd": usd(line.cost_usd or 0)})
