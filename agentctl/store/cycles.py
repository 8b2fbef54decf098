"""Cycles: the agent_sessions, agent_triggers and agent_metrics rows (SQL in sql/cycles.sql)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentctl.store import storable
from agentctl.store.queries import load

if TYPE_CHECKING:
    import psycopg

_q = load("cycles")


def _json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    # Model output is untrusted: NUL, lone surrogates and 1e309 must not fail the write.
    return None if value is None else Jsonb(storable.json_value(value))


def session(conn: psycopg.Connection, session_id: int) -> dict | None:
    with conn.transaction():
        return conn.execute(_q["session"], {"id": session_id}).fetchone()


def hash_tried_by(conn: psycopg.Connection, strategy_hash: str, session_id: int) -> dict | None:
    with conn.transaction():
        return conn.execute(_q["hash_tried_by"], {"hash": strategy_hash, "session_id": session_id}).fetchone()


def record_strategy(
    conn: psycopg.Connection, session_id: int, *, name: str, config: dict, path: str, strategy_hash: str
) -> bool:
    """Store the saved strategy on a session still designing; False if it moved on."""
    with conn.transaction():
        row = conn.execute(
            _q["record_strategy"],
            {"id": session_id, "name": name, "config": _json(config), "path": path, "hash": strategy_hash},
        ).fetchone()
    return row is not None


def record_assessment(conn: psycopg.Connection, session_id: int, assessment: dict) -> bool:
    """Store the assessment on a session still assessing; False if it moved on."""
    with conn.transaction():
        row = conn.execute(_q["record_assessment"], {"id": session_id, "assessment": _json(assessment)}).fetchone()
    return row is not None


def research_memory(conn: psycopg.Connection, session_id: int, limit: int) -> list[dict]:
    if limit <= 0:
        return []
    with conn.transaction():
        return conn.execute(_q["research_memory"], {"session_id": session_id, "limit": limit}).fetchall()


def strategies_tried(conn: psycopg.Connection) -> int:
    with conn.transaction():
        return conn.execute(_q["strategies_tried"]).fetchone()["n"]
