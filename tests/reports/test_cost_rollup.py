"""Migration 0005's rollup of billed calls stays equal to the actions it sums."""

from __future__ import annotations

ROLLUP = """SELECT budget_date, model, invocation, calls, cost_usd FROM agent_cost_rollup
            WHERE calls <> 0 OR cost_usd <> 0 ORDER BY 1, 2, 3"""
DIRECT = """SELECT COALESCE(budget_date, (action_at AT TIME ZONE 'UTC')::date) AS budget_date,
                   COALESCE(model, '') AS model, COALESCE(invocation, '') AS invocation,
                   COUNT(*) AS calls, SUM(cost_usd) AS cost_usd
            FROM agent_actions WHERE cost_usd <> 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""


def test_rollup_follows_inserts_refunds_and_deletes(settings, conn, seeded):
    assert conn.execute(ROLLUP).fetchall() == conn.execute(DIRECT).fetchall()
    # A refund (the budget's late settlement zeroes a charge), a re-pricing, a move to another model.
    row = conn.execute("SELECT id FROM agent_actions WHERE cost_usd > 0 ORDER BY id LIMIT 1").fetchone()
    conn.execute("UPDATE agent_actions SET cost_usd = 0 WHERE id = %s", (row["id"],))
    conn.execute(
        "UPDATE agent_actions SET cost_usd = cost_usd + 1 WHERE id = "
        "(SELECT id FROM agent_actions WHERE cost_usd > 0 ORDER BY id DESC LIMIT 1)"
    )
    conn.execute(
        "UPDATE agent_actions SET model = 'claude-opus-4-5' WHERE id = "
        "(SELECT id FROM agent_actions WHERE cost_usd > 0 ORDER BY id LIMIT 1)"
    )
    # An action with no session, no model and no budget date (charged from an expired reservation).
    conn.execute("INSERT INTO agent_actions (tool_name, cost_usd) VALUES ('messages.create', 0.5)")
    # Deleting a cycle cascades to its actions.
    conn.execute("DELETE FROM agent_triggers WHERE session_id = %s", (seeded["failed_assessment"],))
    conn.execute("DELETE FROM agent_sessions WHERE id = %s", (seeded["failed_assessment"],))
    conn.commit()
    assert conn.execute(ROLLUP).fetchall() == conn.execute(DIRECT).fetchall()


def test_cost_by_model_reads_the_rollup(settings, conn, seeded):
    from agentctl.reports.costs import cost_report

    conn.execute(
        "INSERT INTO agent_actions (tool_name, cost_usd, budget_date) VALUES ('messages.create', 0.25, CURRENT_DATE)"
    )
    conn.commit()
    rep = cost_report(conn)
    # Money is a Decimal in the report and a number in its JSON.
    assert {m["name"]: m["cost_usd"] for m in rep.model_dump(mode="json")["by_model"]} == {
        "claude-sonnet-5-5": 0.36,
        "(unknown)": 0.25,
        "claude-haiku-4-5": 0.01,
    }
    assert {p.name: p.calls for p in rep.by_phase} == {"design": 8, "(none)": 1, "assessment": 2}
