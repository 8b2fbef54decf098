"""`agentctl status`: the active cycle, today's budget, the last tick and what needs attention."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.domain import Phase
from agentctl.fmt import age
from agentctl.reports.common import NO_CYCLES_HINT, NO_TICK_HINT, NO_TICK_WARNING_S, BudgetDay, num
from agentctl.reports.costs import today_budget
from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings
    from agentctl.store.cycle_state import CycleState


class OperationProgress(store.OperationLine):
    """An operation's progress as status shows it, and where it was read."""

    source: str  # "operations" (the lab's table) or "last_trigger" (what the last tick saw)

    @classmethod
    def of(cls, line: store.OperationLine) -> OperationProgress:
        """From the lab's operations table."""
        return cls(
            **{
                **line.model_dump(),
                "progress_pct": num(line.progress_pct, 1),
                "heartbeat_age_s": num(line.heartbeat_age_s, 1),
            },
            source="operations",
        )


class StatusWarning(BaseModel):
    code: str  # no_tick_yet, no_recent_tick, budget_exhausted, operation_no_heartbeat, paused, budget_overrun, circuit_open
    message: str


class ActiveCycle(BaseModel):
    id: int
    phase: Phase
    stage: str  # the phase in words: designing, training, backtesting, final holdout test, assessing
    strategy: str | None
    dataset: str | None  # SYMBOL/TIMEFRAME the strategy trades
    model: str | None  # the model family it trains
    waiting_for_tick: bool  # its operation has ended: nothing runs until the next tick moves the cycle on
    created_at: datetime
    phase_since: datetime
    seconds_in_phase: float
    seconds_since_start: float
    operation: OperationProgress | None


class Status(BaseModel):
    headline: str  # what holds first: paused, breaker open, overrun, waiting for the next tick, or the cycle
    now: datetime
    active_cycle: ActiveCycle | None
    budget: BudgetDay
    last_trigger: store.LastTriggerLine | None
    warnings: list[StatusWarning]


def operation_progress(
    conn: psycopg.Connection[Any], op_id: str | None, last_trigger: store.LastTriggerLine | None = None
) -> OperationProgress | None:
    """The operation's status and progress from the lab's table, else as the last tick saw it."""
    if not op_id:
        return None
    line = store.operation(conn, str(op_id))
    if line is not None:
        return OperationProgress.of(line)
    ctx = (last_trigger.context if last_trigger else None) or {}
    if ctx.get("operation_id") != op_id:
        return OperationProgress(id=str(op_id), source="last_trigger")
    hb = ctx.get("heartbeat_at")
    return OperationProgress(
        id=str(op_id),
        status=ctx.get("status"),
        progress_pct=num(ctx.get("progress_pct"), 1),
        progress_message=ctx.get("progress_message"),
        heartbeat_at=datetime.fromisoformat(hb) if isinstance(hb, str) else None,
        source="last_trigger",
    )


# An operation in one of these states does nothing more: the cycle waits for a tick to read it.
ENDED = ("completed", "failed", "cancelled")


def _active(
    conn: psycopg.Connection[Any], cycle: CycleState, now: datetime, trig: store.LastTriggerLine | None
) -> ActiveCycle:
    since = cycle.updated_at or cycle.created_at
    op = operation_progress(conn, cycle.operation_id, trig)
    strategy = cycle.strategy
    data = strategy.dataset if strategy else None
    holdout = cycle.phase is Phase.ASSESSING and cycle.holdout_operation_id is not None
    return ActiveCycle(
        id=cycle.id,
        phase=cycle.phase,
        stage="final holdout test" if holdout else cycle.phase.value,
        strategy=cycle.strategy_name,
        dataset=f"{data.symbol}/{data.timeframe}" if data and data.symbol else None,
        model=strategy.model.family if strategy else None,
        waiting_for_tick=op is not None and op.status in ENDED,
        created_at=cycle.created_at,
        phase_since=since,
        seconds_in_phase=max(0.0, (now - since).total_seconds()),
        seconds_since_start=max(0.0, (now - cycle.created_at).total_seconds()),
        operation=op,
    )


