"""How many model calls a budget day wastes on invocations the budget stops midway, before and after
invocation-level admission (figures in RELIABILITY.md).

A day runs design invocations until its admission rule refuses one. "first_call" admits when what
is left covers the first call's worst case (the rule before); "invocation" when it covers the
invocation's expected full cost (agentctl.agent.invocation_need). Designs think hard: every reply
uses all of max_tokens, so three calls cost about $0.30 at Sonnet 5.5 prices. A call is wasted
when its invocation is stopped by the budget before it saved anything. Earlier days'
invocations stay as history (the "invocation" rule reads their costs after five of them).
"""

from __future__ import annotations

import pytest
from agent_helpers import bad_config, claude_settings, conn_factory, good_config, new_cycle
from fake_anthropic import fake_anthropic, message, thinking, tool_use

from agentctl.agent import first_call_worst_case, invocation_need, run_design
from agentctl.store.budget import Budget

LIMITS = ("0.70", "0.85", "1.00", "1.15", "1.30", "1.45", "1.60", "1.75")


def _script(fake, i: int, max_tokens: int) -> None:
    cfg = good_config(f"stops-{i}")
    cfg["features"] = [{"function": "RSI", "params": {"timeperiod": 2 + i % 40}}]
    cfg["label"] = {"horizon": 1 + i // 40}
    for reply in (
        message(thinking("A long think."), tool_use("validate_strategy", {"config": bad_config()})),
        message(thinking("Fixing."), tool_use("validate_strategy", {"config": cfg})),
        message(tool_use("save_strategy", {"config": cfg})),
    ):
        reply.output_tokens = max_tokens
        fake.enqueue(reply)


def _day(conn, s, fake, policy: str, limit: str, start: int) -> tuple[int, int, int]:
    """(invocations, calls, wasted calls) of one budget day under `policy`."""
    from decimal import Decimal

    with conn.transaction():  # a new budget day; earlier days' invocations stay as history
        conn.execute("UPDATE agent_actions SET budget_date = NULL")
        conn.execute("DELETE FROM agent_budget")
        conn.execute("UPDATE agent_sessions SET phase = 'idle', completed_at = NOW() WHERE phase <> 'idle'")
    budget = Budget(s)
    budget.set_limit(conn, Decimal(limit))
    invocations = calls = wasted = 0
    for i in range(start, start + 100):
        snap = budget.snapshot(conn)
        if policy == "first_call":
            need = first_call_worst_case(s, "design", snap.date)
        else:
            need, _ = invocation_need(conn, s, "design", snap.date)
        if snap.remaining < need:
            break
        fake.queue.clear()
        _script(fake, i, s.max_tokens)
        sid = new_cycle(conn)
        out = run_design(conn_factory(s), s, sid)
        with conn.transaction():
            n = conn.execute(
                "SELECT count(*) AS n FROM agent_actions WHERE session_id = %s AND tool_name = 'messages.create'", [sid]
            ).fetchone()["n"]
            conn.execute("UPDATE agent_sessions SET phase = 'idle', completed_at = NOW() WHERE id = %s", [sid])
        invocations, calls = invocations + 1, calls + n
        if not out.saved and (out.failure_reason or "").startswith("budget exceeded midway"):
            wasted += n
    return invocations, calls, wasted


@pytest.mark.slow
def test_calls_wasted_by_mid_invocation_budget_stops(settings, fake_anthropic, conn):
    s = claude_settings(settings, fake_anthropic)
    rows = {}
    start = 0
    for policy in ("first_call", "invocation"):
        total = [0, 0, 0]
        for limit in LIMITS:
            inv, n, wasted = _day(conn, s, fake_anthropic, policy, limit, start)
            start += 100
            total = [total[0] + inv, total[1] + n, total[2] + wasted]
        rows[policy] = total
    print(
        f"\nbudget days at limits {LIMITS}: "
        + "; ".join(f"{p}: {inv} invocations, {n} calls, {w} wasted" for p, (inv, n, w) in rows.items())
    )
    assert rows["invocation"][2] == 0
    assert rows["invocation"][2] <= rows["first_call"][2]
