"""Whole cycles through real ticks: real PostgreSQL, the real lab on real data, the baseline designer."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from unittest.mock import ANY

from schema_contract import useful_queries
from tickutil import (
    OPEN_GATES,
    check_invariants,
    completed,
    phase_is,
    session,
    tick,
    tick_until,
    trigger_rows,
    triggers,
)

SHUT_TRAINING_GATE = {"AGENTCTL_GATES__TRAINING_ALPHA": "1e-300"}
SHUT_BACKTEST_GATE = dict(OPEN_GATES, AGENTCTL_GATES__MIN_TRADES="1000000000")


def test_a_cycle_that_passes_every_gate_ends_success(conn):
    results = tick_until(conn, completed, **OPEN_GATES)
    s = session(conn)
    assert s["outcome"] == "success", s["failure_reason"]
    assert s["strategy_name"] and s["strategy_config"] and s["strategy_file_path"]
    assert Path(s["strategy_file_path"]).is_file()
    assert s["training_results"]["gate"]["passed"] and s["backtest_results"]["gate"]["passed"]
    assert s["assessment"]["metrics"]["sharpe"] == s["backtest_results"]["sharpe"]
    assert set(s["assessment"]) >= {
        "passed",
        "explanation",
        "metrics",
        "verdict",
        "strengths",
        "weaknesses",
        "suggestions",
    }
    rows = trigger_rows(conn, s["id"])
    assert rows[0] == ("start_new_cycle", True, None)
    assert ("training_completed", False, "no_agent_needed") in rows
    # The assessment passed, so the strategy had its one test on the sealed final holdout, which confirmed it.
    assert ("backtest_completed", True, None) in rows
    assert rows[-1] == ("gate_check", False, "no_agent_needed")
    holdout = s["final_holdout_results"]
    assert s["holdout_operation_id"] and holdout["gate"] == {"gate": "holdout", "passed": True, "reasons": ANY}
    assert holdout["start"] > s["backtest_results"]["end"]  # after the research period, past the purge gap
    assert all(r in {("gate_check", False, "operation_still_running")} for r in rows[1:-1] if r[0] == "gate_check")
    # One trigger row per tick, the agent invoked at most once per tick.
    assert len(triggers(conn)) == len(results)
    assert sum(r.agent_invoked for r in results) == 2
    budget = conn.execute("SELECT * FROM agent_budget WHERE date = CURRENT_DATE").fetchone()
    assert (budget["cycles_started"], budget["cycles_completed"], budget["invocations_count"]) == (1, 1, 2)
    tools = [
        a["tool_name"]
        for a in conn.execute("SELECT tool_name FROM agent_actions WHERE session_id = %s ORDER BY id", (s["id"],))
    ]
    assert "save_strategy" in tools and "save_assessment" in tools
    check_invariants(conn)


def test_training_gate_failure_ends_failed_training_gate(conn):
    tick_until(conn, completed, **SHUT_TRAINING_GATE)
    s = session(conn)
    assert s["outcome"] == "failed_training_gate"
    assert "accuracy" in s["failure_reason"]
    assert trigger_rows(conn, s["id"])[-1] == ("training_completed", False, "gate_failed")
    m = conn.execute("SELECT * FROM agent_metrics WHERE session_id = %s", (s["id"],)).fetchone()
    assert m["gate_failed"] == "training" and m["training_accuracy"] is not None and m["backtest_sharpe"] is None
    check_invariants(conn)


def test_backtest_gate_failure_ends_failed_backtest_gate(conn):
    tick_until(conn, completed, **SHUT_BACKTEST_GATE)
    s = session(conn)
    assert s["outcome"] == "failed_backtest_gate", s["failure_reason"]
    assert "total_trades" in s["failure_reason"]
    assert trigger_rows(conn, s["id"])[-1] == ("backtest_completed", False, "gate_failed")
    m = conn.execute("SELECT * FROM agent_metrics WHERE session_id = %s", (s["id"],)).fetchone()
    assert m["gate_failed"] == "backtest" and m["backtest_total_trades"] is not None
    check_invariants(conn)


def _worker_pid(conn, op_id: str) -> int | None:
    conn.commit()
    row = conn.execute("SELECT pid FROM lab_operations WHERE id = %s", (op_id,)).fetchone()
    return row["pid"] if row else None


def test_a_training_worker_killed_ends_failed_training(conn):
    tick_until(conn, phase_is("training"))
    s = session(conn)
    deadline = time.monotonic() + 120  # a hang guard for a loaded machine, not a wait
    while (pid := _worker_pid(conn, s["training_operation_id"])) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid is not None, "the training worker never recorded its pid"
    os.kill(pid, signal.SIGKILL)
    tick_until(conn, completed)
    s = session(conn, s["id"])
    # A worker killed this early may also have finished first; the kill must be what we saw.
    assert s["outcome"] == "failed_training", s["failure_reason"]
    assert trigger_rows(conn, s["id"])[-1] == ("training_failed", False, "operation_failed")
    check_invariants(conn)


def test_a_vanished_operation_ends_failed_training(conn):
    tick_until(conn, phase_is("training"))
    s = session(conn)
    conn.execute("UPDATE agent_sessions SET training_operation_id = 'op-that-never-was' WHERE id = %s", (s["id"],))
    conn.commit()
    tick()
    s = session(conn, s["id"])
    assert s["outcome"] == "failed_training"
    assert "vanished" in s["failure_reason"]


def test_a_deleted_model_artifact_ends_failed_backtest(conn):
    tick_until(conn, phase_is("backtesting", "idle"), **OPEN_GATES)
    s = session(conn)
    assert s["phase"] == "backtesting"
    # Make the backtest's input disappear and restart it: the worker must fail with that reason.
    Path(s["training_results"]["model_path"]).unlink()
    conn.execute("UPDATE agent_sessions SET phase = 'training', backtest_operation_id = NULL WHERE id = %s", (s["id"],))
    conn.commit()
    tick_until(conn, completed, **OPEN_GATES)
    s = session(conn, s["id"])
    assert s["outcome"] == "failed_backtest", s["failure_reason"]
    assert "model" in s["failure_reason"].lower()
    assert trigger_rows(conn, s["id"])[-1] == ("backtest_failed", False, "operation_failed")
    check_invariants(conn)


def test_operation_timeout_ends_failed_training(conn):
    tick_until(conn, phase_is("training"))
    s = session(conn)
    # Back-dated past the 10 s limit instead of waiting for it to pass.
    conn.execute(
        "UPDATE lab_operations SET created_at = NOW() - interval '1 hour' WHERE id = %s", (s["training_operation_id"],)
    )
    conn.commit()
    tick(AGENTCTL_OPERATION_TIMEOUT_S="10")
    s = session(conn)
    assert s["outcome"] == "failed_training", s
    assert "timed out" in s["failure_reason"] or "timeout" in s["failure_reason"]


def test_cancel_ends_the_active_cycle_and_stops_its_operation(conn, settings):
    from agentctl.tick import cancel_active

    tick_until(conn, phase_is("training"))
    s = session(conn)
    r = cancel_active(settings)
    assert r.outcome == "cancelled"
    s = session(conn, s["id"])
    assert s["outcome"] == "cancelled" and s["phase"] == "idle"
    op = conn.execute("SELECT status FROM lab_operations WHERE id = %s", (s["training_operation_id"],)).fetchone()
    assert op["status"] == "cancelled"
    check_invariants(conn)
    assert cancel_active(settings).cycle_id is None


def test_budget_exhausted_leaves_assessing_waiting_until_the_next_day(conn):
    tick_until(conn, phase_is("backtesting", "idle"), **OPEN_GATES)
    conn.execute("UPDATE agent_budget SET budget_limit_usd = 0 WHERE date = CURRENT_DATE")
    conn.commit()
    tick_until(conn, phase_is("assessing", "idle"), **OPEN_GATES)
    s = session(conn)
    assert s["phase"] == "assessing"
    assert trigger_rows(conn, s["id"])[-1] == ("backtest_completed", False, "budget_exceeded")
    r = tick(**OPEN_GATES)
    assert (r.skip_reason, session(conn)["phase"]) == ("budget_exceeded", "assessing")
    # The next day: today's row becomes yesterday's; the tick creates a fresh one.
    conn.execute("UPDATE agent_budget SET date = date - 1")
    conn.execute("UPDATE agent_actions SET budget_date = budget_date - 1")
    conn.commit()
    r = tick(**OPEN_GATES)
    assert r.agent_invoked and "sealed final holdout" in r.message  # assessed and passed: on to its one test
    tick_until(conn, completed, **OPEN_GATES)
    assert session(conn)["outcome"] == "success"
    check_invariants(conn)


def test_useful_queries_after_a_few_cycles(conn):
    for gates in (OPEN_GATES, SHUT_TRAINING_GATE, SHUT_BACKTEST_GATE):
        before = conn.execute("SELECT count(*) AS n FROM agent_metrics").fetchone()["n"]
        tick_until(
            conn, lambda c: c.execute("SELECT count(*) AS n FROM agent_metrics").fetchone()["n"] > before, **gates
        )
    q = useful_queries()
    assert conn.execute(q["Current cycle status"]).fetchall() == []
    recent = conn.execute(q["Recent completed cycles"]).fetchall()
    assert [r["outcome"] for r in recent] == ["failed_backtest_gate", "failed_training_gate", "success"]
    assert recent[-1]["backtest_sharpe"] is not None and recent[0]["backtest_sharpe"] is not None
    (today,) = conn.execute(q["Today's budget status"]).fetchall()
    assert (today["cycles_started"], today["cycles_completed"]) == (3, 3)
    (cost,) = conn.execute(q["Cost per successful strategy"]).fetchall()
    assert cost["count"] == 1 and cost["avg"] == 0
    check_invariants(conn)
