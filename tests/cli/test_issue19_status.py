"""`status` tells the truth first: a pause, an open breaker, an overrun or a cycle waiting for the next tick
is its first line, and it shows the active cycle's dataset, model family and stage."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agentctl.cli.main import app

CONFIG = '{"name": "s", "dataset": {"symbol": "NASDAQ", "timeframe": "1d"}, "model": {"family": "random_forest"}}'


def _status(*args: str) -> str:
    res = CliRunner().invoke(app, ["status", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def _cycle(conn, op_status: str) -> int:
    sid = conn.execute(
        "INSERT INTO agent_sessions (phase, strategy_name, strategy_config, training_operation_id)"
        " VALUES ('training', 's', %s, 'op-1') RETURNING id",
        (CONFIG,),
    ).fetchone()["id"]
    ended = op_status not in ("pending", "running")
    conn.execute(
        "INSERT INTO lab_operations (id, kind, status, session_id, params, dataset, strategy_hash,"
        " started_at, heartbeat_at, finished_at, result) VALUES ('op-1', 'training', %s, %s, '{}', 'NASDAQ/1d',"
        " repeat('0', 64), NOW(), NOW(), CASE WHEN %s THEN NOW() END, CASE WHEN %s THEN '{}'::jsonb END)",
        (op_status, sid, ended, ended),
    )
    conn.execute("INSERT INTO agent_triggers (trigger_reason, session_id) VALUES ('gate_check', %s)", (sid,))
    conn.commit()
    return sid


def test_a_running_cycle_shows_its_dataset_model_and_stage(settings, conn):
    sid = _cycle(conn, "running")
    out = _status()
    assert out.splitlines()[0] == f"cycle {sid} is training NASDAQ/1d"
    assert "  dataset NASDAQ/1d  model random_forest" in out
    st = json.loads(_status("--json"))
    c = st["active_cycle"]
    assert (c["dataset"], c["model"], c["stage"], c["waiting_for_tick"]) == (
        "NASDAQ/1d",
        "random_forest",
        "training",
        False,
    )


def test_a_completed_operation_says_the_cycle_waits_for_the_next_tick(settings, conn):
    sid = _cycle(conn, "completed")
    out = _status()
    assert out.splitlines()[0].startswith(f"waiting for the next tick: cycle {sid}'s training completed")
    assert "operation op-1: completed: waiting for the next tick" in out


def test_a_pause_comes_first_even_with_a_cycle_running(settings, conn):
    sid = _cycle(conn, "running")
    assert CliRunner().invoke(app, ["pause", "--note", "lunch"]).exit_code == 0
    out = _status()
    first = out.splitlines()[0]
    assert first.startswith("paused by `agentctl pause`") and "(lunch)" in first
    assert first.endswith(f"(cycle {sid} still finishes)")
    assert "no active cycle" not in out and out.count("paused by") == 1  # not repeated as a warning


def test_an_open_breaker_and_an_overrun_come_first(settings, conn):
    for _ in range(3):
        conn.execute(
            "INSERT INTO agent_sessions (phase, outcome, failure_reason, completed_at)"
            " VALUES ('idle', 'failed_design', 'no datasets available', NOW())"
        )
    conn.execute("INSERT INTO agent_triggers (trigger_reason) VALUES ('scheduled')")
    conn.commit()
    first = _status().splitlines()[0]
    assert first.startswith("circuit breaker open: the last 3 cycles ended by the agent failing")
    assert "no active cycle" not in first
    conn.execute(
        "INSERT INTO agent_budget (date, budget_limit_usd, budget_used_usd, overrun_at, overrun_usd)"
        " VALUES (CURRENT_DATE, 5, 1, NOW(), 0.5)"
    )
    conn.commit()
    assert _status().splitlines()[0].startswith("budget overrun on ")


def test_ctrl_c_in_run_reads_the_database_not_the_last_tick_seen(settings, conn):
    from decimal import Decimal

    from agentctl.cli.cycle import interrupted
    from agentctl.runner import RunState
    from agentctl.tick.result import TickResult

    done = conn.execute(
        "INSERT INTO agent_sessions (phase, outcome, completed_at) VALUES ('idle', 'failed_training_gate', NOW())"
        " RETURNING id"
    ).fetchone()["id"]
    conn.commit()
    # The last tick the display saw had the cycle still assessing; it completed after.
    seen = RunState(3, TickResult(cycle_id=done, phase="assessing"), 0, 1, Decimal(0), Decimal(5))
    assert interrupted(settings, seen) == "interrupted: no cycle is active"
    sid = _cycle(conn, "running")
    said = interrupted(settings, seen)
    assert said.startswith(f"interrupted: cycle {sid} (phase training) is still active") and "cancel" in said
