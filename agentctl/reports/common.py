"""What several reports share: rounding, ages, the budget day, hints."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.domain import Money

if TYPE_CHECKING:
    from agentctl.store.budget import BudgetSnapshot

NO_TICK_WARNING_S = 300.0  # cron runs the tick every minute: 5 minutes of silence means it stopped
NO_CYCLES_HINT = "no cycles yet: run `agentctl tick`, or `agentctl cron --install` to tick every minute"
NO_TICK_HINT = "no tick has run yet: run `agentctl tick`, or `agentctl cron --install` to tick every minute"

_Day = date  # inside BudgetDay the field `date` hides the type


def num(value: Any, places: int = 4) -> float | None:
    """A figure rounded to `places`; None when missing or not a number."""
    if value is None:
        return None
    try:
        return round(float(value), places)
    except (TypeError, ValueError):
        return None


class BudgetDay(BaseModel):
    date: date
    limit_usd: Money
    used_usd: Money
    reserved_usd: Money
    remaining_usd: Money
    invocations: int
    cycles_started: int
    cycles_completed: int
    exists: bool  # false: no tick has created the day's row yet (figures are the defaults)

    @classmethod
    def of(cls, snap: BudgetSnapshot) -> BudgetDay:
        """A day that has a row, from the budget's own snapshot."""
        # The reports' names (their JSON keys: limit_usd, used_usd, ...) for the snapshot's limit, used, ...
        return cls(
            date=snap.date,
            limit_usd=snap.limit,
            used_usd=snap.used,
            reserved_usd=snap.reserved,
            remaining_usd=snap.remaining,
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
            limit_usd=limit,
            used_usd=Decimal(0),
            reserved_usd=Decimal(0),
            remaining_usd=limit,
            invocations=0,
            cycles_started=0,
            cycles_completed=0,
            exists=False,
        )
