"""`cycles --sort`: one bound key orders by each figure, highest first (cost: costliest first), then the newest."""

from __future__ import annotations

import json

import pytest

from agentctl.store import reports as store

# id order of insertion: a, b, c; each best at one figure.
ROWS = {
    "a": {"sharpe": 2.0, "dsr": 0.10, "ret": 0.01, "cost": "0.01"},
    "b": {"sharpe": 0.5, "dsr": 0.99, "ret": -0.20, "cost": "0.50"},
    "c": {"sharpe": 1.0, "dsr": 0.50, "ret": 0.40, "cost": "0.05"},
}


def _seed(conn) -> dict[str, int]:
    ids = {}
    for n, (name, f) in enumerate(ROWS.items()):
        bt = {"sharpe": f["sharpe"], "deflated_sharpe": f["dsr"], "total_return": f["ret"]}
        sid = conn.execute(
            "INSERT INTO agent_sessions (phase, strategy_name, backtest_results, outcome, completed_at)"
            " VALUES ('idle', %s, %s, 'failed_assessment', timestamptz '2026-01-01 00:00+00' + make_interval(hours => %s))"
            " RETURNING id",
            (name, json.dumps(bt), n),
        ).fetchone()["id"]
        conn.execute(
            "INSERT INTO agent_metrics (session_id, backtest_sharpe, estimated_cost_usd, outcome)"
            " VALUES (%s, %s, %s, 'failed_assessment')",
            (sid, f["sharpe"], f["cost"]),
        )
        ids[name] = sid
    conn.commit()
    return ids


@pytest.mark.parametrize(
    ("sort", "order"),
    [("date", "cba"), ("sharpe", "acb"), ("dsr", "bca"), ("return", "cab"), ("cost", "bca")],
)
def test_each_sort_orders_best_first(conn, sort, order):
    ids = _seed(conn)
    got = [line.id for line in store.recent_cycles(conn, 10, sort=sort)]
    assert got == [ids[k] for k in order]


def test_an_unknown_sort_is_refused(conn):
    with pytest.raises(ValueError, match="unknown sort 'name'"):
        store.recent_cycles(conn, 10, sort="name")
