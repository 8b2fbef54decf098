"""Seeded cycles of every outcome, an active one, actions, triggers and budget days."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

OUTCOMES = [
    "success",
    "failed_design",
    "failed_training",
    "failed_training_gate",
    "failed_backtest",
    "failed_backtest_gate",
    "failed_assessment",
    "cancelled",
]

EQUITY = [[f"2024-01-0{d}T00:00:00+00:00", 1.0 + 0.01 * d] for d in range(1, 10)]


def _training(passed: bool = True) -> dict:
    return {
        "accuracy": 0.56,
        "log_loss": 0.68,
        "train_accuracy": 0.6,
        "majority_baseline_accuracy": 0.52,
        "iterations": 40,
        "early_stopped": True,
        "duration_s": 3.5,
        "gate": {
            "gate": "training",
            "passed": passed,
            "reasons": [] if passed else ["accuracy 0.5000 is not above the majority baseline 0.5200"],
        },
    }


def _backtest(passed: bool = True) -> dict:
    return {
        "sharpe": 1.234,
        "sortino": 1.8,
        "total_return": 0.15,
        "cagr": 0.07,
        "max_drawdown": 0.12,
        "win_rate": 0.55,
        "total_trades": 42 if passed else 3,
        "profit_factor": 1.4,
        "exposure": 0.5,
        "buy_and_hold_return": 0.1,
        "deflated_sharpe": 0.61,
        "n_trials": 3,
        "equity_curve": EQUITY,
        "gate": {"gate": "backtest", "passed": passed, "reasons": [] if passed else ["3 trades: fewer than 10"]},
    }


def _results(outcome: str) -> tuple[dict | None, dict | None, dict | None]:
    """The training results, backtest results and assessment a cycle of this outcome holds."""
    tr = _training(outcome != "failed_training_gate") if outcome not in ("failed_design", "failed_training") else None
    bt = None
    if outcome in ("success", "failed_backtest_gate", "failed_assessment"):
        bt = _backtest(outcome != "failed_backtest_gate")
    assessment = None
    if outcome == "success":
        assessment = {
            "passed": True,
            "verdict": "promising: beats buy and hold",
            "explanation": "solid",
            "metrics": {"sharpe": 1.234},
            "strengths": ["steady"],
            "weaknesses": ["few trades"],
            "suggestions": ["try 4h bars"],
        }
    return tr, bt, assessment


def _insert_cycle(conn, i: int, outcome: str, tr: dict | None, bt: dict | None, assessment: dict | None) -> int:
    name = f"strat_{outcome}" if outcome != "failed_design" else None
    cfg = (
        {
            "dataset": {"symbol": "AAPL", "timeframe": "1d"},
            "hypothesis": f"hypothesis for {outcome}",
            "model": {"family": "logistic"},
        }
        if name
        else None
    )
    row = conn.execute(
        """INSERT INTO agent_sessions (phase, strategy_name, strategy_config, training_operation_id,
               backtest_operation_id, training_results, backtest_results, assessment, outcome, failure_reason,
               created_at, updated_at, completed_at)
           VALUES ('idle', %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   NOW() - make_interval(hours => %s) - interval '10 minutes',
                   NOW() - make_interval(hours => %s), NOW() - make_interval(hours => %s))
           RETURNING id""",
        (
            name,
            json.dumps(cfg) if cfg else None,
            f"op-train-{i}" if tr else None,
            f"op-bt-{i}" if bt else None,
            json.dumps(tr) if tr else None,
            json.dumps(bt) if bt else None,
            json.dumps(assessment) if assessment else None,
            outcome,
            None if outcome == "success" else f"reason {outcome}",
            20 - i,
            20 - i,
            20 - i,
        ),
    ).fetchone()
    return row["id"]


def _insert_actions(conn, sid: int, i: int, outcome: str) -> Decimal:
    """Two model calls (design), one tool call; success and failed_assessment also assess. Returns their cost."""
    cost = Decimal("0.0100") * (i + 1)
    calls = [("design", "claude-sonnet-5-5", cost)]
    if outcome in ("success", "failed_assessment"):
        calls.append(("assessment", "claude-haiku-4-5", Decimal("0.0050")))
    total = Decimal(0)
    for invocation, model, c in calls:
        conn.execute(
            """INSERT INTO agent_actions (session_id, tool_name, agent, invocation, model, tokens_input,
                   tokens_output, tokens_cache_write, tokens_cache_read, cost_usd, budget_date, latency_ms,
                   request_id, stop_reason, attempt, success)
               VALUES (%s, 'messages.create', 'claude', %s, %s, 1000, 200, 500, 0, %s, CURRENT_DATE, 900,
                       'req_1', 'tool_use', 1, TRUE)""",
            (sid, invocation, model, c),
        )
        total += c
    conn.execute(
        """INSERT INTO agent_actions (session_id, tool_name, tool_args, tool_result, success, error_message,
               agent, invocation, cost_usd)
           VALUES (%s, 'validate_strategy', '{}', '{}', %s, %s, 'claude', 'design', 0)""",
        (sid, outcome != "failed_design", "bad config" if outcome == "failed_design" else None),
    )
    return total


def _insert_metrics_and_trigger(conn, sid: int, i: int, outcome: str, tr, bt, total: Decimal) -> None:
    conn.execute(
        """INSERT INTO agent_metrics (session_id, cycle_started_at, cycle_completed_at, cycle_duration_seconds,
               training_accuracy, backtest_sharpe, backtest_win_rate, backtest_max_drawdown, backtest_total_trades,
               backtest_profit_factor, total_tokens_input, total_tokens_output, estimated_cost_usd, outcome,
               gate_failed)
           SELECT id, created_at, completed_at, 600, %s, %s, %s, %s, %s, %s, 1000, 200, %s, outcome, %s
           FROM agent_sessions WHERE id = %s""",
        (
            0.56 if tr else None,
            1.234 if bt else None,
            0.55 if bt else None,
            0.12 if bt else None,
            (42 if outcome != "failed_backtest_gate" else 3) if bt else None,
            1.4 if bt else None,
            total,
            {"failed_training_gate": "training", "failed_backtest_gate": "backtest"}.get(outcome),
            sid,
        ),
    )
    conn.execute(
        """INSERT INTO agent_triggers (triggered_at, trigger_reason, session_id, agent_invoked, skip_reason,
               budget_used_today_usd, budget_remaining_usd, context)
           VALUES (NOW() - make_interval(hours => %s), 'start_new_cycle', %s, TRUE, NULL, 0, 5, '{}')""",
        (20 - i, sid),
    )


def _insert_active(conn, day_cost: Decimal) -> int:
    """The cycle in training, and the gate check that found its operation running."""
    active = conn.execute(
        """INSERT INTO agent_sessions (phase, strategy_name, strategy_config, training_operation_id,
               created_at, updated_at)
           VALUES ('training', 'strat_active', '{"hypothesis": "active one"}', 'op-active',
                   NOW() - interval '10 minutes', NOW() - interval '4 minutes') RETURNING id"""
    ).fetchone()["id"]
    conn.execute(
        """INSERT INTO agent_triggers (triggered_at, trigger_reason, session_id, agent_invoked, skip_reason,
               budget_used_today_usd, budget_remaining_usd, context)
           VALUES (NOW() - interval '30 seconds', 'gate_check', %s, FALSE, 'operation_still_running', %s, %s,
                   %s)""",
        (
            active,
            day_cost,
            Decimal(5) - day_cost,
            json.dumps(
                {
                    "operation_id": "op-active",
                    "status": "running",
                    "progress_pct": 42.0,
                    "progress_message": "epoch 17/40",
                    "heartbeat_at": None,
                }
            ),
        ),
    )
    return active


def seed(conn) -> dict:
    """Insert the fixture data; returns ids by outcome and of the active cycle."""
    ids: dict = {}
    day_cost = Decimal(0)
    for i, outcome in enumerate(OUTCOMES):
        tr, bt, assessment = _results(outcome)
        sid = _insert_cycle(conn, i, outcome, tr, bt, assessment)
        ids[outcome] = sid
        total = _insert_actions(conn, sid, i, outcome)
        day_cost += total
        _insert_metrics_and_trigger(conn, sid, i, outcome, tr, bt, total)
    ids["active"] = _insert_active(conn, day_cost)
    conn.execute(
        """INSERT INTO agent_budget (date, budget_limit_usd, budget_used_usd, invocations_count, cycles_started,
               cycles_completed)
           VALUES (CURRENT_DATE, 5.00, %s, 10, 9, 8),
                  (CURRENT_DATE - 1, 5.00, 0, 0, 0, 0),
                  (CURRENT_DATE - 3, 2.00, 0, 1, 1, 1)""",
        (day_cost,),
    )
    conn.commit()
    ids["day_cost"] = day_cost
    return ids


@pytest.fixture
def seeded(conn):
    return seed(conn)
