"""`budget set`: change a day's limit, or the limit for days not created yet.

Kept apart from the reports (it writes); it belongs with agentctl/store/budget.py
and is meant to move there.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings


class BudgetChange(BaseModel):
    scope: str  # "day" or "default"
    date: date | None  # the day changed (scope "day")
    old_limit_usd: float | None  # null: the day had no row yet (it had the default)
    new_limit_usd: float
    used_usd: float | None  # spend already charged to that day


def set_budget(
    conn: psycopg.Connection[Any],
    settings: Settings,
    amount: Decimal,
    *,
    day: date | None = None,
    default: bool = False,
) -> BudgetChange:
    """Change a day's limit (today unless `day`) or the default for days not yet created.

    A `day` before today is a ValueError: a past day's limit no longer limits anything.
    """
    from agentctl.reports.common import usd, usd_or_none
    from agentctl.reports.costs import default_limit
    from agentctl.store import reports as store
    from agentctl.store.budget import Budget

    budget = Budget(settings)
    if default:
        old_default = default_limit(conn, settings)
        budget.set_default_limit(conn, amount)
        return BudgetChange(
            scope="default", date=None, old_limit_usd=usd(old_default), new_limit_usd=usd(amount), used_usd=None
        )
    if day is not None and day < store.clock(conn).today:
        raise ValueError(f"{day} is in the past: only today's or a later day's limit can change")
    old = store.budget_day(conn, day)
    changed = budget.set_limit(conn, amount, day)
    return BudgetChange(
        scope="day",
        date=changed,
        old_limit_usd=usd_or_none(old.budget_limit_usd) if old else None,
        new_limit_usd=usd(amount),
        used_usd=usd(budget.snapshot(conn, changed).used),
    )
