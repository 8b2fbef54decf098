"""Losing a node mid-training, and a cluster that does not answer, through real ticks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from agent_helpers import bad_config, good_config
from fake_anthropic import fake_anthropic, script_design
from ray_cluster import free_port, ray_cluster, ray_env
from tickutil import check_invariants, claude_env, completed, run_tick_process, session, tick, tick_until, trigger_rows
from tickutil import wait_for_operation as wait_for

pytestmark = pytest.mark.ray

# Long enough on one core (500 epochs of a wide network) that the node dies while it trains.
SLOW_MODEL = {"family": "mlp", "hidden_units": 256, "hidden_layers": 3, "max_epochs": 500, "early_stopping": False}


def slow_config() -> dict:
    return {**good_config("lost-node"), "dataset": {"symbol": "SP500", "timeframe": "1d"}, "model": SLOW_MODEL}


def test_a_node_lost_during_training_fails_the_cycle_naming_its_worker(
    conn, settings, ray_cluster, ray_env, fake_anthropic, claude_env, monkeypatch
):
    doomed = ray_cluster.add_node("doomed")
    env = {**ray_env, "AGENTCTL_RAY_RESOURCES": json.dumps({"doomed": 1}), "AGENTCTL_HEARTBEAT_TIMEOUT_S": "6"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    script_design(fake_anthropic, bad_config(), slow_config())
    first = tick()
    assert first.agent_invoked and first.phase == "training", first.line()
    s = session(conn)
    op = wait_for(conn, settings, s["training_operation_id"], lambda o: o.node_id and o.progress_pct > 0, 120)
    assert op.status == "running" and op.node_id == doomed

    ray_cluster.kill_node(doomed)  # SIGKILL: its raylet, the job's supervisor and (with it) the worker
    tick_until(conn, completed, timeout_s=120)
    s = session(conn)
    assert s["outcome"] == "failed_training" and s["completed_at"] is not None
    # The reason names the lost worker: its pid, host and Ray node (the heartbeat's word, or Ray's if sooner).
    worker = f"worker (pid {op.pid} on {op.host}, ray node {doomed})"
    assert re.search(r"sent no heartbeat for \d+s \(limit 6s|FAILED", s["failure_reason"]), s["failure_reason"]
    assert worker in s["failure_reason"], s["failure_reason"]
    assert trigger_rows(conn, s["id"])[-1] == ("training_failed", False, "operation_failed")
    # No model, whole or half: nothing at its path, no temporary file beside it.
    model = Path(op.params["model_path"])
    assert not model.exists() and not list(model.parent.glob(f"{op.id}*"))
    check_invariants(conn)


def test_an_unreachable_cluster_is_one_line_exit_75_and_only_a_trigger_row(conn, settings):
    pytest.importorskip("ray.job_submission", reason="the ray executor's tests need: pip install -e '.[ray]'")
    address = f"http://127.0.0.1:{free_port()}"
    p = run_tick_process({"AGENTCTL_EXECUTOR": "ray", "AGENTCTL_RAY_ADDRESS": address, "AGENTCTL_AGENT": "baseline"})
    assert p.returncode == 75, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith(f"agentctl: the Ray cluster at {address} does not answer: "), lines[0]
    conn.commit()
    rows = conn.execute("SELECT * FROM agent_triggers").fetchall()
    assert [(r["trigger_reason"], r["agent_invoked"], r["skip_reason"], r["session_id"]) for r in rows] == [
        ("start_new_cycle", False, "executor_unavailable", None)
    ]
    assert address in rows[0]["context"]["error"]
    for table in ("agent_sessions", "lab_operations", "agent_actions"):
        assert conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] == 0, table
