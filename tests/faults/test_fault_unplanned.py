"""Money under faults nobody planned for: one test per fault the independent fake found.

Each goes through the real SDK against tests/fake_anthropic.py and a real PostgreSQL:
counts no request could produce, a body that never arrives whole, a database that goes
away between a reply and its row, a tick that loses its lock mid-call, a model that is
not the one asked for, and an account that cannot pay.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import psycopg
import pytest
from agent_helpers import SENTINEL_KEY, bad_config, calls, claude, good_config, ledger_exact
from fake_anthropic import (
    before,
    broken_body,
    credit_exhausted,
    fake_anthropic,
    message,
    patched,
    script_design,
    tool_use,
)
from test_fault_money import reserved, save
from tickutil import tick

from agentctl import pricing
from agentctl.agent import run_design
from agentctl.domain import ExitCode, Outcome, SkipReason
from agentctl.store import cycles
from agentctl.store.budget import Budget, Fence, FencedOut
from agentctl.store.cycles import TICK_LOCK_KEY

pytestmark = pytest.mark.heavy

__all__ = ["claude", "fake_anthropic"]  # the fixtures, imported for pytest


def usage(**counts) -> dict:
    return {"input_tokens": 100, "output_tokens": 40, **counts}


# ---- counts beyond any request: never believed, never an overflow ------------------------


@pytest.mark.parametrize(
    "counts, flag",
    [
        ({"output_tokens": 2**31}, "usage_out_of_range:output_tokens"),
        ({"output_tokens": 2**31 - 1}, "usage_out_of_range:output_tokens"),
        ({"input_tokens": 10**12}, "usage_out_of_range:input_tokens"),
        ({"cache_read_input_tokens": 10**12}, "usage_out_of_range:cache_read_input_tokens"),
        ({"cache_creation_input_tokens": 10**12}, "usage_out_of_range:cache_creation_input_tokens"),
        ({"input_tokens": 10**30}, "usage_out_of_range:input_tokens"),
        ({"output_tokens": 1e30}, "usage_not_integer:output_tokens"),
    ],
)
def test_a_count_out_of_range_is_charged_at_the_reservation_and_keeps_its_figure(
    claude, fake_anthropic, conn, counts, flag
):
    s, factory, sid = claude()
    fake_anthropic.enqueue(patched(save(), usage=usage(**counts)))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert row["request_id"] == fake_anthropic.billed[0]
    assert flag in row["flags"] and row["charge_basis"] == "reservation"
    assert row["cost_usd"] == reserved(row) < Decimal("1")  # the $0.19 worst case, not $23,622
    key, raw = next(iter(counts.items()))
    assert float(row["tool_result"]["usage"][key]) == float(raw)  # the raw figure stays on the row
    assert row["tokens_output"] <= s.max_tokens
    ledger_exact(conn, s)


def test_a_count_above_the_request_bounds_is_cut_to_them_and_flagged(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(patched(save(), usage=usage(output_tokens=50_000_000, input_tokens=90_000_000)))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert {"output_above_max_tokens", "prompt_above_request_size", "raw:output_tokens=50000000"} <= set(row["flags"])
    assert row["tokens_output"] == s.max_tokens and row["tokens_input"] < 90_000_000
    assert row["cost_usd"] == reserved(row) and row["charge_basis"] == "reservation"
    assert Budget(s).snapshot(conn).overrun_at is None
    ledger_exact(conn, s)


def test_pricing_never_traps_on_a_huge_amount():
    price = pricing.price_for("claude-sonnet-5-5", pricing.PRICE_TABLE_CHECKED)
    huge = pricing.TokenUsage(input_tokens=10**30)
    assert pricing.to_ledger(pricing.cost(price, huge)) == Decimal(2 * 10**24)


def test_free_model_and_two_huge_replies_end_the_cycle_with_metrics(claude, fake_anthropic, conn):
    # Price 0 reserves nothing; sums of counts at the INT limit must not overflow the cycle's costs.
    free = {"claude-free-1": {"input": "0", "output": "0"}}
    s, factory, sid = claude(design_model="claude-free-1", price_overrides=free)
    big = usage(output_tokens=2**31 - 1)
    fake_anthropic.enqueue(
        patched(message(tool_use("validate_strategy", {"config": good_config()})), usage=big),
        patched(save(), usage=big),
    )
    assert run_design(factory, s, sid).saved
    with conn.transaction():  # two rows already at the INT limit, as an older version could store
        conn.execute(
            "INSERT INTO agent_actions (session_id, tool_name, agent, tokens_input, tokens_output, cost_usd) "
            "VALUES (%(s)s, 'messages.create', 'claude', 2147483647, 2147483647, 0),"
            " (%(s)s, 'messages.create', 'claude', 2147483647, 2147483647, 0)",
            {"s": sid},
        )
    from agentctl.tick.finish import Ending, finish

    cycle = cycles.get(conn, sid)
    finish(conn, s, cycle, Ending(Outcome.FAILED_DESIGN, "test"), None)
    m = conn.execute("SELECT * FROM agent_metrics WHERE session_id = %s", [sid]).fetchone()
    assert m["total_tokens_output"] == 2147483647 and m["estimated_cost_usd"] == 0


# ---- a billed body that never arrives whole -----------------------------------------------


@pytest.mark.parametrize("kind", ["cut", "cut_chunked", "bad_gzip", "stall"])
def test_a_body_lost_after_the_headers_is_billed_and_retried(claude, fake_anthropic, conn, kind, caplog):
    s, factory, sid = claude(api_call_timeout_s=2.0)
    fake_anthropic.enqueue(broken_body(save(), kind, stall_s=10))
    fake_anthropic.enqueue(save())
    assert run_design(factory, s, sid).saved
    first, second = calls(conn, sid)
    assert first["request_id"] == fake_anthropic.billed[0] and first["request_id"] is not None
    assert not first["success"] and first["charge_basis"] == "reservation"
    assert first["cost_usd"] == reserved(first) > 0
    assert second["success"] and second["attempt"] == 2
    assert "Traceback" not in caplog.text and "unexpectedly" not in caplog.text
    ledger_exact(conn, s)


# ---- the database goes away between a reply and its row -----------------------------------


def _kill_other_backends(url: str, keep: int) -> None:
    """What a restart does to every client: their connections die (the test's own, `keep`, survives)."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [keep],
        )


