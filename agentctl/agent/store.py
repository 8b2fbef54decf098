"""The agent's database operations (queries in agentctl/store/sql/agent.sql)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

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


def _q():
    from agentctl.store.queries import load

    return load("agent")


def _json(value: Any):
    from psycopg.types.json import Jsonb

    from agentctl.store import storable

    # Model output is untrusted: NUL, lone surrogates and 1e309 must not fail the write.
    return None if value is None else Jsonb(storable.json_value(value))


def insert_action(conn: psycopg.Connection, row: ActionRow) -> int:
    from agentctl.store import storable

    params = row.model_dump()
    params["tool_name"] = storable.text(row.tool_name)
    params["tool_args"] = _json(row.tool_args)
    params["tool_result"] = _json(row.tool_result)
    if row.error_message:
        params["error_message"] = storable.text(row.error_message[:MAX_TEXT])
    with conn.transaction():
        return conn.execute(_q()["insert_action"], params).fetchone()["id"]


def session(conn: psycopg.Connection, session_id: int) -> dict | None:
    with conn.transaction():
        return conn.execute(_q()["session"], {"id": session_id}).fetchone()


def hash_tried_by(conn: psycopg.Connection, strategy_hash: str, session_id: int) -> dict | None:
    with conn.transaction():
        return conn.execute(_q()["hash_tried_by"], {"hash": strategy_hash, "session_id": session_id}).fetchone()


def record_strategy(
    conn: psycopg.Connection, session_id: int, *, name: str, config: dict, path: str, strategy_hash: str
) -> bool:
    """Store the saved strategy on a session still designing; False if it moved on."""
    with conn.transaction():
        row = conn.execute(
            _q()["record_strategy"],
            {"id": session_id, "name": name, "config": _json(config), "path": path, "hash": strategy_hash},
        ).fetchone()
    return row is not None


def record_assessment(conn: psycopg.Connection, session_id: int, assessment: dict) -> bool:
    """Store the assessment on a session still assessing; False if it moved on."""
    with conn.transaction():
        row = conn.execute(_q()["record_assessment"], {"id": session_id, "assessment": _json(assessment)}).fetchone()
    return row is not None


def research_memory(conn: psycopg.Connection, session_id: int, limit: int) -> list[dict]:
    if limit <= 0:
        return []
    with conn.transaction():
        return conn.execute(_q()["research_memory"], {"session_id": session_id, "limit": limit}).fetchall()


def strategies_tried(conn: psycopg.Connection) -> int:
    with conn.transaction():
        return conn.execute(_q()["strategies_tried"]).fetchone()["n"]
