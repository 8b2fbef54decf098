"""Real ticks with Claude: the real anthropic SDK over HTTP to the fake Messages API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from agent_helpers import bad_config, good_config
from fake_anthropic import fake_anthropic, message, script_assessment, script_design, slow, text
from tickutil import (
    check_invariants,
    claude_env,
    completed,
    phase_is,
    session,
    tick,
    tick_until,
    trigger_rows,
)

pytestmark = pytest.mark.heavy


def _logged_model_calls(conn) -> int:
    conn.commit()
    return conn.execute("SELECT count(*) AS n FROM agent_actions WHERE tool_name = 'messages.create'").fetchone()["n"]


def test_claude_cycle_success_through_the_sdk(conn, fake_anthropic, claude_env):
    script_design(fake_anthropic, bad_config(), good_config("rsi-claude-1"))
    script_assessment(fake_anthropic, passed=True, verdict="promising")
    results = tick_until(conn, completed)
    s = session(conn)
    assert s["outcome"] == "success", s["failure_reason"]
    assert s["strategy_name"] == "rsi-claude-1"
    assert s["assessment"]["verdict"] == "promising" and s["assessment"]["passed"] is True
    assert s["assessment"]["metrics"]["sharpe"] == s["backtest_results"]["sharpe"]
    assert [r.agent for r in results if r.agent_invoked] == ["claude", "claude"]
    assert fake_anthropic.pending == 0
    assert len(fake_anthropic.message_requests) == _logged_model_calls(conn) == 4
    m = conn.execute("SELECT * FROM agent_metrics WHERE session_id = %s", (s["id"],)).fetchone()
    assert m["estimated_cost_usd"] > 0 and m["total_tokens_input"] > 0
    b = conn.execute("SELECT * FROM agent_budget WHERE date = CURRENT_DATE").fetchone()
    assert b["budget_used_usd"] == m["estimated_cost_usd"] and b["budget_reserved_usd"] == 0
    assert b["invocations_count"] == 2
    check_invariants(conn)


def test_assessment_attempts_exhausted_end_failed_assessment(conn, fake_anthropic, claude_env, monkeypatch):
    monkeypatch.setenv("AGENTCTL_ASSESSMENT_MAX_ATTEMPTS", "2")
    script_design(fake_anthropic, bad_config(), good_config("rsi-claude-2"))
    tick_until(conn, phase_is("backtesting", "idle"))
    # Each assessment invocation (one turn each) ends without calling save_assessment.
    monkeypatch.setenv("AGENTCTL_MAX_TURNS", "1")
    fake_anthropic.enqueue(message(text("Looks fine to me.")), message(text("Still thinking.")))
    tick_until(conn, completed)
    s = session(conn)
    assert s["outcome"] == "failed_assessment", s["failure_reason"]
    rows = trigger_rows(conn, s["id"])
    assert rows[-3:] == [
        ("backtest_completed", True, None),
        ("backtest_completed", True, None),
        ("backtest_completed", False, "assessment_failed"),
    ]
    assert len(fake_anthropic.message_requests) == _logged_model_calls(conn)
    check_invariants(conn)


def test_design_without_a_saved_strategy_ends_failed_design(conn, fake_anthropic, claude_env, monkeypatch):
    monkeypatch.setenv("AGENTCTL_MAX_TURNS", "2")
    fake_anthropic.enqueue(message(text("I would rather not design anything today.")), message(text("Really.")))
    r = tick()
    assert r.agent_invoked and r.outcome == "failed_design"
    s = session(conn)
    assert s["outcome"] == "failed_design" and s["failure_reason"]
    assert fake_anthropic.pending == 0 and len(fake_anthropic.message_requests) == _logged_model_calls(conn) == 2
    check_invariants(conn)


def test_budget_too_small_for_one_call_starts_nothing(conn, fake_anthropic, claude_env):
    conn.execute("INSERT INTO agent_budget (date, budget_limit_usd) VALUES (CURRENT_DATE, 0.01)")
    conn.commit()
    r = tick()
    assert (r.skip_reason, r.agent_invoked) == ("budget_exceeded", False)
    assert session(conn) is None and fake_anthropic.message_requests == []


def test_twenty_concurrent_ticks_make_one_invocation_and_one_session(conn, fake_anthropic, claude_env):
    # A slow first reply keeps the designing tick holding the lock while the others arrive.
    fake_anthropic.enqueue(slow(message(text("Thinking about momentum.")), 3.0))
    env = dict(os.environ, AGENTCTL_MAX_TURNS="1")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agentctl", "tick"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(20)
    ]
    outs = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert [o[0] for o in outs] == [0] * 20, outs
    conn.commit()
    assert conn.execute("SELECT count(*) AS n FROM agent_sessions").fetchone()["n"] == 1
    triggers = conn.execute("SELECT * FROM agent_triggers").fetchall()
    invoked = [t for t in triggers if t["agent_invoked"]]
    assert len(invoked) == 1
    # Every tick either held the lock (and wrote its one row) or found it held and wrote nothing.
    locked_out = [o for o in outs if "lock" in o[2]]
    assert len(locked_out) + len(triggers) == 20
    assert len(fake_anthropic.message_requests) == _logged_model_calls(conn) == 1
    assert conn.execute("SELECT invocations_count FROM agent_budget").fetchone()["invocations_count"] == 1
    check_invariants(conn)
