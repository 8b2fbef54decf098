"""The daily budget: reservations, settlement, the hard cap, crash recovery."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agentctl.store.budget import Budget, BudgetExceeded

# The names an orphaned reservation's charge is logged under.
CALL = {"agent": "claude", "call_name": "messages.create"}


@pytest.fixture
def budget(settings):
    return Budget(settings)


def test_ensure_today_uses_default_limit(budget, conn):
    budget.ensure_today(conn)
    snap = budget.snapshot(conn)
    assert snap.limit == Decimal("5.00")
    assert (snap.used, snap.reserved, snap.remaining) == (0, 0, Decimal("5.00"))


def test_stored_default_wins_for_new_days(budget, conn):
    budget.set_default_limit(conn, Decimal("12.5"))
    budget.ensure_today(conn)
    assert budget.snapshot(conn).limit == Decimal("12.5")


def test_a_day_without_a_row_reads_at_the_stored_default(budget, conn):
    """Read-only: nothing creates the day, and its limit is what `budget set --default` said."""
    today = budget.snapshot(conn).date
    tomorrow = today.fromordinal(today.toordinal() + 1)
    assert budget.snapshot(conn, tomorrow).limit == Decimal("5.00")
    budget.set_default_limit(conn, Decimal("3.25"))
    snap = budget.snapshot(conn, tomorrow)
    assert (snap.date, snap.limit, snap.remaining, snap.exists) == (tomorrow, Decimal("3.25"), Decimal("3.25"), False)
    assert conn.execute("SELECT count(*) AS n FROM agent_budget WHERE date = %s", (tomorrow,)).fetchone()["n"] == 0


def test_change_reports_old_and_new_limits(budget, conn):
    budget.ensure_today(conn)
    first = budget.change(conn, Decimal("7.5"))
    assert (first.scope, first.old_limit_usd, first.new_limit_usd, first.used_usd) == ("day", 5.0, 7.5, 0.0)
    default = budget.change(conn, Decimal("2"), default=True)
    assert (default.scope, default.old_limit_usd, default.new_limit_usd) == ("default", 5.0, 2.0)
    with pytest.raises(ValueError, match="in the past"):
        budget.change(conn, Decimal("1"), day=first.date.fromordinal(first.date.toordinal() - 1))


def test_reserve_settle_release(budget, conn):
    r = budget.reserve(conn, Decimal("1.00001"), **CALL)
    assert r.amount == Decimal("1.0001")  # rounded up to the ledger step
    assert budget.snapshot(conn).reserved == Decimal("1.0001")
    with conn.transaction():
        spent = budget.settle(conn, r, Decimal("0.123456"))
    assert spent == Decimal("0.1235")
    snap = budget.snapshot(conn)
    assert (snap.used, snap.reserved, snap.remaining) == (Decimal("0.1235"), 0, Decimal("4.8765"))
    r2 = budget.reserve(conn, Decimal("2"), **CALL)
    with conn.transaction():  # a call that billed nothing settles at 0: its reservation goes back
        assert budget.settle(conn, r2, Decimal(0)) == 0
    snap = budget.snapshot(conn)
    assert (snap.used, snap.reserved) == (Decimal("0.1235"), 0)


def test_reserve_refuses_beyond_limit(budget, conn):
    budget.set_limit(conn, Decimal("1.00"))
    r = budget.reserve(conn, Decimal("0.60"), **CALL)
    with pytest.raises(BudgetExceeded) as err:
        budget.reserve(conn, Decimal("0.50"), **CALL)
    assert "budget set" in str(err.value)
    assert err.value.remaining == Decimal("0.40")
    budget.reserve(conn, Decimal("0.40"), **CALL)  # exactly to the limit is allowed
    with conn.transaction():
        budget.settle(conn, r, Decimal(0))
    assert budget.snapshot(conn).reserved == Decimal("0.40")


def test_expired_reservation_is_charged_at_worst_case(budget, conn):
    r = budget.reserve(conn, Decimal("0.25"), **CALL, model="claude-sonnet-5-5")
    with conn.transaction():
        conn.execute("UPDATE agent_budget_reservations SET expires_at = now() - interval '1 second'")
    assert budget.ensure_today(conn) == 1
    snap = budget.snapshot(conn)
    assert (snap.used, snap.reserved) == (Decimal("0.25"), 0)
    assert budget.day_action_cost(conn, snap.date) == Decimal("0.25")
    row = conn.execute("SELECT tool_name, success, cost_usd, model FROM agent_actions").fetchone()
    assert row == {
        "tool_name": "messages.create",
        "success": False,
        "cost_usd": Decimal("0.25"),
        "model": "claude-sonnet-5-5",
    }
    assert conn.execute("SELECT agent FROM agent_actions").fetchone()["agent"] == "claude"
    conn.rollback()
    # The process was alive after all: the orphan charge stands (the day's spend never goes
    # down), flagged; the late settlement adds only what the real cost exceeds it by.
    with conn.transaction():
        assert budget.settle(conn, r, Decimal("0.01")) == 0
    snap = budget.snapshot(conn)
    assert (snap.used, snap.reserved) == (Decimal("0.25"), 0)
    assert budget.day_action_cost(conn, snap.date) == Decimal("0.25")
    flags = conn.execute("SELECT flags FROM agent_actions").fetchone()["flags"]
    assert flags == ["orphaned", "settled_late"]
    conn.rollback()
    # A real cost above the orphan charge adds the difference, once.
    r2 = budget.reserve(conn, Decimal("0.10"), **CALL, model="claude-sonnet-5-5")
    budget.ensure_today(conn, orphans=True)
    with conn.transaction():
        assert budget.settle(conn, r2, Decimal("0.30")) == Decimal("0.20")
    assert budget.snapshot(conn).used == Decimal("0.25") + Decimal("0.30")


def test_counters(budget, conn):
    budget.count_invocation(conn)
    budget.count_invocation(conn)
    budget.count_cycle(conn, started=True)
    snap = budget.snapshot(conn)
    assert (snap.invocations, snap.cycles_started, snap.cycles_completed) == (2, 1, 0)
    with conn.transaction():  # inside a caller's transaction, as the tick counts a cycle
        budget.count_cycle(conn, started=False)
    assert budget.snapshot(conn).cycles_completed == 1
