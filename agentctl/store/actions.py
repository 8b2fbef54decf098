"""The audit log of money: one agent_actions row per model call or tool call (SQL in sql/budget.sql)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from agentctl.store import storable
from agentctl.store.queries import load

if TYPE_CHECKING:
    import psycopg

_sql = load("budget")

MAX_TEXT = 4000  # error messages and logged text are cut to this
# The audit columns' widths (migration 0009): a longer value is cut and the row flagged,
# never allowed to fail the settlement it is written with.
COLUMN_WIDTH = {"request_id": 255, "stop_reason": 100, "model": 100, "tool_name": 100}

# Texts that must never reach a row (the API key): a provider's secret is hidden here once
# it is opened, and every text of every action row is searched for it.
_SECRETS: set[str] = set()
REDACTED = "[redacted]"


def fit(text: str, width: int) -> str:
    """`text` cut to `width`, ending in a digest of the whole so two long ids stay two ids."""
    if len(text) <= width:
        return text
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[: width - 17]}~{digest}"


def hide(secret: str) -> None:
    """Never store `secret` in an action row (too short a string would hide too much: ignored)."""
    if secret and len(secret) >= 8:
        _SECRETS.add(secret)


def redact(value: Any) -> Any:
    """`value` (text or JSON-like) with every hidden secret replaced."""
    if not _SECRETS:
        return value
    if isinstance(value, str):
        for secret in _SECRETS:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {redact(str(k)): redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


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
    charge_basis: Literal["usage", "reservation", "none"] | None = None  # a model call's: how it was charged
    flags: list[str] = []


def _json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    # Model output is untrusted: NUL, lone surrogates and 1e309 must not fail the write. Cleaned
    # first (which also cuts input nested too deep), then redacted: the key is never stored.
    return None if value is None else Jsonb(redact(storable.json_value(value)))


def insert_action(conn: psycopg.Connection[Any], row: ActionRow) -> int:
    """Insert one action row; returns its id."""
    params = row.model_dump()
    flags = list(row.flags)
    for key, width in COLUMN_WIDTH.items():
        value = params[key]
        if value is not None:
            params[key] = fit(str(storable.text(redact(str(value)))), width)
            if params[key] != value:
                flags.append(f"{key}_truncated")
    params["tool_args"] = _json(row.tool_args)
    params["tool_result"] = _json(row.tool_result)
    if row.error_message:
        params["error_message"] = storable.text(redact(row.error_message)[:MAX_TEXT])
    params["flags"] = [str(storable.text(redact(f)))[:200] for f in flags] or None
    with conn.transaction():
        action_id: int = _sql.one(conn, "insert_action", params)["id"]
    return action_id


def invocation_cost(
    conn: psycopg.Connection[Any], *, invocation: str, agent: str, call_name: str, quantile: float, window: int
) -> tuple[int, Decimal]:
    """How many recent invocations of this kind there are (at most `window`) and the `quantile` of their full cost."""
    params = {"invocation": invocation, "agent": agent, "call_name": call_name, "quantile": quantile, "window": window}
    with conn.transaction():
        row = _sql.maybe(conn, "invocation_cost_percentile", params)
    if row is None:
        return 0, Decimal(0)
    return int(row["n"]), Decimal(str(row["cost"]))
