"""Lab operations in PostgreSQL, run by an executor (agentctl/lab/executors).

Starting an operation inserts its row, then hands it to the configured
executor: `local` spawns a detached worker on this machine, `ray` submits a Ray
job. Either way the worker (`python -m agentctl.lab.worker OP_ID`) claims its
row and writes progress and results itself. Polling (`check_operation`) is
cheap and imports no numpy, pandas, scikit-learn or TA-Lib (nor ray, unless the
operation runs on Ray).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from agentctl.lab import executors
from agentctl.lab.executors.local import alive as _alive  # noqa: F401 - kept for callers and tests
from agentctl.lab.executors.local import worker_env as _worker_env  # noqa: F401
from agentctl.store.queries import load

if TYPE_CHECKING:
    import psycopg

    from agentctl.lab.strategy import StrategyConfig
    from agentctl.settings import Settings

Kind = Literal["training", "backtest"]
Status = Literal["pending", "running", "completed", "failed", "cancelled"]
ACTIVE = ("pending", "running")


class OperationError(RuntimeError):
    """An operation cannot be started (e.g. its config no longer validates)."""


class Operation(BaseModel):
    """One training or backtest run as recorded in lab_operations."""

    id: str
    kind: Kind
    status: Status
    session_id: int | None = None
    progress_pct: float = 0.0
    progress_message: str | None = None
    heartbeat_at: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    params: dict[str, Any] = {}
    result: dict[str, Any] | None = None
    error: str | None = None
    pid: int | None = None
    host: str | None = None
    log_path: str | None = None
    dataset: str | None = None
    strategy_hash: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def _q():
    return load("operations")


def start_training(conn: psycopg.Connection, settings: Settings, config: StrategyConfig, session_id: int | None) -> str:
    """Record a training operation and start its worker; returns the operation id."""
    from agentctl.lab.artifacts import location_for

    op_id = f"train-{uuid.uuid4().hex[:16]}"
    params = {
        "config": config.model_dump(mode="json"),
        "model_path": location_for(settings.artifact_dir, settings.home, op_id),
    }
    return _start(conn, settings, op_id, "training", config, session_id, params)


def start_backtest(
    conn: psycopg.Connection,
    settings: Settings,
    config: StrategyConfig,
    model_path: str | Path,
    session_id: int | None,
    n_trials: int,
) -> str:
    """Record a backtest operation of a trained model and start its worker; returns the operation id."""
    op_id = f"backtest-{uuid.uuid4().hex[:16]}"
    params = {
        "config": config.model_dump(mode="json"),
        "model_path": str(model_path),
        "n_trials": max(1, int(n_trials)),
    }
    return _start(conn, settings, op_id, "backtest", config, session_id, params)


def _start(conn, settings, op_id: str, kind: Kind, config, session_id, params: dict) -> str:
    from psycopg.pq import TransactionStatus

    from agentctl.lab.strategy import strategy_hash

    if conn.info.transaction_status != TransactionStatus.IDLE:
        # The worker reads the row from its own connection: it must be committed first.
        raise OperationError("start an operation outside a transaction: its worker must see the committed row")
    executor = executors.get(settings.executor)
    params.update(executor.extra_params(settings))
    log_path = executor.log_path(settings, op_id)
    with conn.transaction():
        conn.execute(
            _q()["insert_operation"],
            {
                "id": op_id,
                "kind": kind,
                "session_id": session_id,
                "params": json.dumps(params),
                "dataset": f"{config.dataset.symbol}/{config.dataset.timeframe}",
                "strategy_hash": strategy_hash(config),
                "log_path": log_path,
            },
        )
    refused = executor.submit(settings, op_id, kind, log_path)
    if refused:
        # Recorded, not raised: the next poll sees a failed operation and the cycle ends with this reason.
        _fetch(conn, "fail_operation", {"id": op_id, "error": refused})
    return op_id


def get_operation(conn: psycopg.Connection, op_id: str) -> Operation | None:
    """The operation as recorded, or None."""
    row = _fetch(conn, "get_operation", {"id": op_id})
    return Operation.model_validate(row) if row else None


def _fetch(conn: psycopg.Connection, name: str, params: dict) -> dict | None:
    # In a transaction block so a non-autocommit connection is left idle, not mid-transaction.
    with conn.transaction():
        return conn.execute(_q()[name], params).fetchone()


def check_operation(conn: psycopg.Connection, settings: Settings, op_id: str) -> Operation | None:
    """Like get_operation, but first marks a dead, silent or overdue worker's operation failed."""
    row = _fetch(conn, "get_operation", {"id": op_id})
    if row is None or row["status"] not in ACTIVE:
        return Operation.model_validate(row) if row else None
    reason = _failure_reason(row, settings)
    if reason is None:
        return Operation.model_validate(row)
    failed = _fetch(conn, "fail_operation", {"id": op_id, "error": reason[:2000]})
    if failed is not None:
        executors.for_row(failed).stop(failed)  # an overdue or silent worker may still be running
    return get_operation(conn, op_id)


def _failure_reason(row: dict, settings: Settings) -> str | None:
    age = float(row["age_s"])
    if age > settings.operation_timeout_s:
        return f"timed out: still {row['status']} after {age:.0f}s (limit {settings.operation_timeout_s:.0f}s)"
    # A dead pid (local) or Ray's verdict on the job (ray), then a silent heartbeat.
    return executors.for_row(row).failure_reason(row, settings)


def cancel_operation(conn: psycopg.Connection, op_id: str) -> bool:
    """Cancel a pending or running operation and stop its worker; False if it had already ended."""
    row = _fetch(conn, "cancel_operation", {"id": op_id, "error": "cancelled"})
    if row is None:
        return False
    executors.for_row(row).stop(row)
    return True


def count_trials(conn: psycopg.Connection, symbol: str, timeframe: str) -> int:
    """Distinct strategies trained on a dataset so far (for the deflated Sharpe)."""
    row = _fetch(conn, "trials_on_dataset", {"dataset": f"{symbol}/{timeframe}"})
    return int(row["n"])


def list_operations(conn: psycopg.Connection, limit: int = 20) -> list[dict]:
    """Most recent operations, newest first (summary columns)."""
    with conn.transaction():
        return list(conn.execute(_q()["list_operations"], {"limit": limit}).fetchall())
