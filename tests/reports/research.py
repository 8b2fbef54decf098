"""Seeded research history for the integrity and show reports: two datasets, three designers.

AAPL 1d: three strategies tried (two by the baseline, one by Claude), two tested on the
final holdout, one confirmed; all three stored return blocks. SPY 1h: two tried by
Claude, one confirmed; one stored blocks that do not read. Two cycles saved no
strategy: one Claude design that failed, one design that died before any action
(its starting trigger names the agent).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

SONNET = "claude-sonnet-5-5"
HAIKU = "claude-haiku-4-5"


def blocks(k: int, n: int = 16) -> list[list[float]]:
    """Trial k's returns in n blocks of 20 bars: [sum, sum of squares, count], a different mean per block."""
    out = []
    for i in range(n):
        mean = 0.001 * (((i * 7 + k * 3) % 5) - 2)
        out.append([mean * 20, 20 * (mean**2 + 0.0001), 20])
    return out


def gate(name: str, passed: bool) -> dict[str, Any]:
    return {"gate": name, "passed": passed, "reasons": [] if passed else [f"{name} gate reason"]}


def config(symbol: str, timeframe: str, name: str) -> dict[str, Any]:
    return {"name": name, "dataset": {"symbol": symbol, "timeframe": timeframe}, "model": {"family": "logistic"}}


COLUMNS = (
    "phase",
    "strategy_name",
    "strategy_hash",
    "strategy_config",
    "training_results",
    "backtest_results",
    "assessment",
    "final_holdout_results",
    "outcome",
)
JSON_COLUMNS = ("strategy_config", "training_results", "backtest_results", "assessment", "final_holdout_results")


def insert_cycle(conn, n: int, **cols: Any) -> int:
    """One agent_sessions row (JSON columns given as dicts), created n hours after noon UTC of a fixed day."""
    cols.setdefault("phase", "idle")
    values = {c: cols.get(c) for c in COLUMNS}
    for key in JSON_COLUMNS:
        if values[key] is not None:
            values[key] = json.dumps(values[key])
    row = conn.execute(
        """INSERT INTO agent_sessions (phase, strategy_name, strategy_hash, strategy_config, training_results,
               backtest_results, assessment, final_holdout_results, outcome, created_at, updated_at, completed_at)
           VALUES (%(phase)s, %(strategy_name)s, %(strategy_hash)s, %(strategy_config)s, %(training_results)s,
               %(backtest_results)s, %(assessment)s, %(final_holdout_results)s, %(outcome)s,
               timestamptz '2026-03-01 12:00+00' + make_interval(hours => %(n)s), NOW(),
               CASE WHEN %(idle)s THEN timestamptz '2026-03-01 12:30+00' + make_interval(hours => %(n)s) END)
           RETURNING id""",
        {**values, "n": n, "idle": cols["phase"] == "idle"},
    ).fetchone()
    return int(row["id"])


def action(conn, sid: int, agent: str, invocation: str, model: str | None, cost: str) -> None:
    tool = "messages.create" if model else "save_strategy"
    conn.execute(
        """INSERT INTO agent_actions (session_id, tool_name, agent, invocation, model, cost_usd, budget_date, success)
           VALUES (%s, %s, %s, %s, %s, %s, CURRENT_DATE, TRUE)""",
        (sid, tool, agent, invocation, model, Decimal(cost)),
    )


def started(conn, sid: int, agent: str | None, n: int) -> None:
    """The trigger that started the cycle, naming its agent as the tick does."""
    conn.execute(
        """INSERT INTO agent_triggers (triggered_at, trigger_reason, session_id, agent_invoked, context)
           VALUES (timestamptz '2026-03-01 12:00+00' + make_interval(hours => %s), 'start_new_cycle', %s, TRUE, %s)""",
        (n, sid, json.dumps({"agent": agent} if agent else {})),
    )


