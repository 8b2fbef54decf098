"""Lab operations: the lab_operations rows (SQL in sql/operations.sql).

One function per statement. Every state change is guarded by the status it
expects; None (or False) means the row was not there to move. Each function
runs in a transaction block (`@atomic`), so a connection that is not in
autocommit mode is left idle, not mid-transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from agentctl.domain import Gate
from agentctl.store.queries import atomic, load

if TYPE_CHECKING:
    import psycopg

Status = Literal["pending", "running", "completed", "failed", "cancelled"]
ACTIVE = ("pending", "running")
MAX_ERROR = 2000

_sql = load("operations")


class Operation(BaseModel):
    """One training, backtest or final holdout run as recorded in lab_operations."""

    id: str
    kind: Gate
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
    node_id: str | None = None  # the Ray node that ran it (ray executor only)
    log_path: str | None = None
    dataset: str | None = None
    strategy_hash: str | None = None
    # As of the read, from the database's clock (set by `get` only).
    age_s: float = 0.0  # since the row was created
    silent_s: float = 0.0  # since the last heartbeat (or start, or creation)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def _operation(row: dict[str, Any] | None) -> Operation | None:
    return None if row is None else Operation.model_validate(row)


@atomic
def insert(
    conn: psycopg.Connection[Any],
    *,
    op_id: str,
    kind: Gate,
    cycle_id: int | None,
    params: dict[str, Any],
    dataset: str,
    strategy_hash: str,
    log_path: str | None,
) -> None:
    """Record a pending operation (status 'pending', progress message 'queued')."""
    from psycopg.types.json import Jsonb

    row = {
        "id": op_id,
        "kind": kind,
        "session_id": cycle_id,
        "params": Jsonb(params),
        "dataset": dataset,
        "strategy_hash": strategy_hash,
        "log_path": log_path,
    }
    _sql.run(conn, "insert_operation", row)


@atomic
def get(conn: psycopg.Connection[Any], op_id: str) -> Operation | None:
    """The operation as recorded, with its age and silence, or None."""
    return _operation(_sql.maybe(conn, "get_operation", {"id": op_id}))


@atomic
def claim(conn: psycopg.Connection[Any], op_id: str, pid: int, host: str) -> Operation | None:
    """The worker takes its pending operation; None if it was cancelled or already claimed."""
    return _operation(_sql.maybe(conn, "claim_operation", {"id": op_id, "pid": pid, "host": host}))


@atomic
def set_node(conn: psycopg.Connection[Any], op_id: str, node_id: str) -> None:
    """Record the cluster node the operation's worker runs on."""
    _sql.run(conn, "set_node", {"id": op_id, "node_id": node_id})


@atomic
def heartbeat(conn: psycopg.Connection[Any], op_id: str) -> bool:
    """Mark the running operation alive; False if it is no longer running."""
    return _sql.maybe(conn, "heartbeat", {"id": op_id}) is not None


@atomic
def set_progress(conn: psycopg.Connection[Any], op_id: str, pct: float, message: str) -> bool:
    """Record progress (clamped to 0-100, message cut to 200 characters); False if no longer running."""
    params = {"id": op_id, "pct": max(0.0, min(100.0, pct)), "message": message[:200]}
    return _sql.maybe(conn, "set_progress", params) is not None


@atomic
def complete(conn: psycopg.Connection[Any], op_id: str, result: dict[str, Any]) -> bool:
    """Store the result of a running operation; False if it was no longer running (cancelled?)."""
    from psycopg.types.json import Jsonb

    return _sql.maybe(conn, "complete_operation", {"id": op_id, "result": Jsonb(result)}) is not None


@atomic
def fail(conn: psycopg.Connection[Any], op_id: str, error: str) -> Operation | None:
    """Fail a pending or running operation with its reason; None if it had already ended."""
    return _operation(_sql.maybe(conn, "fail_operation", {"id": op_id, "error": error[:MAX_ERROR]}))


@atomic
def cancel(conn: psycopg.Connection[Any], op_id: str) -> Operation | None:
    """Cancel a pending or running operation; None if it had already ended."""
    return _operation(_sql.maybe(conn, "cancel_operation", {"id": op_id, "error": "cancelled"}))