def test_a_lost_database_connection_is_replaced_and_the_row_written(claude, fake_anthropic, conn, db_url):
    s, factory, sid = claude()
    fake_anthropic.enqueue(before(save(), lambda: _kill_other_backends(db_url, conn.info.backend_pid)))
    conn.commit()
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert row["request_id"] == fake_anthropic.billed[0] and row["charge_basis"] == "usage"
    assert conn.execute("SELECT count(*) AS n FROM agent_actions WHERE 'orphaned' = ANY(flags)").fetchone()["n"] == 0
    ledger_exact(conn, s)


# ---- a tick that loses its lock stops ------------------------------------------------------


def _tick_env(fake) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "AGENTCTL_AGENT": "claude",
            "ANTHROPIC_API_KEY": SENTINEL_KEY,
            "AGENTCTL_ANTHROPIC_BASE_URL": fake.url,
            "AGENTCTL_API_CALL_TIMEOUT_S": "60",
        }
    )
    return env


def _take_over(db_url: str, env: dict) -> None:
    """Kill the lock holder's lock connection, then run a second tick to completion."""
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            [TICK_LOCK_KEY],
        )
    second = subprocess.run([sys.executable, "-m", "agentctl", "tick"], env=env, capture_output=True, timeout=120)
    assert second.returncode == 0 and b"Traceback" not in second.stderr, second.stderr


def test_a_tick_that_lost_its_lock_makes_no_further_call_and_never_lowers_the_spend(
    settings, conn, fake_anthropic, db_url
):
    env = _tick_env(fake_anthropic)
    fake_anthropic.enqueue(
        before(message(tool_use("validate_strategy", {"config": good_config()})), lambda: _take_over(db_url, env)),
        save(),  # what the first tick would have asked next, had it gone on
    )
    first = subprocess.run([sys.executable, "-m", "agentctl", "tick"], env=env, capture_output=True, timeout=180)
    assert first.returncode == ExitCode.TEMPFAIL, first.stderr
    assert b"Traceback" not in first.stderr and b"lost the tick lock" in first.stderr
    assert len(fake_anthropic.message_requests) == 1  # no call after the lock was lost
    conn.commit()
    [cycle] = conn.execute("SELECT * FROM agent_sessions").fetchall()
    assert cycle["outcome"] == Outcome.FAILED_DESIGN.value  # ended once, by the tick that took over
    rows = conn.execute("SELECT * FROM agent_actions WHERE tool_name = 'messages.create' ORDER BY id").fetchall()
    orphan, late = rows
    assert orphan["flags"] == ["orphaned", "settled_late"] and orphan["cost_usd"] > 0
    assert late["request_id"] == fake_anthropic.billed[0] and "after_orphan_charge" in late["flags"]
    assert late["cost_usd"] == 0  # its real cost was below the orphan charge, which stands
    day = Budget(settings).snapshot(conn)
    assert day.used == orphan["cost_usd"] and day.reserved == 0
    m = conn.execute("SELECT estimated_cost_usd FROM agent_metrics WHERE session_id = %s", [cycle["id"]]).fetchone()
    assert m["estimated_cost_usd"] == orphan["cost_usd"] + late["cost_usd"]
    assert (
        conn.execute("SELECT count(*) AS n FROM agent_actions WHERE tool_name <> 'messages.create'").fetchone()["n"]
        == 0
    )  # the fenced tick ran no tool


