"""Money: today's budget and the last days, and what the spend bought (cost per success and beyond)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.domain import Money
from agentctl.reports.common import BudgetDay
from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings


def default_limit(conn: psycopg.Connection[Any], settings: Settings) -> Decimal:
    """The limit a day without a row gets: `budget set --default`, else settings."""
    from agentctl.store.budget import Budget

    return Budget(settings).default_limit(conn)


DATABASE_DEFAULT = "database (`agentctl budget set --default`)"


def default_limit_source(conn: psycopg.Connection[Any], settings: Settings) -> tuple[Decimal, str]:
    """The default limit and where it comes from, as `budget` and `doctor` both say it.

    The database's (`budget set --default`, shared by the terminal and cron) wins; the setting
    (environment, file or built-in default) applies only while the database has none.
    """
    from agentctl.settings import given_as, setting_sources
    from agentctl.store.budget import Budget

    stored = Budget(settings).stored_default_limit(conn)
    given = setting_sources().get("default_budget_usd", "default")
    if stored is None:
        return Decimal(settings.default_budget_usd), given
    ignored = f"; {given_as('default_budget_usd')} is ignored" if given != "default" else ""
    return stored, DATABASE_DEFAULT + ignored


def budget_days(conn: psycopg.Connection[Any], settings: Settings, days: int) -> list[BudgetDay]:
    """Today and the `days` - 1 days before it that have a row, newest first."""
    from agentctl.store.budget import Budget

    budget = Budget(settings)
    return [BudgetDay.of(budget.snapshot(conn, day)) for day in store.budget_dates(conn, days)]


def today_budget(conn: psycopg.Connection[Any], settings: Settings) -> BudgetDay:
    """Today's figures; read-only, so a day no tick has opened reads as untouched."""
    rows = budget_days(conn, settings, 1)
    if rows:
        return rows[0]
    return BudgetDay.untouched(store.clock(conn).today, default_limit(conn, settings))


class BudgetReport(BaseModel):
    today: BudgetDay
    default_limit_usd: Money
    default_limit_source: str  # `database (...)`, `environment (NAME)`, `file PATH` or `default`
    days: list[BudgetDay]  # today first, then earlier days that have a row
    scheduled: list[store.ScheduledLimit] = []  # later days whose limit was set ahead, soonest first


def budget_report(conn: psycopg.Connection[Any], settings: Settings, days: int = 7) -> BudgetReport:
    """Today and the `days` - 1 days before it."""
    today = today_budget(conn, settings)
    rows = budget_days(conn, settings, days)
    if not today.exists:
        rows.insert(0, today)
    scheduled = store.scheduled_limits(conn)
    limit, source = default_limit_source(conn, settings)
    return BudgetReport(
        today=today, default_limit_usd=limit, default_limit_source=source, days=rows, scheduled=scheduled
    )


class CostLine(BaseModel):
    name: str
    calls: int
    cost_usd: Money


class CostReport(BaseModel):
    # "Cost per successful strategy" (docs/schema.md): the average cost of successful cycles alone;
    # a cycle succeeds only when the sealed final holdout confirms its strategy.
    avg_cost_per_success_usd: Money | None
    successes: int
    # What that leaves out: every dollar spent (failed cycles included) divided by what it bought.
    total_spend_usd: Money
    cycles_completed: int
    spend_per_success_usd: Money | None
    promising: int  # cycles whose assessment passed, confirmed or not
    spend_per_promising_usd: Money | None
    by_outcome: list[store.OutcomeCost]
    by_model: list[CostLine]
    by_phase: list[CostLine]  # invocation: design, assessment
    costliest_failures: list[store.CostlyFailure]


def _cost_lines(rows: list[store.ModelCost], key: str) -> list[CostLine]:
    """Calls and cost summed by model or by invocation, costliest first."""
    sums: dict[str, tuple[int, Decimal]] = {}
    for r in rows:
        name = r.model if key == "model" else r.invocation
        calls, cost = sums.get(name, (0, Decimal(0)))
        sums[name] = (calls + r.calls, cost + r.cost_usd)
    ordered = sorted(sums.items(), key=lambda kv: (-kv[1][1], kv[0]))
    return [CostLine(name=name, calls=calls, cost_usd=cost) for name, (calls, cost) in ordered]


def cost_report(conn: psycopg.Connection[Any], failures: int = 5) -> CostReport:
    """Cost per confirmed strategy, and everything that average leaves out."""
    per_success = store.cost_per_success(conn)
    tot = store.cost_totals(conn)
    by_model = store.cost_by_model(conn)

    def per(count: int) -> Decimal | None:
        return tot.total_spend_usd / count if count else None

    return CostReport(
        avg_cost_per_success_usd=per_success.avg,
        successes=per_success.count,
        total_spend_usd=tot.total_spend_usd,
        cycles_completed=tot.cycles_completed,
        spend_per_success_usd=per(tot.successes),
        promising=tot.promising,
        spend_per_promising_usd=per(tot.promising),
        by_outcome=store.cost_by_outcome(conn),
        by_model=_cost_lines(by_model, "model"),
        by_phase=_cost_lines(by_model, "invocation"),
        costliest_failures=store.costliest_failures(conn, failures),
    )
