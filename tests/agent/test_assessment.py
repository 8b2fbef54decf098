"""Claude assesses held-out results; metrics are ours, never the model's."""

from __future__ import annotations

import json

from agent_helpers import actions, claude_settings, conn_factory, good_config, new_cycle
from fake_anthropic import assessment_input, fake_anthropic, message, script_assessment, tool_use

from agentctl.agent import run_assessment
from agentctl.store.budget import Budget

BACKTEST = {
    "sharpe": 1.21,
    "sortino": 1.9,
    "total_return": 0.18,
    "cagr": 0.09,
    "max_drawdown": 0.08,
    "win_rate": 0.54,
    "total_trades": 41,
    "profit_factor": 1.4,
    "buy_and_hold_return": 0.11,
    "deflated_sharpe": 0.62,
    "equity_curve": [["2026-03-13T18:30:00", 1.0]] * 120,
}
TRAINING = {"accuracy": 0.55, "majority_baseline_accuracy": 0.52, "train_accuracy": 0.58}


def assessing_session(conn) -> int:
    return new_cycle(
        conn,
        "assessing",
        strategy_name="rsi-reversion-1h",
        strategy_config=json.dumps(good_config()),
        backtest_results=json.dumps(BACKTEST),
        training_results=json.dumps(TRAINING),
    )


def test_assessment_saves_with_metrics_from_the_backtest(settings, conn, fake_anthropic):
    s = claude_settings(settings, fake_anthropic)
    sid = assessing_session(conn)
    script_assessment(fake_anthropic, passed=True, verdict="promising")

    out = run_assessment(conn_factory(s), s, sid)

    assert out.saved and out.agent_name == "claude"
    a = out.assessment
    assert set(a) == {"passed", "explanation", "metrics", "verdict", "strengths", "weaknesses", "suggestions"}
    assert a["passed"] is True and a["verdict"] == "promising"
    assert a["metrics"]["sharpe"] == 1.21 and a["metrics"]["deflated_sharpe"] == 0.62
    assert "equity_curve" not in a["metrics"]
    stored = conn.execute("SELECT assessment FROM agent_sessions WHERE id = %s", [sid]).fetchone()["assessment"]
    assert stored == a
    # The model saw the figures and the gates' verdicts as recorded, not the equity curve.
    body = fake_anthropic.message_requests[0].body
    user = body["messages"][0]["content"]
    assert '"sharpe": 1.21' in user and '"gates"' in user and "equity_curve" not in user
    assert body["model"] == "claude-sonnet-5-5" and [t["name"] for t in body["tools"]] == ["save_assessment"]
    rows = actions(conn, sid)
    assert [r["tool_name"] for r in rows] == ["messages.create", "save_assessment"]
    assert all(r["invocation"] == "assessment" for r in rows)
    snap = Budget(s).snapshot(conn)
    assert snap.used == rows[0]["cost_usd"] > 0 and snap.reserved == 0 and snap.invocations == 1


def test_metrics_from_the_model_are_refused(settings, conn, fake_anthropic):
    s = claude_settings(settings, fake_anthropic)
    sid = assessing_session(conn)
    forged = assessment_input() | {"metrics": {"sharpe": 9.9}}
    fake_anthropic.enqueue(
        message(tool_use("save_assessment", forged)),
        message(tool_use("save_assessment", assessment_input(False, "neutral"))),
    )
    out = run_assessment(conn_factory(s), s, sid)
    assert out.saved and out.assessment["metrics"]["sharpe"] == 1.21 and out.assessment["verdict"] == "neutral"
    first = next(r for r in actions(conn, sid) if r["tool_name"] == "save_assessment")
    assert not first["success"] and "metrics" in first["error_message"]


def test_assessment_of_a_session_not_assessing_is_refused(settings, conn, fake_anthropic):
    s = claude_settings(settings, fake_anthropic)
    sid = new_cycle(conn, "backtesting")
    out = run_assessment(conn_factory(s), s, sid)
    assert not out.saved and "assessing" in out.failure_reason and fake_anthropic.requests == []