STOP_WORDS = {"paused": "paused", "budget_overrun": "budget overrun", "circuit_open": "circuit breaker open"}


def headline(active: ActiveCycle | None, stops: list[StatusWarning], budget: BudgetDay, ticked: bool) -> str:
    """The first line of `status`: whatever stops or holds the research, before what is running."""
    if stops:
        h = stops[0]
        # A pause or an open breaker stops new cycles only: the active one carries on.
        carries_on = active is not None and h.code in ("paused", "circuit_open")
        also = f" (cycle {active.id} still finishes)" if active is not None and carries_on else ""
        label = STOP_WORDS.get(h.code, h.code)
        return f"{h.message}{also}" if h.message.startswith(label) else f"{label}: {h.message}{also}"
    if active is not None and active.waiting_for_tick:
        op = active.operation
        ended = op.status if op is not None else "ended"
        return f"waiting for the next tick: cycle {active.id}'s {active.stage} {ended}"
    if active is not None:
        return f"cycle {active.id} is {active.stage}" + (f" {active.dataset}" if active.dataset else "")
    if budget.remaining_usd <= 0:
        return "no active cycle: today's budget is spent, so none starts until tomorrow (`agentctl budget set`)"
    return "no active cycle: the next tick starts one" if ticked else NO_CYCLES_HINT


def status(conn: psycopg.Connection[Any], settings: Settings) -> Status:
    """The active cycle, today's budget, the last trigger and what needs attention."""
    now = store.clock(conn).now
    cycle = store.current_cycle(conn)
    trig = store.last_trigger(conn)
    budget = today_budget(conn, settings)
    active = None if cycle is None else _active(conn, cycle, now, trig)
    stops = _stops(conn, settings)
    return Status(
        headline=headline(active, stops, budget, trig is not None),
        now=now,
        active_cycle=active,
        budget=budget,
        last_trigger=trig,
        warnings=_warnings(settings, active, budget, trig) + stops,
    )


def _stops(conn: psycopg.Connection[Any], settings: Settings) -> list[StatusWarning]:
    """A pause, a budget overrun or an open circuit breaker: what stops new cycles (codes: their skip reasons)."""
    from agentctl.agent.admission import why_no_new_cycle

    return [StatusWarning(code=reason.value, message=why) for reason, why in why_no_new_cycle(conn, settings)]


def _warnings(
    settings: Settings, active: ActiveCycle | None, budget: BudgetDay, last: store.LastTriggerLine | None
) -> list[StatusWarning]:
    out = []
    if last is None:
        out.append(StatusWarning(code="no_tick_yet", message=NO_TICK_HINT))
    elif last.age_s > NO_TICK_WARNING_S:
        message = f"no tick for {age(last.age_s)}: is cron running? (`agentctl cron --install` installs it)"
        out.append(StatusWarning(code="no_recent_tick", message=message))
    if budget.remaining_usd <= 0:
        message = (
            f"today's budget is exhausted (${budget.used_usd:.2f} of ${budget.limit_usd:.2f}): "
            "raise it with `agentctl budget set AMOUNT`"
        )
        out.append(StatusWarning(code="budget_exhausted", message=message))
    op = active.operation if active else None
    if op is not None and _silent(op, settings.heartbeat_timeout_s):
        seen = "never" if op.heartbeat_age_s is None else f"{age(op.heartbeat_age_s)} ago"
        message = (
            f"operation {op.id} has no heartbeat (last {seen}): its worker may have died; the next tick marks it failed"
        )
        out.append(StatusWarning(code="operation_no_heartbeat", message=message))
    return out


def _silent(op: OperationProgress, timeout_s: float) -> bool:
    """A pending or running operation of the lab's table with no heartbeat within `timeout_s`."""
    quiet = op.heartbeat_age_s is None or op.heartbeat_age_s > timeout_s
    return quiet and op.status in ("running", "pending") and op.source == "operations"
