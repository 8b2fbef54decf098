"""The reports' reads: every statement in sql/reports.sql, run by name, rows read back as typed models.

Read-only, and none of them opens a transaction: the report commands use an
autocommit connection, each statement its own snapshot. Money stays Decimal
(`domain.Money`: a number in JSON); the reports return these rows as they are.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from agentctl.domain import Money
from agentctl.store.cycles import active as current_cycle  # noqa: F401 (re-exported: one statement, in cycles.sql)
from agentctl.store.cycles import get as cycle  # noqa: F401 (re-exported: one statement, in cycles.sql)
from agentctl.store.cycles import metrics as cycle_metrics  # noqa: F401 (re-exported: one statement, in cycles.sql)
from agentctl.store.queries import load

if TYPE_CHECKING:
    import psycopg

_sql = load("reports")


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", protected_namespaces=())


# agent_triggers.agent_invoked may be NULL (its default is false): NULL reads false.
Invoked = Annotated[bool, BeforeValidator(bool)]


class Clock(_Row):
    """The database's time and budget day (CURRENT_DATE in the connection's time zone)."""

    now: datetime
    today: date


class _Trigger(_Row):
    """The agent_triggers columns every trigger line shows."""

    id: int
    triggered_at: datetime
    trigger_reason: str
    session_id: int | None = None
    agent_invoked: Invoked = False
    skip_reason: str | None = None


class TriggerLine(_Trigger):
    """One agent_triggers row as the trigger tables show it."""

    budget_used_today_usd: Money | None = None
    budget_remaining_usd: Money | None = None


class LastTriggerLine(_Trigger):
    """The newest agent_triggers row, with its age and what the tick saw (context)."""

    context: dict[str, Any] | None = Field(default=None, exclude=True)  # read by status, not in its JSON
    age_s: float  # never negative (a clock set back)


class ActionLine(_Row):
    """One agent_actions row without its arguments and result.

    The read side of `store.actions.ActionRow`, kept apart: a table shows the id and time the
    write does not have, and never the arguments and result (model output, often large).
    """

    id: int
    session_id: int | None = None
    action_at: datetime | None = None
    tool_name: str
    agent: str | None = None
    invocation: str | None = None
    model: str | None = None
    success: bool | None = None
    error_message: str | None = None
    tokens_input: int | None = None
    tokens_output: int | None = None
    tokens_cache_write: int | None = None
    tokens_cache_read: int | None = None
    cost_usd: Money = Decimal(0)
    latency_ms: int | None = None
    request_id: str | None = None
    stop_reason: str | None = None
    attempt: int | None = None


class ActionTotals(_Row):
    """A cycle's actions summed (token columns named as the action rows', which it sums)."""

    actions: int
    model_calls: int
    tokens_input: int
    tokens_output: int
    tokens_cache_write: int
    tokens_cache_read: int
    cost_usd: Money


class OperationLine(_Row):
    """A lab_operations row with the age of its heartbeat."""

    id: str
    kind: str | None = None
    status: str | None = None
    progress_pct: float | None = None
    progress_message: str | None = None
    heartbeat_at: datetime | None = None
    heartbeat_age_s: float | None = None


def _rounded(places: int) -> BeforeValidator:
    """A figure as the reports print it: a float of `places` decimals; None when missing or not a number."""

    def to_float(value: Any) -> float | None:
        try:
            return None if value is None else round(float(value), places)
        except (TypeError, ValueError):
            return None

    return BeforeValidator(to_float)


class CycleRow(_Row):
    """A completed cycle as `agentctl cycles` lists it (the report's keys, read from the query's columns)."""

    id: int
    strategy: str | None = Field(default=None, validation_alias="strategy_name")
    dataset: str | None = None  # SYMBOL/TF, from the strategy's dataset
    outcome: str | None = None
    sharpe: Annotated[float | None, _rounded(4)] = Field(default=None, validation_alias="backtest_sharpe")
    deflated_sharpe: Annotated[float | None, _rounded(4)] = None
    total_return: Annotated[float | None, _rounded(6)] = None  # the research backtest's
    buy_and_hold_return: Annotated[float | None, _rounded(6)] = None  # over the same bars
    win_rate: Annotated[float | None, _rounded(4)] = Field(default=None, validation_alias="backtest_win_rate")
    max_drawdown: Annotated[float | None, _rounded(4)] = Field(default=None, validation_alias="backtest_max_drawdown")
    trades: int | None = Field(default=None, validation_alias="backtest_total_trades")
    cost_usd: Money | None = Field(default=None, validation_alias="estimated_cost_usd")
    duration_s: int | None = Field(default=None, validation_alias="cycle_duration_seconds")
    verdict: str | None = None
    completed_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _dataset(cls, row: Any) -> Any:
        if isinstance(row, dict) and row.get("symbol"):
            return {**row, "dataset": f"{row['symbol']}/{row['timeframe']}"}
        return row


class CostPerSuccess(_Row):
    avg: Money | None = None
    count: int


class CostTotals(_Row):
    total_spend_usd: Money
    cycles_completed: int
    successes: int
    promising: int


class OutcomeCost(_Row):
    outcome: str | None = None
    cycles: int
    cost_usd: Money


class ModelCost(_Row):
    """Billed calls and cost for one model and invocation (design, assessment)."""

    model: str
    invocation: str
    calls: int
    cost_usd: Money


class CostlyFailure(_Row):
    """A failed cycle and what it cost (the report's keys, read from the metrics row's columns)."""

    id: int
    strategy: str | None = Field(default=None, validation_alias="strategy_name")
    outcome: str | None = None
    cost_usd: Money = Field(validation_alias="estimated_cost_usd")
    failure_reason: str | None = None
    completed_at: datetime | None = Field(default=None, validation_alias="cycle_completed_at")


class TriggerCount(_Row):
    """How many of today's ticks decided one way."""

    trigger_reason: str
    skip_reason: str | None = None
    agent_invoked: Invoked = False
    count: int = Field(validation_alias="n")