def metrics(conn, sid: int, cost: str) -> None:
    conn.execute(
        """INSERT INTO agent_metrics (session_id, cycle_started_at, cycle_completed_at, estimated_cost_usd, outcome)
           SELECT id, created_at, completed_at, %s, outcome FROM agent_sessions WHERE id = %s""",
        (Decimal(cost), sid),
    )


def _tried(conn, n: int, symbol: str, timeframe: str, outcome: str | None, stages: dict[str, Any]) -> int:
    """A cycle that saved a strategy and got as far as `stages` say."""
    return insert_cycle(
        conn,
        n,
        phase=stages.pop("phase", "idle"),
        strategy_name=f"s{n}",
        strategy_hash=f"hash-{n}",
        strategy_config=config(symbol, timeframe, f"s{n}"),
        outcome=outcome,
        **stages,
    )


def _stages(training: bool, backtest: bool | None, assessed: bool | None, holdout: dict | None, k: int) -> dict:
    out: dict[str, Any] = {"training_results": {"accuracy": 0.55, "gate": gate("training", training)}}
    if backtest is not None:
        out["backtest_results"] = {"sharpe": 1.0, "gate": gate("backtest", backtest), "blocks": blocks(k)}
    if assessed is not None:
        out["assessment"] = {"passed": assessed, "verdict": "promising" if assessed else "weak"}
    if holdout is not None:
        out["final_holdout_results"] = holdout
    return out


def seed_research(conn) -> dict[str, int]:
    """The history the module docstring describes; ids by name."""
    ids: dict[str, int] = {}
    held = {"sharpe": 0.9, "total_return": 0.05, "p_value": 0.01}
    # AAPL 1d, the baseline: confirmed; then a backtest that failed its gate.
    ids["aapl_confirmed"] = c = _tried(conn, 1, "AAPL", "1d", "success", _stages(True, True, True, held, 1))
    action(conn, c, "baseline", "design", None, "0")
    action(conn, c, "baseline", "assessment", None, "0")
    metrics(conn, c, "0")
    ids["aapl_backtest_gate"] = c = _tried(
        conn, 2, "AAPL", "1d", "failed_backtest_gate", _stages(True, False, None, None, 2)
    )
    action(conn, c, "baseline", "design", None, "0")
    metrics(conn, c, "0")
    # AAPL 1d, Claude: passed its assessment, not confirmed on the final holdout.
    ids["aapl_unconfirmed"] = c = _tried(conn, 3, "AAPL", "1d", "failed_assessment", _stages(True, True, True, held, 3))
    action(conn, c, "claude", "design", SONNET, "0.10")
    action(conn, c, "claude", "design", None, "0")
    action(conn, c, "claude", "assessment", HAIKU, "0.02")
    metrics(conn, c, "0.12")
    # SPY 1h, Claude: confirmed; then one still training whose cost is only its actions so far.
    ids["spy_confirmed"] = c = _tried(conn, 4, "SPY", "1h", "success", _stages(True, True, True, held, 4))
    action(conn, c, "claude", "design", SONNET, "0.30")
    metrics(conn, c, "0.30")
    stages = {"phase": "training", "backtest_results": {"blocks": [[1, 2]]}}
    ids["spy_active"] = c = _tried(conn, 5, "SPY", "1h", None, stages)
    action(conn, c, "claude", "design", SONNET, "0.05")
    # No strategy saved: a Claude design that failed, and a design that died before any action.
    ids["failed_design"] = c = insert_cycle(conn, 6, outcome="failed_design")
    action(conn, c, "claude", "design", SONNET, "0.04")
    metrics(conn, c, "0.04")
    ids["silent_design"] = c = insert_cycle(conn, 7, outcome="failed_design")
    metrics(conn, c, "0")
    for n, name in enumerate(ids, start=1):
        started(conn, ids[name], "baseline" if n <= 2 else "claude", n)
    conn.commit()
    return ids
