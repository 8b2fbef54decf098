"""Ending a cycle: its agent_sessions row, metrics row, budget counter and trigger row in one transaction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentctl.domain import Blame, Outcome
from agentctl.store import cycles
from agentctl.store.budget import Budget
from agentctl.tick.result import TickResult

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings
    from agentctl.store.budget import BudgetSnapshot
    from agentctl.store.cycle_state import CycleState
    from agentctl.store.cycles import CycleCosts
    from agentctl.store.records import BacktestRecord, Cycle, HoldoutRecord, Metrics, TrainingRecord
    from agentctl.tick.trigger import Trigger


@dataclass(frozen=True)
class Ending:
    """How a cycle ends; results a failing gate still keeps (they explain the failure)."""

    outcome: Outcome
    reason: str | None = None
    trigger: Trigger | None = None
    gate_failed: str | None = None
    kept: TrainingRecord | BacktestRecord | HoldoutRecord | None = None  # the stage's results, verdict included
    blame: Blame = Blame.AGENT  # a failure's: the budget's or a killed tick's do not open the breaker

    @property
    def failure_blame(self) -> Blame | None:
        return None if self.outcome in (Outcome.SUCCESS, Outcome.CANCELLED) else self.blame


def finish(
    conn: psycopg.Connection[Any], settings: Settings, cycle: CycleState, ending: Ending, snap: BudgetSnapshot | None
) -> TickResult:
    """End the cycle in one transaction; the trigger row (if any) needs the day's budget snapshot."""
    with conn.transaction():
        if ending.kept is not None:
            cycles.record_results(conn, cycle.id, cycle.phase, ending.kept)
        done = cycles.complete(conn, cycle.id, cycle.phase, ending.outcome, ending.reason, ending.failure_blame)
        # The day's row first: a late charge settles under the same row lock, so it lands either
        # before the costs are summed here or after the metrics row exists (and then updates it).
        Budget(settings).count_cycle(conn, started=False)
        cycles.insert_metrics(conn, metrics_row(done, cycles.costs(conn, cycle.id), ending))
        if ending.trigger is not None and snap is not None:
            ending.trigger.with_context(outcome=ending.outcome.value).write(conn, cycle.id, snap)
    trigger = ending.trigger
    return TickResult(
        trigger_reason=trigger.reason if trigger else None,
        skip_reason=trigger.skip if trigger else None,
        cycle_id=cycle.id,
        outcome=ending.outcome.value,
        message=ending.reason or "",
    )


def metrics_row(done: Cycle, costs: CycleCosts, ending: Ending) -> Metrics:
    """The agent_metrics row of a completed cycle, each figure fitted to its column."""
    from agentctl.store.records import BacktestRecord, Metrics, TrainingRecord

    tr = done.training_results or TrainingRecord.model_validate({})
    bt = done.backtest_results or BacktestRecord.model_validate({})
    return Metrics(
        session_id=done.id,
        cycle_started_at=done.created_at,
        cycle_completed_at=done.completed_at,
        training_accuracy=_dec(tr.accuracy, 4, 5),
        training_final_loss=_dec(tr.log_loss, 6, 10),
        training_epochs_completed=tr.iterations,
        training_early_stopped=tr.early_stopped,
        backtest_sharpe=_dec(bt.sharpe, 4, 10),
        backtest_win_rate=_dec(bt.win_rate, 4, 5),
        backtest_max_drawdown=_dec(bt.max_drawdown, 4, 5),
        backtest_total_trades=bt.total_trades,
        backtest_profit_factor=_dec(bt.profit_factor, 4, 10),
        total_tokens_input=costs.tokens_input,
        total_tokens_output=costs.tokens_output,
        estimated_cost_usd=costs.cost_usd,
        outcome=ending.outcome,
        gate_failed=ending.gate_failed,
    )


def _dec(value: float | None, places: int, digits: int) -> Decimal | None:
    """A float fitted into DECIMAL(digits, places): None when missing or not finite, clamped at the bounds."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return None
    bound = float(10 ** (digits - places)) - 10.0**-places
    f = max(-bound, min(bound, float(value)))
    return Decimal(str(round(f, places)))