class DatasetTally(_Row):
    """What was tried on one dataset and how far it got (integrity)."""

    symbol: str | None = None
    timeframe: str | None = None
    trials: int
    training_passed: int
    backtest_passed: int
    assessments_passed: int
    holdout_tested: int
    confirmations: int
    first_at: datetime | None = None


class TrialBlocks(_Row):
    """One tried strategy's backtest returns in blocks, as the backtest stored them (unchecked JSON)."""

    id: int
    symbol: str | None = None
    timeframe: str | None = None
    blocks: Any = None
    # The bars the blocks cut: trials are comparable only over the same span (a different fold count moves it).
    blocks_start: int | None = None
    blocks_end: int | None = None


class DesignerTally(_Row):
    """The cycles one designer (agent and model) designed, what they confirmed and what they cost."""

    agent: str
    model: str | None = None
    cycles: int
    trials: int
    confirmations: int
    cost_usd: Money


# -- time, cycles ------------------------------------------------------------------------------


def clock(conn: psycopg.Connection[Any]) -> Clock:
    return Clock.model_validate(_sql.one(conn, "now"))


# `cycles --sort`: each order is a fragment of reports.sql, so no input ever reaches the SQL text.
CYCLE_SORTS = ("date", "sharpe", "dsr", "return", "cost")


def recent_cycles(
    conn: psycopg.Connection[Any],
    limit: int,
    outcome: str | None = None,
    *,
    sort: str = "date",
    dataset: tuple[str, str] | None = None,
) -> list[CycleRow]:
    """Completed cycles in the order of `sort` (newest first by default), of one outcome and dataset when given."""
    symbol, timeframe = dataset or (None, None)
    if sort not in CYCLE_SORTS:
        raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(CYCLE_SORTS)}")
    params = {"limit": limit, "outcome": outcome or None, "symbol": symbol, "timeframe": timeframe}
    rows = _sql.all(conn, "recent_cycles", params, order=f"cycle_order_{sort}")
    return [CycleRow.model_validate(r) for r in rows]


