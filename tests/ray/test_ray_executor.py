"""The ray executor against a real Ray cluster on this machine: cancel, killed, stopped, unknown, unreachable.

A completed training and backtest (and the final holdout) are in test_ray_cycle.py, through real ticks.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from ray_cluster import job_status, jobs, ray_cluster, ray_env, ray_settings
from tickutil import process_gone, wait_for_operation

from agentctl.lab.operations import Trials, cancel_operation, check_operation, start_backtest, start_training
from agentctl.lab.strategy import validate_strategy

pytestmark = pytest.mark.ray

SLOW_MODEL = {"family": "mlp", "hidden_units": 256, "hidden_layers": 3, "max_epochs": 500, "early_stopping": False}


def cfg(**changes):
    base = {
        "name": "ray-strategy",
        "hypothesis": "Momentum and volatility features predict the next hour's direction.",
        "dataset": {"symbol": "AAPL", "timeframe": "1h"},
        "features": [{"function": "RSI"}, {"function": "NATR"}, {"function": "ROC", "params": {"timeperiod": 5}}],
        "model": {"family": "logistic_regression"},
        "trading": {"confidence": 0.5, "direction": "long_short"},
    }
    report = validate_strategy({**base, **changes})
    assert report.ok, report.errors
    return report.config


def slow_cfg():
    return cfg(dataset={"symbol": "SP500", "timeframe": "1d"}, model=SLOW_MODEL)


def wait_for(conn, settings, op_id, until, timeout=90.0):
    return wait_for_operation(conn, settings, op_id, until, timeout)


def gone(pid: int, timeout: float = 30.0) -> bool:
    return process_gone(pid, timeout)


def test_cancel_stops_the_job(conn, ray_settings, jobs):
    op_id = start_training(conn, ray_settings, slow_cfg(), None)
    op = wait_for(conn, ray_settings, op_id, lambda o: o.status == "running" and o.progress_pct > 10)
    assert cancel_operation(conn, op_id) is True
    assert job_status(jobs, op_id, {"STOPPED", "FAILED", "SUCCEEDED"}) == "STOPPED"
    assert gone(op.pid), "worker still alive after cancel"
    op = check_operation(conn, ray_settings, op_id)
    assert op.status == "cancelled" and op.finished_at is not None
    assert cancel_operation(conn, op_id) is False


def test_killed_job_fails_with_rays_message(conn, ray_settings, jobs):
    op_id = start_training(conn, ray_settings, slow_cfg(), None)
    op = wait_for(conn, ray_settings, op_id, lambda o: o.status == "running" and o.pid is not None)
    os.kill(op.pid, signal.SIGKILL)  # behind Ray's back: the worker dies without a word to PostgreSQL
    assert job_status(jobs, op_id, {"FAILED", "STOPPED", "SUCCEEDED"}) == "FAILED"
    op = wait_for(conn, ray_settings, op_id, lambda o: not o.active, timeout=10)
    assert op.status == "failed"
    assert op.error.startswith(f"ray job {op_id} FAILED (worker (pid {op.pid} on {op.host}"), op.error
    assert "): Job entrypoint command failed with exit code" in op.error
    assert len(op.error) <= 2000


def test_job_stopped_outside_agentctl_fails_its_operation(conn, ray_settings, jobs):
    op_id = start_training(conn, ray_settings, slow_cfg(), None)
    op = wait_for(conn, ray_settings, op_id, lambda o: o.status == "running")
    jobs.stop_job(op_id)
    job_status(jobs, op_id, {"STOPPED"})
    op = wait_for(conn, ray_settings, op_id, lambda o: not o.active, timeout=10)
    assert op.status == "failed" and op.error.startswith(f"ray job {op_id} STOPPED (worker (pid {op.pid} "), op.error
    assert gone(op.pid)


def test_a_job_ray_does_not_know_fails_its_operation(conn, ray_settings):
    from agentctl.store.queries import load

    conn.execute(
        load("operations")["insert_operation"],
        {
            "id": "train-lost",
            "kind": "training",
            "session_id": None,
            "dataset": "AAPL/1h",
            "strategy_hash": "0" * 64,
            "params": f'{{"executor": "ray", "ray_address": "{ray_settings.ray_address}"}}',
            "log_path": None,
        },
    )
    conn.commit()
    op = check_operation(conn, ray_settings, "train-lost")
    assert op.status == "failed"
    assert op.error.startswith("ray job train-lost is unknown to the cluster at http://127.0.0.1:"), op.error
    assert "does not exist" in op.error


def test_an_unreachable_cluster_fails_the_operation_at_submission(conn, ray_settings):
    from ray_cluster import free_port

    settings = ray_settings.model_copy(update={"ray_address": f"http://127.0.0.1:{free_port()}"})
    op = check_operation(conn, settings, start_training(conn, settings, cfg(), None))
    assert op.status == "failed" and op.error.startswith("could not submit ray job train-"), op.error
