"""The seed's four "Useful Queries", run verbatim, return the right rows."""

from __future__ import annotations

from decimal import Decimal

from schema_contract import useful_queries


def _seed_rows(conn) -> dict[str, int]:
    ids = {}
    for name, outcome, sharpe, cost, completed in [
        ("sma_cross", "success", "1.2500", "0.4200", "2026-11-20 10:00+00"),
        ("rsi_revert", "failed_backtest_gate", None, "0.1000", "2026-11-21 10:00+00"),
        ("macd_trend", "success", "0.8000", "0.6000", "2026-11-22 10:00+00"),
    ]:
        sid = conn.execute(
            "INSERT INTO agent_sessions (phase, strategy_name, outcome, completed_at) "
            "VALUES ('idle', %s, %s, %s) RETURNING id",
            (name, outcome, completed),
        ).fetchone()["id"]
        conn.execute(
            "INSERT INTO agent_metrics (session_id, outcome, backtest_sharpe, estimated_cost_usd, cycle_completed_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            (sid, outcome, sharpe, cost, completed),
        )
        ids[name] = sid
    ids["active"] = conn.execute(
        "INSERT INTO agent_sessions (phase, strategy_name) VALUES ('training', 'live_one') RETURNING id"
    ).fetchone()["id"]
    conn.execute("INSERT INTO agent_budget (date, budget_used_usd) VALUES (CURRENT_DATE, 1.1200)")
    conn.execute("INSERT INTO agent_budget (date, budget_used_usd) VALUES (CURRENT_DATE - 1, 3.0000)")
    conn.commit()
    return ids


def test_the_four_queries_are_in_the_seed():
    assert list(useful_queries()) == [
        "Current cycle status",
        "Recent completed cycles",
        "Today's budget status",
        "Cost per successful strategy",
    ]


def test_useful_queries_return_the_right_rows(conn):
    ids = _seed_rows(conn)
    q = useful_queries()

    current = conn.execute(q["Current cycle status"]).fetchall()
    assert [(r["id"], r["phase"], r["strategy_name"]) for r in current] == [(ids["active"], "training", "live_one")]

    recent = conn.execute(q["Recent completed cycles"]).fetchall()
    assert [(r["strategy_name"], r["outcome"], r["backtest_sharpe"], r["estimated_cost_usd"]) for r in recent] == [
        ("macd_trend", "success", Decimal("0.8000"), Decimal("0.6000")),
        ("rsi_revert", "failed_backtest_gate", None, Decimal("0.1000")),
        ("sma_cross", "success", Decimal("1.2500"), Decimal("0.4200")),
    ]

    today = conn.execute(q["Today's budget status"]).fetchall()
    assert len(today) == 1
    assert today[0]["budget_used_usd"] == Decimal("1.1200")
    assert today[0]["budget_limit_usd"] == Decimal("5.0000")

    (cost,) = conn.execute(q["Cost per successful strategy"]).fetchall()
    assert cost["avg"] == Decimal("0.51")
    assert cost["count"] == 2
