"""A whole research cycle through real ticks with AGENTCTL_EXECUTOR=ray on a local Ray cluster."""

from __future__ import annotations

import pytest
from ray_cluster import job_status, jobs, ray_cluster, ray_env
from tickutil import OPEN_GATES, check_invariants, completed, session, tick_until, trigger_rows

pytestmark = pytest.mark.slow


def test_a_cycle_completes_on_ray(conn, ray_env, jobs):
    results = tick_until(conn, completed, **OPEN_GATES, **ray_env)
    s = session(conn)
    assert s["outcome"] == "success", s["failure_reason"]
    for op_id in (s["training_operation_id"], s["backtest_operation_id"]):
        row = conn.execute("SELECT params, status FROM lab_operations WHERE id = %s", (op_id,)).fetchone()
        assert row["status"] == "completed" and row["params"]["executor"] == "ray"
        assert job_status(jobs, op_id, {"SUCCEEDED", "FAILED", "STOPPED"}) == "SUCCEEDED"
    assert s["training_results"]["model_path"].startswith(ray_env["AGENTCTL_ARTIFACT_DIR"])
    rows = trigger_rows(conn, s["id"])
    assert rows[0] == ("start_new_cycle", True, None) and rows[-1] == ("backtest_completed", True, None)
    assert sum(r.agent_invoked for r in results) == 2
    check_invariants(conn)