def test_a_fence_whose_lock_is_gone_refuses(conn):
    with pytest.raises(FencedOut), conn.transaction():
        Fence(pid=conn.info.backend_pid, key=TICK_LOCK_KEY).check(conn)
    assert cycles.try_lock(conn)
    with conn.transaction():
        Fence(pid=conn.info.backend_pid, key=TICK_LOCK_KEY).check(conn)
    cycles.unlock(conn)


# ---- another model than the one asked for ----------------------------------------------------


def test_a_substituted_model_is_charged_at_the_dearer_price_and_flagged(claude, fake_anthropic, conn):
    s, factory, sid = claude(design_model="claude-sonnet-5-5")
    fake_anthropic.enqueue(patched(save(), model="claude-opus-5-5", usage=usage(input_tokens=1000, output_tokens=500)))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    opus = pricing.price_for("claude-opus-5-5", pricing.PRICE_TABLE_CHECKED)
    expected = pricing.to_ledger(pricing.cost(opus, pricing.TokenUsage(input_tokens=1000, output_tokens=500)))
    assert row["cost_usd"] == expected  # 2x the requested model's price
    assert {"model_substituted", "served_by:claude-opus-5-5"} <= set(row["flags"])
    ledger_exact(conn, s)


def test_an_unpriced_substitute_is_charged_at_least_the_reservation(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(patched(save(), model="claude-mystery-9"))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert "served_model_unpriced" in row["flags"] and row["cost_usd"] >= reserved(row)
    ledger_exact(conn, s)


def test_a_dated_name_of_the_same_model_is_not_a_substitution(claude, fake_anthropic, conn):
    s, factory, sid = claude(design_model="claude-sonnet-5-5")
    fake_anthropic.enqueue(patched(save(), model="claude-sonnet-5-5-20261101"))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert not row["flags"] and row["charge_basis"] == "usage"


# ---- what no retry can fix reaches a person ---------------------------------------------------


def test_credit_exhausted_needs_a_person_until_resume(settings, conn, fake_anthropic):
    from agentctl.agent.admission import why_no_new_cycle
    from agentctl.store import admission

    env = {k: v for k, v in _tick_env(fake_anthropic).items() if k.startswith(("AGENTCTL_", "ANTHROPIC_"))}
    fake_anthropic.enqueue(credit_exhausted())
    first = tick(**env)
    assert first.exit_code == ExitCode.NEEDS_PERSON and "credit" in first.message
    assert len(fake_anthropic.message_requests) == 1  # no retry: retrying cannot help
    [(reason, why)] = why_no_new_cycle(conn, settings)
    assert reason is SkipReason.AGENT_MISCONFIGURED and "agentctl resume" in why
    again = tick(**env)  # the next tick asks nothing of the API and still needs the person
    assert again.exit_code == ExitCode.NEEDS_PERSON and len(fake_anthropic.message_requests) == 1
    admission.resume(conn)
    assert why_no_new_cycle(conn, settings) == []


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_revoked_key_or_missing_model_needs_a_person(settings, conn, fake_anthropic, status):
    from fake_anthropic import fault

    from agentctl.agent.admission import why_no_new_cycle

    env = {k: v for k, v in _tick_env(fake_anthropic).items() if k.startswith(("AGENTCTL_", "ANTHROPIC_"))}
    fake_anthropic.enqueue(fault(status))
    assert tick(**env).exit_code == ExitCode.NEEDS_PERSON
    assert [r for r, _ in why_no_new_cycle(conn, settings)] == [SkipReason.AGENT_MISCONFIGURED]


def test_the_breaker_does_not_count_ticks_killed_mid_design(settings, conn):
    from agentctl.agent.admission import circuit
    from agentctl.store import admission
    from agentctl.tick import Tick

    # Each time, a tick died designing: the next tick ends that cycle, blamed on the interruption.
    for _ in range(settings.circuit_breaker_failures + 1):
        with conn.transaction():
            conn.execute("INSERT INTO agent_sessions (phase) VALUES ('designing')")
        assert Tick(settings).run().outcome == "failed_design"
    blames = conn.execute("SELECT DISTINCT failure_blame FROM agent_sessions").fetchall()
    assert [r["failure_blame"] for r in blames] == ["interrupted"]
    assert circuit(conn, settings, admission.state(conn)) is None


def test_the_scripted_design_still_runs_after_every_fault(claude, fake_anthropic, conn):
    # The faults above change nothing for a healthy reply: the ordinary design, unflagged.
    s, factory, sid = claude()
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(factory, s, sid).saved
    assert all(not r["flags"] and r["charge_basis"] == "usage" for r in calls(conn, sid))
    ledger_exact(conn, s)
