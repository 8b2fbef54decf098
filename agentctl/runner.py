"""`agentctl run`: tick in the foreground until N cycles complete; and what a cycle came to."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.domain import ExitCode
from agentctl.gates import GateVerdict
from agentctl.store import cycles
from agentctl.tick import Tick, TickResult

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings


@dataclass
class RunState:
    """What the display shows after each tick."""

    tick: int
    result: TickResult
    completed: int
    target: int
    spent_usd: Decimal
    limit_usd: Decimal


def run_cycles(
    settings: Settings,
    cycles_wanted: int,
    interval_s: float,
    on_tick: Callable[[RunState], None],
    sleep: Callable[[float], None] = time.sleep,
) -> list[int]:
    """Tick until `cycles_wanted` new cycles complete; returns their ids. Stops early on an error a person must fix."""
    from agentctl.store import open_database
    from agentctl.store.budget import Budget

    with open_database(settings, autocommit=True) as conn:
        start_id = cycles.max_id(conn)
    n = 0
    while True:
        n += 1
        result = Tick(settings).run()
        with open_database(settings, autocommit=True) as conn:
            ids = cycles.completed_since(conn, start_id)
            snap = Budget(settings).snapshot(conn)
        on_tick(RunState(n, result, len(ids), cycles_wanted, snap.used, snap.limit))
        if result.exit_code == ExitCode.NEEDS_PERSON or len(ids) >= cycles_wanted:
            return ids
        sleep(interval_s)


class CycleSummary(BaseModel):
    """One cycle's strategy, gates, key metrics and cost (`agentctl run`'s summary and its JSON)."""

    id: int
    strategy: str | None
    hypothesis: str | None
    dataset: dict[str, Any] | None
    model: str | None
    outcome: str | None
    failure_reason: str | None
    gates: dict[str, GateVerdict | None]
    training: dict[str, Any] | None
    backtest: dict[str, Any] | None
    verdict: str | None
    assessment_passed: bool | None
    cost_usd: str | None
    duration_s: int | None
    tokens: dict[str, int | None]


TRAINING_FIGURES = ("accuracy", "constant_accuracy", "accuracy_p_value", "log_loss", "iterations")
BACKTEST_FIGURES = (
    "sharpe",
    "total_return",
    "buy_and_hold_return",
    "max_drawdown",
    "win_rate",
    "total_trades",
    "profit_factor",
    "deflated_sharpe",
)


def cycle_summary(conn: psycopg.Connection[Any], cycle_id: int) -> CycleSummary | None:
    """What one cycle came to, from its agent_sessions and agent_metrics rows."""
    c = cycles.get(conn, cycle_id)
    if c is None:
        return None
    m = cycles.metrics(conn, cycle_id)
    tr, bt, strategy, assessment = c.training_results, c.backtest_results, c.strategy, c.assessment
    cost = m.estimated_cost_usd if m else None
    return CycleSummary(
        id=c.id,
        strategy=c.strategy_name,
        hypothesis=strategy.hypothesis if strategy else None,
        dataset=strategy.dataset.model_dump(exclude_unset=True) if strategy else None,
        model=strategy.model.family if strategy else None,
        outcome=c.outcome,
        failure_reason=c.failure_reason,
        gates={"training": tr.gate if tr else None, "backtest": bt.gate if bt else None},
        training={k: getattr(tr, k) for k in TRAINING_FIGURES} if tr else None,
        backtest={k: getattr(bt, k) for k in BACKTEST_FIGURES} if bt else None,
        verdict=assessment.verdict if assessment else None,
        assessment_passed=assessment.passed if assessment else None,
        cost_usd=str(cost) if cost is not None else None,
        duration_s=m.cycle_duration_seconds if m else None,
        tokens={"input": m.total_tokens_input if m else None, "output": m.total_tokens_output if m else None},
    )
