"""`agentctl run`: tick in the foreground until N cycles complete; and what a cycle came to."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentctl.tick import EXIT_NEEDS_PERSON, Tick, TickResult, completed_since, max_session_id

if TYPE_CHECKING:
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
    cycles: int,
    interval_s: float,
    on_tick: Callable[[RunState], None],
    sleep: Callable[[float], None] = time.sleep,
) -> list[int]:
    """Tick until `cycles` new cycles complete; returns their ids. Stops early on an error a person must fix."""
    from agentctl.store import open_database
    from agentctl.store.budget import Budget

    with open_database(settings, autocommit=True) as conn:
        start_id = max_session_id(conn)
    n = 0
    while True:
        n += 1
        result = Tick(settings).run()
        with open_database(settings, autocommit=True) as conn:
            done = completed_since(conn, start_id)
            snap = Budget(settings).snapshot(conn)
            ids = (
                [
                    r["id"]
                    for r in conn.execute(
                        "SELECT id FROM agent_sessions WHERE id > %(id)s AND completed_at IS NOT NULL ORDER BY id",
                        {"id": start_id},
                    )
                ]
                if done >= cycles or result.exit_code == EXIT_NEEDS_PERSON
                else []
            )
        on_tick(RunState(n, result, done, cycles, snap.used, snap.limit))
        if result.exit_code == EXIT_NEEDS_PERSON or done >= cycles:
            return ids
        sleep(interval_s)


def cycle_summary(conn, session_id: int) -> dict[str, Any] | None:
    """One cycle's strategy, gates, key metrics and cost, as plain data."""
    s = conn.execute("SELECT * FROM agent_sessions WHERE id = %(id)s", {"id": session_id}).fetchone()
    if s is None:
        return None
    m = conn.execute("SELECT * FROM agent_metrics WHERE session_id = %(id)s", {"id": session_id}).fetchone() or {}
    tr, bt = s.get("training_results") or {}, s.get("backtest_results") or {}
    cfg = s.get("strategy_config") or {}
    assessment = s.get("assessment") or {}
    return {
        "id": s["id"],
        "strategy": s.get("strategy_name"),
        "hypothesis": cfg.get("hypothesis"),
        "dataset": cfg.get("dataset"),
        "model": (cfg.get("model") or {}).get("family"),
        "outcome": s.get("outcome"),
        "failure_reason": s.get("failure_reason"),
        "gates": {"training": tr.get("gate"), "backtest": bt.get("gate")},
        "training": {k: tr.get(k) for k in ("accuracy", "majority_baseline_accuracy", "log_loss", "iterations")}
        if tr
        else None,
        "backtest": {
            k: bt.get(k)
            for k in (
                "sharpe",
                "total_return",
                "buy_and_hold_return",
                "max_drawdown",
                "win_rate",
                "total_trades",
                "profit_factor",
                "deflated_sharpe",
            )
        }
        if bt
        else None,
        "verdict": assessment.get("verdict"),
        "assessment_passed": assessment.get("passed"),
        "cost_usd": str(m.get("estimated_cost_usd")) if m.get("estimated_cost_usd") is not None else None,
        "duration_s": m.get("cycle_duration_seconds"),
        "tokens": {"input": m.get("total_tokens_input"), "output": m.get("total_tokens_output")},
    }
