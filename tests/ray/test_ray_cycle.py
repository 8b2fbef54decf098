"""Whole research cycles through real ticks with AGENTCTL_EXECUTOR=ray, on a cluster of two nodes on this machine."""

from __future__ import annotations

import os

import pytest
from ray_cluster import job_status, jobs, lab_env, ray_cluster, ray_env
from tickutil import OPEN_GATES, check_invariants, completed, session, tick_until, triggers

pytestmark = pytest.mark.ray

# The rows that decide a successful cycle, in order: reason, agent invoked, skip reason, the operation
# whose polls come before it, and the operations its context names.
DECISIVE = [
    ("start_new_cycle", True, None, None, {}),
    (
        "training_completed",
        False,
        "no_agent_needed",
        "training",
        {"operation_id": "training", "backtest_operation_id": "backtest"},
    ),
    ("backtest_completed", True, None, "backtest", {}),  # the assessor passed it: on to the final holdout
    ("gate_check", False, "no_agent_needed", "holdout", {"operation_id": "holdout"}),  # confirmed on the holdout
]


def test_a_cycle_runs_every_operation_on_the_node_holding_the_resource(
    conn, lab_env, jobs, ray_cluster, tmp_path, monkeypatch
):
    # Models at an fsspec URL, and an API key in the tick's environment that no job may receive.
    store = tmp_path / "object-store"
    env = {**lab_env, "AGENTCTL_ARTIFACT_DIR": f"file://{store}/models", "AGENTCTL_AGENT": "baseline"}
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-never-sent")
    results = tick_until(conn, completed, timeout_s=300, **OPEN_GATES, **env)
    s = session(conn)
    assert s["outcome"] == "success", s["failure_reason"]
    ops = {kind: s[f"{kind}_operation_id"] for kind in ("training", "backtest", "holdout")}
    for kind, op_id in ops.items():
        row = conn.execute("SELECT * FROM lab_operations WHERE id = %s", (op_id,)).fetchone()
        assert (row["kind"], row["status"], row["params"]["executor"]) == (kind, "completed", "ray")
        assert row["params"]["ray_address"] == env["AGENTCTL_RAY_ADDRESS"]
        assert row["log_path"] == f"`ray job logs {op_id}`"
        # Each ran as a Ray job on the second node: the worker says so in its row, and Ray in the job's info.
        assert job_status(jobs, op_id, {"SUCCEEDED", "FAILED", "STOPPED"}) == "SUCCEEDED"
        info = jobs.get_job_info(op_id)
        assert row["node_id"] == info.driver_node_id == ray_cluster.lab_node, kind
        assert f"{op_id}: completed" in jobs.get_job_logs(op_id)
        # The job is given the database and home, never the API key.
        job_env = info.runtime_env["env_vars"]
        assert job_env["AGENTCTL_DATABASE_URL"] and job_env["AGENTCTL_HOME"] == os.environ["AGENTCTL_HOME"]
        assert not any("ANTHROPIC" in k or "sk-ant" in v for k, v in job_env.items())
    model = f"file://{store}/models/{ops['training']}.joblib"
    assert s["training_results"]["model_path"] == model and (store / "models" / f"{ops['training']}.joblib").is_file()

    # Every row of the cycle: the decisive ones in order, and between them only polls of the running operation.
    rows = triggers(conn, s["id"])
    decisive = iter(DECISIVE)
    reason, invoked, skip, polled, names = next(decisive)
    for t in rows:
        context = t["context"] or {}
        if t["skip_reason"] == "operation_still_running":
            assert (t["trigger_reason"], t["agent_invoked"]) == ("gate_check", False)
            assert context["operation_id"] == ops[polled], (t, polled)
            continue
        assert (t["trigger_reason"], t["agent_invoked"], t["skip_reason"]) == (reason, invoked, skip)
        assert {key: context.get(key) for key in names} == {key: ops[kind] for key, kind in names.items()}
        reason, invoked, skip, polled, names = next(decisive, (None, None, None, None, {}))
    assert reason is None, f"the cycle's rows end before {reason}"
    assert len(triggers(conn)) == len(results)  # one row per tick, and none outside the cycle
    assert sum(r.agent_invoked for r in results) == 2
    check_invariants(conn)
