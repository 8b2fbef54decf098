"""Trigger-table rows that start no work: skips, a held lock, an interrupted design."""

from __future__ import annotations

import psycopg
from tickutil import check_invariants, run_tick_process, session, tick, triggers

from agentctl.tick import TICK_LOCK_KEY


def test_budget_exhausted_starts_nothing(conn):
    conn.execute("INSERT INTO agent_budget (date, budget_limit_usd, budget_used_usd) VALUES (CURRENT_DATE, 1, 1)")
    conn.commit()
    r = tick()
    assert (r.trigger_reason, r.skip_reason, r.agent_invoked, r.exit_code) == (
        "start_new_cycle",
        "budget_exceeded",
        False,
        0,
    )
    (t,) = triggers(conn)
    assert (t["trigger_reason"], t["agent_invoked"], t["skip_reason"], t["session_id"]) == (
        "start_new_cycle",
        False,
        "budget_exceeded",
        None,
    )
    assert t["budget_remaining_usd"] == 0 and t["budget_used_today_usd"] == 1
    assert t["context"]["budget"]["limit"] == "1.0000"
    assert session(conn) is None


def test_paused_and_cycle_limit_start_nothing(conn):
    assert tick(AGENTCTL_PAUSED="true").skip_reason == "paused"
    conn.execute(
        "INSERT INTO agent_budget (date, cycles_started) VALUES (CURRENT_DATE, 3) "
        "ON CONFLICT (date) DO UPDATE SET cycles_started = 3"
    )
    conn.commit()
    assert tick(AGENTCTL_DAILY_CYCLE_LIMIT="3").skip_reason == "cycle_limit"
    rows = [(t["trigger_reason"], t["agent_invoked"], t["skip_reason"]) for t in triggers(conn)]
    assert rows == [("start_new_cycle", False, "paused"), ("start_new_cycle", False, "cycle_limit")]
    assert session(conn) is None


def test_a_session_left_in_designing_ends_failed_design(conn):
    sid = conn.execute("INSERT INTO agent_sessions (phase) VALUES ('designing') RETURNING id").fetchone()["id"]
    conn.commit()
    r = tick()
    assert (r.trigger_reason, r.skip_reason, r.outcome) == ("gate_check", "session_interrupted", "failed_design")
    s = session(conn, sid)
    assert s["phase"] == "idle" and s["outcome"] == "failed_design" and s["completed_at"] is not None
    assert "died" in s["failure_reason"]
    (t,) = triggers(conn, sid)
    assert (t["trigger_reason"], t["skip_reason"], t["agent_invoked"]) == ("gate_check", "session_interrupted", False)
    check_invariants(conn)


def test_a_held_lock_exits_0_without_writing(conn, settings):
    with psycopg.connect(settings.database_url, autocommit=True) as holder:
        assert holder.execute("SELECT pg_try_advisory_lock(%s)", (TICK_LOCK_KEY,)).fetchone()[0]
        p = run_tick_process()
        assert p.returncode == 0, p.stderr
        assert "lock" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    conn.commit()
    assert conn.execute("SELECT count(*) AS n FROM agent_triggers").fetchone()["n"] == 0
    assert conn.execute("SELECT count(*) AS n FROM agent_budget").fetchone()["n"] == 0


def test_claude_without_a_key_exits_1_and_starts_nothing(conn):
    p = run_tick_process({"AGENTCTL_AGENT": "claude"})
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == ["agentctl: no API key: set ANTHROPIC_API_KEY or AGENTCTL_AGENT=baseline"]
    (t,) = triggers(conn)
    assert t["skip_reason"] == "agent_misconfigured" and not t["agent_invoked"]
    assert session(conn) is None


def test_database_down_exits_75(tmp_path):
    p = run_tick_process({"AGENTCTL_DATABASE_URL": f"postgresql://x@/agentctl?host={tmp_path}&port=9"})
    assert p.returncode == 75
    assert len(p.stderr.strip().splitlines()) == 1
