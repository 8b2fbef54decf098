"""Operations on a real PostgreSQL with real detached workers: start, poll, complete, cancel, die."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from lab_helpers import strategy
from tickutil import process_gone, wait_for_operation

from agentctl.lab.data import list_datasets
from agentctl.lab.gates import confirmation_gate
from agentctl.lab.operations import (
    Trials,
    cancel_operation,
    check_operation,
    get_operation,
    start_backtest,
    start_holdout,
    start_training,
)
from agentctl.lab.strategy import strategy_hash, validate_strategy
from agentctl.results import BacktestResult, HoldoutResult

SLOW_MODEL = {"family": "mlp", "hidden_units": 256, "hidden_layers": 3, "max_epochs": 500, "early_stopping": False}


def cfg(**changes):
    report = validate_strategy(strategy(**changes))
    assert report.ok, report.errors
    return report.config


wait_for, gone = wait_for_operation, process_gone


def test_training_then_backtest_complete(conn, settings):
    config = cfg()
    op_id = start_training(conn, settings, config, None)
    op = wait_for(conn, settings, op_id, lambda o: not o.active)
    assert op.status == "completed", op.error
    assert op.kind == "training" and op.progress_pct == 100 and op.finished_at >= op.started_at
    assert op.host and op.pid and op.heartbeat_at is not None
    assert Path(op.result["model_path"]).exists() and op.result["accuracy"] > 0 and op.result["oof_bars"] > 2000
    log = Path(op.log_path).read_text()
    assert f"{op_id}: completed" in log and op.log_path.startswith(str(settings.home))
    with conn.transaction():
        trained = conn.execute(
            "SELECT count(DISTINCT strategy_hash) AS n FROM lab_operations "
            "WHERE dataset = 'AAPL/1h' AND kind = 'training'"
        ).fetchone()
    assert trained["n"] == 1 and op.dataset == "AAPL/1h" and op.strategy_hash == strategy_hash(config)

    assert op.params["folds"] == settings.folds == op.result["folds"] == 5

    bt_id = start_backtest(conn, settings, config, op.result["model_path"], None, Trials(4, [0.3, -0.1], []))
    bt = wait_for(conn, settings, bt_id, lambda o: not o.active)
    assert bt.status == "completed", bt.error
    assert bt.params["n_trials"] == 4 and bt.result["n_trials"] == 4 and bt.params["trial_sharpes"] == [0.3, -0.1]
    assert bt.result["bars"] == op.result["oof_bars"] and len(bt.result["equity_curve"]) <= 500
    stored = conn.execute("SELECT result FROM lab_operations WHERE id = %s", (bt_id,)).fetchone()["result"]
    assert json.loads(json.dumps(stored))["sharpe"] == bt.result["sharpe"]
    assert BacktestResult.model_validate(bt.result).blocks == bt.result["blocks"]


def test_the_final_holdout_operation(conn, settings):
    config = cfg()
    op_id = start_holdout(conn, settings, config, None)
    assert op_id.startswith("holdout-")
    op = wait_for(conn, settings, op_id, lambda o: not o.active)
    assert op.status == "completed", op.error
    assert op.kind == "holdout" and op.progress_pct == 100
    result = HoldoutResult.model_validate(op.result)
    hourly = next(d for d in list_datasets(None) if (d.symbol, d.timeframe) == ("AAPL", "1h"))
    assert result.start == hourly.holdout_start and result.end == hourly.last_bar
    assert 0 <= result.sharpe_p_value <= 1 and result.bars > 600
    assert confirmation_gate(op.result).gate == "holdout"


def test_failure_is_recorded_with_its_reason(conn, settings):
    config = cfg(label={"horizon": 1, "threshold": 0.2, "classes": "up_down"})
    op = wait_for(conn, settings, start_training(conn, settings, config, None), lambda o: not o.active)
    assert op.status == "failed" and "single class" in op.error


def test_cancel_stops_the_worker(conn, settings):
    op_id = start_training(conn, settings, cfg(dataset={"symbol": "SP500", "timeframe": "1d"}, model=SLOW_MODEL), None)
    op = wait_for(conn, settings, op_id, lambda o: o.status == "running" and o.progress_pct > 10)
    assert cancel_operation(conn, op_id) is True
    assert gone(op.pid), "worker still alive after cancel"
    op = get_operation(conn, op_id)
    assert op.status == "cancelled" and op.finished_at is not None
    assert cancel_operation(conn, op_id) is False  # already ended


def test_killed_worker_is_detected(conn, settings):
    op_id = start_training(conn, settings, cfg(dataset={"symbol": "SP500", "timeframe": "1d"}, model=SLOW_MODEL), None)
    op = wait_for(conn, settings, op_id, lambda o: o.status == "running" and o.pid is not None)
    os.kill(op.pid, signal.SIGKILL)
    assert gone(op.pid)
    op = check_operation(conn, settings, op_id)
    assert op.status == "failed" and f"worker process {op.pid} died without reporting" in op.error


def test_silent_and_overdue_operations_fail(conn, settings):
    from agentctl.store.queries import load

    def pending_row(op_id):
        conn.execute(
            load("operations")["insert_operation"],
            {
                "id": op_id,
                "kind": "training",
                "session_id": None,
                "params": "{}",
                "dataset": "AAPL/1h",
                "strategy_hash": "0" * 64,
                "log_path": "/dev/null",
            },
        )
        conn.commit()

    def created_ago(op_id, age):
        # Back-dated instead of waiting for a timeout to pass.
        conn.execute("UPDATE lab_operations SET created_at = NOW() - %s::interval WHERE id = %s", (age, op_id))
        conn.commit()

    assert settings.heartbeat_timeout_s < 600 < settings.operation_timeout_s < 3600
    pending_row("never-started")
    created_ago("never-started", "10 minutes")  # silent past the 60 s heartbeat timeout, within the 30 min limit
    op = check_operation(conn, settings, "never-started")
    assert op.status == "failed" and "never started" in op.error

    pending_row("overdue")
    created_ago("overdue", "1 hour")  # past the 30 min operation timeout
    op = check_operation(conn, settings, "overdue")
    assert op.status == "failed" and op.error.startswith("timed out")
    assert check_operation(conn, settings, "no-such-op") is None


def test_polling_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, agentctl.lab.operations, agentctl.lab.gates, agentctl.results;"
        "heavy = [m for m in ('numpy', 'pandas', 'sklearn', 'talib') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("bad", [[], ["a", "b"], ["--nope"]])
def test_worker_usage(bad):
    from agentctl.domain import ExitCode
    from agentctl.lab.worker import main

    assert main(bad) == ExitCode.USAGE == 2


def test_worker_env_is_pinned_and_keyless(settings, monkeypatch):
    from agentctl.lab.executors.local import worker_env

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("AGENTCTL_HOME", "/somewhere/else")
    env = worker_env(settings)
    assert "ANTHROPIC_API_KEY" not in env and "sk-ant-secret" not in env.values()
    assert env["AGENTCTL_HOME"] == str(settings.home) and env["AGENTCTL_DATABASE_URL"] == settings.database_url