def cycles_by_outcome(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Completed cycles counted by outcome."""
    return {r["outcome"]: r["n"] for r in _sql.all(conn, "cycles_by_outcome")}


# -- actions, triggers ----------------------------------------------------------------------------


def cycle_action_totals(conn: psycopg.Connection[Any], cycle_id: int) -> ActionTotals:
    return ActionTotals.model_validate(_sql.one(conn, "cycle_action_totals", {"id": cycle_id}))


def cycle_actions(conn: psycopg.Connection[Any], cycle_id: int, limit: int) -> list[ActionLine]:
    """A cycle's actions, oldest first."""
    rows = _sql.all(conn, "cycle_actions", {"id": cycle_id, "limit": limit})
    return [ActionLine.model_validate(r) for r in rows]


def recent_actions(conn: psycopg.Connection[Any], cycle_id: int | None, limit: int) -> list[ActionLine]:
    """The newest actions first, of one cycle or of all."""
    if cycle_id is None:
        rows = _sql.all(conn, "recent_actions", {"limit": limit})
    else:
        params = {"id": cycle_id, "limit": limit}
        rows = _sql.all(conn, "recent_cycle_actions", params)
    return [ActionLine.model_validate(r) for r in rows]


def last_trigger(conn: psycopg.Connection[Any]) -> LastTriggerLine | None:
    row = _sql.maybe(conn, "last_trigger")
    return None if row is None else LastTriggerLine.model_validate(row)


def cycle_triggers(conn: psycopg.Connection[Any], cycle_id: int, limit: int) -> list[TriggerLine]:
    """A cycle's triggers, oldest first."""
    rows = _sql.all(conn, "cycle_triggers", {"id": cycle_id, "limit": limit})
    return [TriggerLine.model_validate(r) for r in rows]


def recent_triggers(conn: psycopg.Connection[Any], limit: int, *, today: bool = False) -> list[TriggerLine]:
    """The newest triggers first; only today's (budget day) with `today`."""
    name = "recent_triggers_today" if today else "recent_triggers"
    rows = _sql.all(conn, name, {"limit": limit})
    return [TriggerLine.model_validate(r) for r in rows]


def trigger_counts_today(conn: psycopg.Connection[Any]) -> list[TriggerCount]:
    """Today's triggers counted by decision, most frequent first."""
    return [TriggerCount.model_validate(r) for r in _sql.all(conn, "triggers_today_counts")]


# -- operations -----------------------------------------------------------------------------------


def operation(conn: psycopg.Connection[Any], operation_id: str) -> OperationLine | None:
    row = _sql.maybe(conn, "operation", {"id": operation_id})
    return None if row is None else OperationLine.model_validate(row)


def stuck_operations(conn: psycopg.Connection[Any], timeout_s: float) -> list[OperationLine]:
    """Pending or running operations with no sign of life for `timeout_s`."""
    rows = _sql.all(conn, "stuck_operations", {"timeout_s": timeout_s})
    return [OperationLine.model_validate(r) for r in rows]


# -- budget, cost ---------------------------------------------------------------------------------


def budget_dates(conn: psycopg.Connection[Any], days: int) -> list[date]:
    """Today and the `days` - 1 days before it that have a budget row, newest first."""
    return [r["date"] for r in _sql.all(conn, "budget_dates", {"days": days})]


def cost_per_success(conn: psycopg.Connection[Any]) -> CostPerSuccess:
    return CostPerSuccess.model_validate(_sql.one(conn, "cost_per_success"))


def cost_totals(conn: psycopg.Connection[Any]) -> CostTotals:
    return CostTotals.model_validate(_sql.one(conn, "cost_totals"))


def cost_by_outcome(conn: psycopg.Connection[Any]) -> list[OutcomeCost]:
    return [OutcomeCost.model_validate(r) for r in _sql.all(conn, "cost_by_outcome")]


def cost_by_model(conn: psycopg.Connection[Any]) -> list[ModelCost]:
    return [ModelCost.model_validate(r) for r in _sql.all(conn, "cost_by_model")]


def costliest_failures(conn: psycopg.Connection[Any], limit: int) -> list[CostlyFailure]:
    return [CostlyFailure.model_validate(r) for r in _sql.all(conn, "costliest_failures", {"limit": limit})]


# -- integrity ------------------------------------------------------------------------------------


def integrity_datasets(conn: psycopg.Connection[Any]) -> list[DatasetTally]:
    """Per dataset: strategies tried, gate and assessment passes, holdout tests, confirmations."""
    return [DatasetTally.model_validate(r) for r in _sql.all(conn, "integrity_datasets")]


def integrity_blocks(conn: psycopg.Connection[Any]) -> list[TrialBlocks]:
    """Every tried strategy whose backtest stored its returns in blocks, oldest first."""
    return [TrialBlocks.model_validate(r) for r in _sql.all(conn, "integrity_blocks")]


def integrity_designers(conn: psycopg.Connection[Any]) -> list[DesignerTally]:
    """Per designer (agent and model): cycles, strategies tried, confirmations, cost."""
    return [DesignerTally.model_validate(r) for r in _sql.all(conn, "integrity_designers")]


# -- the server -----------------------------------------------------------------------------------


def server_version(conn: psycopg.Connection[Any]) -> str:
    return str(_sql.one(conn, "server_version")["server_version"])


# -- limits set ahead -----------------------------------------------------------------------------


class ScheduledLimit(_Row):
    """A later day's limit, set ahead with `budget set --date`."""

    date: date
    limit_usd: Money


def scheduled_limits(conn: psycopg.Connection[Any]) -> list[ScheduledLimit]:
    """Days after today that already have a limit, soonest first."""
    return [ScheduledLimit.model_validate(r) for r in _sql.all(conn, "scheduled_limits")]


class CycleChoice(_Row):
    """A cycle as shell completion offers it."""

    id: int
    strategy_name: str | None = None
    outcome: str | None = None
    phase: str | None = None


def cycle_choices(conn: psycopg.Connection[Any], limit: int = 50) -> list[CycleChoice]:
    """The newest `limit` cycles, newest first (shell completion)."""
    return [CycleChoice.model_validate(r) for r in _sql.all(conn, "cycle_choices", {"limit": limit})]


# -- the funnel (`agentctl summary`) --------------------------------------------------------------


class FunnelCycle(_Row):
    """One cycle started in the period: how far it got, its gates' verdicts and its results' figures.

    The funnel's own columns (one SQL statement's), not a Cycle: some are computed in SQL.
    """

    id: int
    outcome: str | None = None
    failure_reason: str | None = None
    strategy_name: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    training_gate: dict[str, Any] | None = None
    backtest_gate: dict[str, Any] | None = None
    holdout_gate: dict[str, Any] | None = None
    assessed: bool = False
    assessment_passed: bool | None = None
    holdout_tested: bool = False
    training_figures: dict[str, Any] | None = None
    backtest_figures: dict[str, Any] | None = None
    holdout_figures: dict[str, Any] | None = None


class Spend(_Row):
    spend_usd: Money
    calls: int


def funnel_cycles(conn: psycopg.Connection[Any], since: date) -> list[FunnelCycle]:
    """Every cycle started on or after `since` (the budget's time zone), oldest first."""
    return [FunnelCycle.model_validate(r) for r in _sql.all(conn, "funnel_cycles", {"since": since})]


def funnel_spend(conn: psycopg.Connection[Any], since: date) -> Spend:
    """The model spend of the budget days from `since` on."""
    return Spend.model_validate(_sql.one(conn, "funnel_spend", {"since": since}))


class ResearchedHoldout(_Row):
    """A dataset's holdout start as a cycle's training recorded it, and the first cycle that did."""

    symbol: str | None
    timeframe: str | None
    holdout_start: str
    first_cycle: int


def researched_holdouts(conn: psycopg.Connection[Any]) -> list[ResearchedHoldout]:
    return [ResearchedHoldout.model_validate(r) for r in _sql.all(conn, "researched_holdouts")]
