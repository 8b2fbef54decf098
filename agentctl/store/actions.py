"""The audit log of money: one agent_actions row per model call or tool call (SQL in sql/budget.sql)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.store import storable
from agentctl.store.queries import load

if TYPE_CHECKING:
    import psycopg

MAX_TEXT = 4000  # error messages and logged text are cut to this


class ActionRow(BaseModel):
    """One agent_actions row: a model call or a tool call."""

    session_id: int | None
    tool_name: str
    agent: str
    invocation: str
    tool_args: Any = None
    tool_result: Any = None
    success: bool = True
    error_message: str | None = None
    tokens_input: int = 0
    tokens_output: int = 0
    tokens_cache_write: int | None = None
    tokens_cache_read: int | None = None
    model: str | None = None
    cost_usd: Decimal = Decimal(0)
    budget_date: date | None = None
    latency_ms: int | None = None
    request_id: str | None = None
    stop_reason: str | None = None
    attempt: int | None = None


def _json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    # Model output is untrusted: NUL, lone surrogates and 1e309 must not fail the write.
    return None if value is None else Jsonb(storable.json_value(value))


def insert_action(conn: psycopg.Connection[Any], row: ActionRow) -> int:
    """Insert one action row; returns its id."""
    params = row.model_dump()
    params["tool_name"] = storable.text(row.tool_name)
    params["tool_args"] = _json(row.tool_args)
    params["tool_result"] = _json(row.tool_result)
    if row.error_message:
        params["error_message"] = storable.text(row.error_message[:MAX_TEXT])
    with conn.transaction():
        inserted = conn.execute(load("budget")["insert_action"], params).fetchone()
    assert inserted is not None, "INSERT ... RETURNING always returns the new row"
    action_id: int = inserted["id"]
    return action_id
