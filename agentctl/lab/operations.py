"""Lab operations in PostgreSQL, run by detached local workers.

Starting an operation inserts its row, then spawns `python -m agentctl.lab.worker
--detach OP_ID`, which re-spawns the real worker in its own session and exits:
the worker is reparented away from the caller (no zombie, survives the caller)
and claims its row itself. Polling (`check_operation`) is cheap and imports no
numpy, pandas, scikit-learn or TA-Lib.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from agentctl.db.queries import load

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


def operation_log_path(home: Path, op_id: str) -> Path:
    return Path(home) / "logs" / "operations" / f"{op_id}.log"


def model_path_for(home: Path, op_id: str) -> Path:
    return Path(home) / "models" / f"{op_id}.joblib"


def start_training(conn: psycopg.Connection, settings: Settings, config: StrategyConfig, session_id: int | None) -> str:
    """Record a training operation and spawn its worker; returns the operation id."""
    op_id = f"train-{uuid.uuid4().hex[:16]}"
    params = {"config": config.model_dump(mode="json"), "model_path": str(model_path_for(settings.home, op_id))}
    return _start(conn, settings, op_id, "training", config, session_id, params)


def start_backtest(
    conn: psycopg.Connection,
    settings: Settings,
    config: StrategyConfig,
    model_path: str | Path,
    session_id: int | None,
    n_trials: int,
) -> str:
    """Record a backtest operation of a trained model and spawn its worker; returns the operation id."""
    op_id = f"backtest-{uuid.uuid4().hex[:16]}"
    params = {"config": config.model_dump(mode="json"), "model_path": str(model_path), "n_trials": max(1, int(n_trials))}
    return _start(conn, settings, op_id, "backtest", config, session_id, params)


def _start(conn, settings, op_id: str, kind: Kind, config, session_id, params: dict) -> str:
    from psycopg.pq import TransactionStatus

    from agentctl.lab.strategy import strategy_hash

    if conn.info.transaction_status != TransactionStatus.IDLE:
        # The worker reads the row from its own connection: it must be committed first.
        raise OperationError("start an operation outside a transaction: its worker must see the committed row")
    log_path = operation_log_path(settings.home, op_id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with conn.transaction():
        conn.execute(_q()["insert_operation"], {
            "id": op_id, "kind": kind, "session_id": session_id, "params": json.dumps(params),
            "dataset": f"{config.dataset.symbol}/{config.dataset.timeframe}", "strategy_hash": strategy_hash(config),
            "log_path": str(log_path),
        })
    _spawn(op_id, log_path, _worker_env(settings))
    return op_id


def _worker_env(settings: Settings) -> dict[str, str]:
    """The caller's environment, pinned to the caller's database and home, without the API key."""
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "AGENTCTL_ANTHROPIC_API_KEY")}
    env["AGENTCTL_HOME"] = str(settings.home)
    env["AGENTCTL_HEARTBEAT_TIMEOUT_S"] = str(settings.heartbeat_timeout_s)
    if settings.database_url:
        env["AGENTCTL_DATABASE_URL"] = settings.database_url
    return env


def _spawn(op_id: str, log_path: Path, env: dict[str, str]) -> None:
    """Launch the detached worker; the short-lived launcher is waited for, so nothing is left to reap."""
    with open(log_path, "ab") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "agentctl.lab.worker", "--detach", op_id],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True, env=env,
        )
    launcher.wait(timeout=60)


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
    failed = _fetch(conn, "fail_operation", {"id": op_id, "error": reason})
    if failed is not None:
        _stop_worker(failed["pid"], failed["host"])  # an overdue or silent worker may still be running
    return get_operation(conn, op_id)


def _failure_reason(row: dict, settings: Settings) -> str | None:
    age, silent = float(row["age_s"]), float(row["silent_s"])
    if age > settings.operation_timeout_s:
        return f"timed out: still {row['status']} after {age:.0f}s (limit {settings.operation_timeout_s:.0f}s)"
    if row["pid"] and row["host"] == socket.gethostname() and not _alive(row["pid"]):
        return f"worker process {row['pid']} died without reporting (see {row['log_path']})"
    if silent > settings.heartbeat_timeout_s:
        what = "never started" if row["status"] == "pending" else f"sent no heartbeat for {silent:.0f}s"
        return f"worker {what} (limit {settings.heartbeat_timeout_s:.0f}s; see {row['log_path']})"
    return None


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def cancel_operation(conn: psycopg.Connection, op_id: str) -> bool:
    """Cancel a pending or running operation and stop its worker; False if it had already ended."""
    row = _fetch(conn, "cancel_operation", {"id": op_id, "error": "cancelled"})
    if row is None:
        return False
    _stop_worker(row["pid"], row["host"])
    return True


def _stop_worker(pid: int | None, host: str | None) -> None:
    # Workers on another host notice the status change at their next heartbeat and exit.
    if not pid or host != socket.gethostname():
        return
    try:
        os.killpg(pid, signal.SIGTERM)  # the worker leads its own process group (its helpers too)
    except (ProcessLookupError, PermissionError):
        pass


def count_trials(conn: psycopg.Connection, symbol: str, timeframe: str) -> int:
    """Distinct strategies trained on a dataset so far (for the deflated Sharpe)."""
    row = _fetch(conn, "trials_on_dataset", {"dataset": f"{symbol}/{timeframe}"})
    return int(row["n"])


def list_operations(conn: psycopg.Connection, limit: int = 20) -> list[dict]:
    """Most recent operations, newest first (summary columns)."""
    with conn.transaction():
        return list(conn.execute(_q()["list_operations"], {"limit": limit}).fetchall())
