"""Shared test helpers for the agent: sessions, configs, settings pointed at the fake API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import SecretStr

from agentctl.store.budget import Budget

SENTINEL_KEY = "sk-ant-SENTINEL-0123456789abcdef-never-store-me"


def good_config(name: str = "rsi-reversion-1h") -> dict:
    return {
        "name": name,
        "hypothesis": "Short-term RSI extremes mean-revert on hourly bars.",
        "dataset": {"symbol": "AAPL", "timeframe": "1h"},
        "features": [
            {"function": "RSI", "params": {"timeperiod": 14}},
            {"function": "BBANDS", "params": {"timeperiod": 20}},
        ],
        "model": {"family": "logistic_regression"},
        # A low bar to enter, so the model trades on the sealed final holdout too (the confirming test needs trades).
        "trading": {"confidence": 0.34},
    }


def bad_config() -> dict:
    cfg = good_config()
    cfg["features"] = [{"function": "RSX", "params": {"timeperiod": 14}}]
    return cfg


def claude_settings(settings, fake, **overrides):
    values = {
        "agent": "claude",
        "anthropic_api_key": SecretStr(SENTINEL_KEY),
        "anthropic_base_url": fake.url,
        "api_call_timeout_s": 5.0,
        "api_retry_cap_s": 2.0,
        "default_budget_usd": Decimal("5.00"),
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def new_cycle(conn, phase: str = "designing", **fields) -> int:
    cols = ["phase", *fields]
    with conn.transaction():
        return conn.execute(
            f"INSERT INTO agent_sessions ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) RETURNING id",
            [phase, *fields.values()],
        ).fetchone()["id"]


def conn_factory(settings):
    from agentctl.store import connect

    return lambda: connect(settings)


def actions(conn, session_id: int | None = None) -> list[dict]:
    sql = "SELECT * FROM agent_actions {} ORDER BY id".format("WHERE session_id = %s" if session_id else "")
    with conn.transaction():
        return conn.execute(sql, [session_id] if session_id else []).fetchall()


def finish(conn, session_id: int, outcome: str = "failed_training") -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE agent_sessions SET phase = 'idle', outcome = %s, completed_at = now() WHERE id = %s",
            [outcome, session_id],
        )


@pytest.fixture
def claude(settings, fake_anthropic, conn):
    """A factory of (Claude's settings against the fake API, a connection factory, a new cycle in `designing`)."""

    def make(**overrides):
        s = claude_settings(settings, fake_anthropic, **overrides)
        return s, conn_factory(s), new_cycle(conn)

    return make


def calls(conn, sid: int) -> list[dict]:
    """The cycle's billed API calls, in order."""
    return [r for r in actions(conn, sid) if r["tool_name"] == "messages.create"]


def ledger_exact(conn, s):
    """Nothing left reserved, and the day's spend is exactly the sum of its recorded calls; the day's snapshot."""
    snap = Budget(s).snapshot(conn)
    assert snap.reserved == 0
    assert snap.used == Budget(s).day_action_cost(conn, snap.date) >= 0
    return snap
