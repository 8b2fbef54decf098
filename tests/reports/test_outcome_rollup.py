"""Migration 0006: the per-outcome rollup always equals the aggregate over agent_metrics."""

from __future__ import annotations

from decimal import Decimal


def _direct(conn) -> dict:
    rows = conn.execute(
        "SELECT outcome, COUNT(*) AS n, COALESCE(SUM(estimated_cost_usd), 0) AS c FROM agent_metrics GROUP BY outcome"
    ).fetchall()
    return {r["outcome"]: (r["n"], Decimal(r["c"])) for r in rows}


def _rollup(conn) -> dict:
    rows = conn.execute(
        "SELECT NULLIF(outcome, '') AS outcome, cycles, cost_usd FROM agent_outcome_rollup WHERE cycles <> 0"
    ).fetchall()
    return {r["outcome"]: (r["cycles"], Decimal(r["cost_usd"])) for r in rows}


def test_rollup_follows_inserts_updates_and_deletes(conn):
    ids = []
    for outcome, cost in [
        ("success", "0.4200"),
        ("success", "0.1000"),
        ("failed_design", "0.0300"),
        (None, None),
        ("cancelled", "0"),
    ]:
        sid = conn.execute(
            "INSERT INTO agent_sessions (phase, outcome) VALUES ('idle', %s) RETURNING id", (outcome,)
        ).fetchone()["id"]
        conn.execute(
            "INSERT INTO agent_metrics (session_id, outcome, estimated_cost_usd) VALUES (%s, %s, %s)",
            (sid, outcome, cost),
        )
        ids.append(sid)
    assert _rollup(conn) == _direct(conn)
    assert _rollup(conn)["success"] == (2, Decimal("0.5200"))

    conn.execute(
        "UPDATE agent_metrics SET outcome = 'failed_backtest', estimated_cost_usd = 0.2 WHERE session_id = %s",
        (ids[1],),
    )
    conn.execute("DELETE FROM agent_metrics WHERE session_id = %s", (ids[2],))
    conn.execute("DELETE FROM agent_sessions WHERE id = %s", (ids[0],))  # cascades to its metrics row
    assert _rollup(conn) == _direct(conn)
    assert "failed_design" not in _rollup(conn) and "success" not in _rollup(conn)
    conn.commit()


def test_cost_report_reads_the_rollup(conn, settings):
    from agentctl.reports.costs import cost_report

    sid = conn.execute(
        "INSERT INTO agent_sessions (phase, outcome) VALUES ('idle', 'success') RETURNING id"
    ).fetchone()["id"]
    conn.execute(
        "INSERT INTO agent_metrics (session_id, outcome, estimated_cost_usd) VALUES (%s, 'success', 1.5)", (sid,)
    )
    conn.commit()
    report = cost_report(conn)
    assert [(o.outcome, o.cycles) for o in report.by_outcome] == [("success", 1)]
