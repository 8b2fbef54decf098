"""Lab operations, run by an executor (agentctl/lab/executors); their rows live in agentctl/store/operations.py.

Three kinds: `training` (walk-forward on the research period), `backtest` (the
research backtest of its out-of-fold predictions) and `holdout` (the one test on
the sealed final holdout). Starting an operation records its row, then hands it to the configured
executor: `local` spawns a detached worker on this machine, `ray` submits a Ray
job. Either way the worker (`python -m agentctl.lab.worker OP_ID`) claims its
row and writes progress and results itself. Polling (`check_operation`) is
cheap and imports no numpy, pandas, scikit-learn or TA-Lib (nor ray, unless the
operation runs on Ray).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agentctl.domain import Gate
from agentctl.lab import executors
from agentctl.store import operations as store
from agentctl.store.operations import Operation

if TYPE_CHECKING:
    import psycopg

    from agentctl.lab.strategy import StrategyConfig
    from agentctl.settings import Settings

__all__ = [
    "Operation",
    "OperationError",
    "cancel_operation",
    "check_operation",
    "get_operation",
    "start_backtest",
    "start_holdout",
    "start_training",
]


def _token() -> str:
    """16 random hex digits naming an operation (uuid4's randomness; the uuid module costs a polling tick ~5 ms)."""
    return os.urandom(8).hex()


class OperationError(RuntimeError):
    """An operation cannot be started (e.g. its config no longer validates)."""


def start_training(
    conn: psycopg.Connection[Any], settings: Settings, config: StrategyConfig, cycle_id: int | None
) -> str:
    """Record a walk-forward training operation and start its worker; returns the operation id."""
    from agentctl.lab.artifacts import location_for

    op_id = f"train-{_token()}"
    params = {
        "config": config.model_dump(mode="json"),
        "model_path": location_for(settings.artifact_dir, settings.home, op_id),
        "folds": settings.folds,
    }
    return _start(conn, settings, op_id, "training", config, cycle_id, params)


class Trials(NamedTuple):
    """What a research backtest is tested among: the deflated Sharpe's trials and the data-snooping family."""

    n_trials: int  # every strategy saved so far (all datasets)
    sharpes: list[float]  # the annualized research Sharpes recorded for earlier trials
    paths: list[str]  # the saved excess returns of the earlier strategies trained on the same dataset


def start_backtest(
    conn: psycopg.Connection[Any],
    settings: Settings,
    config: StrategyConfig,
    model_path: str | Path,
    cycle_id: int | None,
    trials: Trials,
) -> str:
    """Record a research backtest of a training's out-of-fold predictions and start its worker; returns its id."""
    op_id = f"backtest-{_token()}"
    params = {
        "config": config.model_dump(mode="json"),
        "model_path": str(model_path),
        "n_trials": max(1, int(trials.n_trials)),
        "trial_sharpes": [float(s) for s in trials.sharpes],
        "trial_paths": [str(p) for p in trials.paths],
    }
    return _start(conn, settings, op_id, "backtest", config, cycle_id, params)


def start_holdout(
    conn: psycopg.Connection[Any], settings: Settings, config: StrategyConfig, cycle_id: int | None
) -> str:
    """Record the strategy's one test on its dataset's sealed final holdout and start its worker; returns its id."""
    op_id = f"holdout-{_token()}"
    params = {"config": config.model_dump(mode="json")}
    return _start(conn, settings, op_id, "holdout", config, cycle_id, params)


def _start(
    conn: psycopg.Connection[Any],
    settings: Settings,
    op_id: str,
    kind: Gate,
    config: StrategyConfig,
    cycle_id: int | None,
    params: dict[str, Any],
) -> str:
    from psycopg.pq import TransactionStatus

    from agentctl.lab.strategy import strategy_hash

    if conn.info.transaction_status != TransactionStatus.IDLE:
        # The worker reads the row from its own connection: it must be committed first.
        raise OperationError("start an operation outside a transaction: its worker must see the committed row")
    executor = executors.get(settings.executor)
    params.update(executor.extra_params(settings))
    log_path = executor.log_path(settings, op_id)
    store.insert(
        conn,
        op_id=op_id,
        kind=kind,
        cycle_id=cycle_id,
        params=params,
        dataset=f"{config.dataset.symbol}/{config.dataset.timeframe}",
        strategy_hash=strategy_hash(config),
        log_path=log_path,
    )
    refused = executor.submit(settings, op_id, kind, log_path)
    if refused:
        # Recorded, not raised: the next poll sees a failed operation and the cycle ends with this reason.
        store.fail(conn, op_id, refused)
    return op_id


def get_operation(conn: psycopg.Connection[Any], op_id: str) -> Operation | None:
    """The operation as recorded, or None."""
    return store.get(conn, op_id)


def check_operation(conn: psycopg.Connection[Any], settings: Settings, op_id: str) -> Operation | None:
    """Like get_operation, but first marks a dead, silent or overdue worker's operation failed."""
    op = store.get(conn, op_id)
    if op is None or not op.active:
        return op
    reason = _failure_reason(op, settings)
    if reason is None:
        return op
    failed = store.fail(conn, op_id, reason)
    if failed is not None:
        executors.for_operation(failed).stop(failed)  # an overdue or silent worker may still be running
    return store.get(conn, op_id)


def _failure_reason(op: Operation, settings: Settings) -> str | None:
    if op.age_s > settings.operation_timeout_s:
        return f"timed out: still {op.status} after {op.age_s:.0f}s (limit {settings.operation_timeout_s:.0f}s)"
    # A dead pid (local) or Ray's verdict on the job (ray), then a silent heartbeat.
    return executors.for_operation(op).failure_reason(op, settings)


def cancel_operation(conn: psycopg.Connection[Any], op_id: str) -> bool:
    """Cancel a pending or running operation and stop its worker; False if it had already ended."""
    cancelled = store.cancel(conn, op_id)
    if cancelled is None:
        return False
    executors.for_operation(cancelled).stop(cancelled)
    return True
