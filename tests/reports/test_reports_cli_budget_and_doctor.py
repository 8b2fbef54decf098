"""Budget, cost, actions, triggers, doctor and metrics against a real database seeded with cycles of every outcome."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import OUTCOMES
from .test_reports_cli import cli, run, run_json

# -- budget ------------------------------------------------------------------------------------------


def test_budget_report(settings, seeded):
    out = run("budget", "--days", "7")
    assert "$0.37 of $5.00 used" in out
    lines = out.splitlines()
    assert lines[1] == "default limit for new days $5.00: default"
    assert lines[2].split() == ["date", "limit", "used", "left", "invocations", "cycles", "spend"]
    assert len([line for line in lines if re.match(r"\d{4}-\d\d-\d\d  ", line)]) == 3
    rep = run_json("budget", "--days", "2")
    assert set(rep) == {"today", "default_limit_usd", "default_limit_source", "days", "scheduled"}
    assert rep["scheduled"] == []  # no day after today has a limit set ahead
    assert [d["used_usd"] for d in rep["days"]] == [0.37, 0.0]
    assert rep["today"]["invocations"] == 10 and rep["default_limit_usd"] == 5.0


def test_budget_empty_day(settings):
    out = run("budget")
    assert "no tick has opened today yet" in out
    rep = run_json("budget")
    assert rep["today"]["exists"] is False and len(rep["days"]) == 1


def test_budget_set_today_date_and_default(settings, seeded, conn):
    out = run("budget", "set", "10")
    assert re.search(r"limit for \d{4}-\d\d-\d\d: \$5\.00 -> \$10\.00 \(\$0\.37 already used\)", out)
    assert (
        conn.execute("SELECT budget_limit_usd FROM agent_budget WHERE date = CURRENT_DATE").fetchone()[
            "budget_limit_usd"
        ]
        == 10
    )
    ch = run_json("budget", "set", "2.50", "--date", "2099-01-02")
    assert ch == {"scope": "day", "date": "2099-01-02", "old_limit_usd": None, "new_limit_usd": 2.5, "used_usd": 0.0}
    assert "default limit for new days: $5.00 -> $7.25" in run("budget", "set", "7.25", "--default")
    assert run_json("budget")["default_limit_usd"] == 7.25
    assert run_json("budget", "set", "3", "--default")["old_limit_usd"] == 7.25


@pytest.mark.parametrize(
    "args, says",
    [
        (["-1"], "not positive"),
        (["0"], "not positive"),
        (["abc"], "not an amount"),
        (["1e309"], "above the $10000 daily maximum"),
        (["0.001"], "more than cents"),
        (["nan"], "not a finite amount"),
        (["5", "--date", "2026-02-30"], "not a real date"),
        (["5", "--date", "tomorrow"], "YYYY-MM-DD"),
        (["5", "--date", "2001-01-01"], "in the past"),
        (["5", "--date", "2099-01-01", "--default"], "do not go together"),
    ],
)
def test_budget_set_rejects_bad_input_with_one_line(settings, args, says):
    p = cli("budget", "set", *args)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agentctl: ") and says in lines[0], p.stderr


# -- cost --------------------------------------------------------------------------------------------


def test_cost_report(settings, seeded):
    rep = run_json("cost")
    assert rep["avg_cost_per_success_usd"] == 0.015 and rep["successes"] == 1
    assert rep["total_spend_usd"] == 0.37 and rep["cycles_completed"] == 8
    assert rep["spend_per_success_usd"] == 0.37 and rep["promising"] == 1
    assert rep["by_model"] == [
        {"name": "claude-sonnet-5-5", "calls": 8, "cost_usd": 0.36},
        {"name": "claude-haiku-4-5", "calls": 2, "cost_usd": 0.01},
    ]
    assert rep["by_phase"] == [
        {"name": "design", "calls": 8, "cost_usd": 0.36},
        {"name": "assessment", "calls": 2, "cost_usd": 0.01},
    ]
    assert {o["outcome"] for o in rep["by_outcome"]} == set(OUTCOMES)
    assert [f["id"] for f in rep["costliest_failures"]] == [
        seeded["cancelled"],
        seeded["failed_assessment"],
        seeded["failed_backtest_gate"],
        seeded["failed_backtest"],
        seeded["failed_training_gate"],
    ]
    out = run("cost")
    assert "cost per confirmed strategy (its own cycle only): $0.02 average over 1 confirmed cycles" in out
    assert "per confirmed strategy (failures included): $0.37" in out
    assert "costliest failed cycles:" in out


def test_cost_empty(settings):
    assert "no cycles yet" in run("cost")
    rep = run_json("cost")
    assert rep["successes"] == 0 and rep["avg_cost_per_success_usd"] is None and rep["spend_per_success_usd"] is None


# -- actions, triggers -------------------------------------------------------------------------------


def test_actions(settings, seeded):
    rows = run_json("actions", "--limit", "4")
    assert len(rows) == 4 and rows[0]["id"] > rows[-1]["id"]
    assert set(rows[0]) == {
        "id",
        "session_id",
        "action_at",
        "tool_name",
        "agent",
        "invocation",
        "model",
        "success",
        "error_message",
        "tokens_input",
        "tokens_output",
        "tokens_cache_write",
        "tokens_cache_read",
        "cost_usd",
        "latency_ms",
        "request_id",
        "stop_reason",
        "attempt",
    }
    mine = run_json("actions", str(seeded["failed_design"]))
    assert [a["tool_name"] for a in mine] == ["validate_strategy", "messages.create"]
    assert mine[0]["error_message"] == "bad config" and mine[1]["cost_usd"] == 0.02
    out = run("actions", str(seeded["failed_design"]))
    assert "error: bad config" in out and "$0.02" in out
    run("actions", "99999", code=1)  # a well-formed id naming no cycle: bad input


def test_actions_and_triggers_empty(settings):
    assert "no actions yet" in run("actions")
    assert "no tick has run yet" in run("triggers")
    assert "no tick today yet" in run("triggers", "--today")


def test_triggers(settings, seeded, conn):
    # The seed dates triggers hours before NOW(), which lands on today or yesterday depending on the hour. Pin them
    # to the start of the budget day instead: the finished cycles' ticks end yesterday (same order and spacing), the
    # gate check opens today.
    conn.execute(
        """UPDATE agent_triggers SET triggered_at = CASE trigger_reason
               WHEN 'start_new_cycle' THEN CURRENT_DATE::timestamptz - (NOW() - triggered_at)
               ELSE CURRENT_DATE::timestamptz END"""
    )
    conn.commit()
    rep = run_json("triggers", "--limit", "3")
    assert set(rep) == {"today_only", "triggers", "counts_today"}
    assert rep["counts_today"] is None
    assert [t["trigger_reason"] for t in rep["triggers"]] == ["gate_check", "start_new_cycle", "start_new_cycle"]
    assert set(rep["triggers"][0]) == {
        "id",
        "triggered_at",
        "trigger_reason",
        "session_id",
        "agent_invoked",
        "skip_reason",
        "budget_used_today_usd",
        "budget_remaining_usd",
    }
    today = run_json("triggers", "--today")
    assert today["counts_today"] == [
        {"trigger_reason": "gate_check", "skip_reason": "operation_still_running", "agent_invoked": False, "count": 1}
    ]
    assert all(t["triggered_at"] for t in today["triggers"])
    out = run("triggers")
    assert "operation_still_running" in out and len(out.splitlines()) == 1 + len(OUTCOMES) + 1


# -- doctor, metrics ----------------------------------------------------------------------------------


def test_doctor_all_good(settings, seeded):
    out = run("doctor")
    assert "ok    database" in out and re.search(r"ok    last_tick   last tick 3\ds ago", out)
    assert "all good" in out
    rep = run_json("doctor")
    assert rep["ok"] is True
    assert [c["name"] for c in rep["checks"]] == [
        "database",
        "migrations",
        "data",
        "agent",
        "prices",
        "warm_lab",  # informational: whether the next operation starts warm
        "last_tick",
        "operations",
        "admission",  # a pause, an overrun or an open circuit breaker would show here
        "holdouts",  # every dataset's holdout where its strategies' research left it
    ]


def test_doctor_needs_a_person(settings, conn, monkeypatch):
    conn.execute("""INSERT INTO lab_operations (id, kind, status, params, dataset, strategy_hash, started_at,
                        heartbeat_at)
                    VALUES ('op-dead', 'backtest', 'running', '{}', 'AAPL/1d', repeat('b', 64),
                            NOW() - interval '1 hour', NOW() - interval '30 minutes')""")
    conn.commit()
    monkeypatch.setenv("AGENTCTL_AGENT", "claude")
    monkeypatch.setenv("AGENTCTL_DESIGN_MODEL", "gpt-nothing")
    from agentctl.settings import get_settings

    get_settings.cache_clear()
    out = run("doctor", code=1)
    assert "FAIL  last_tick   no tick has run yet" in out
    assert "fix: run `agentctl tick`, then `agentctl cron --install`" in out
    assert "FAIL  operations  1 running without a heartbeat" in out and "op-dead (backtest)" in out
    assert "FAIL  agent" in out and "ANTHROPIC_API_KEY" in out
    assert "FAIL  prices      no price known for gpt-nothing" in out
    rep = run_json("doctor", code=1)
    bad = {c["name"] for c in rep["checks"] if not c["ok"]}
    assert bad == {"last_tick", "operations", "agent", "prices"}


def test_doctor_never_prints_the_key(settings, seeded, monkeypatch):
    key = "sk-ant-api03-SECRET-do-not-print"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    from agentctl.settings import get_settings

    get_settings.cache_clear()
    out = run("doctor")
    assert "claude: API key present" in out and key not in out and "SECRET" not in out
    assert key not in run("doctor", "--json")


def test_doctor_database_down(settings, monkeypatch):
    monkeypatch.setenv("AGENTCTL_DATABASE_URL", "postgresql://nobody:pw@127.0.0.1:1/none")
    p = cli("doctor", "--json")
    assert p.returncode == 1
    rep = json.loads(p.stdout)
    assert rep["checks"][0]["name"] == "database" and rep["checks"][0]["ok"] is False
    assert "pw@" not in p.stdout


def test_metrics_prometheus_text(settings, seeded):
    out = run("metrics")
    assert "# TYPE agentctl_budget_spent_usd gauge\nagentctl_budget_spent_usd 0.37\n" in out
    assert "agentctl_budget_limit_usd 5\n" in out
    for outcome in OUTCOMES:
        assert f'agentctl_cycles_total{{outcome="{outcome}"}} 1\n' in out
    assert 'agentctl_active_phase{phase="training"} 1\n' in out
    assert 'agentctl_active_phase{phase="idle"} 0\n' in out
    assert "agentctl_operation_progress_ratio 0.42\n" in out
    assert re.search(r"^agentctl_last_tick_timestamp_seconds \d{10}", out, re.M)
    # Every sample line is `name{labels} value` with a HELP and TYPE before its family.
    for line in out.splitlines():
        assert (
            line.startswith("# HELP ")
            or line.startswith("# TYPE ")
            or re.match(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$', line)
        ), line
    fams = run_json("metrics")["families"]
    assert {f["name"] for f in fams} >= {
        "agentctl_budget_spent_usd",
        "agentctl_cycles_total",
        "agentctl_last_tick_timestamp_seconds",
        "agentctl_active_phase",
        "agentctl_operation_progress_ratio",
    }


def test_metrics_empty(settings):
    out = run("metrics")
    assert "agentctl_last_tick_timestamp_seconds 0\n" in out
    assert 'agentctl_active_phase{phase="idle"} 1\n' in out
    assert 'agentctl_cycles_total{outcome="success"} 0\n' in out


def test_doctor_finds_a_holdout_moved_since_research(settings, conn, monkeypatch):
    """A changed holdout share moves SP500/1d's holdout over bars an earlier cycle researched: doctor says so."""
    from agentctl.lab.data import list_datasets

    from .research import insert_cycle

    sp500 = next(d for d in list_datasets(None) if (d.symbol, d.timeframe) == ("SP500", "1d"))
    insert_cycle(
        conn,
        1,
        strategy_hash="c" * 64,
        strategy_config={"dataset": {"symbol": "SP500", "timeframe": "1d"}},
        training_results={"holdout_start": sp500.holdout_start.isoformat()},
        outcome="failed_training_gate",
    )
    conn.commit()
    rep = run_json("doctor", code=1)  # no tick has run yet: that check fails, not this one
    assert next(c for c in rep["checks"] if c["name"] == "holdouts")["ok"] is True
    monkeypatch.setenv("AGENTCTL_HOLDOUT_SHARE", "0.3")
    rep = run_json("doctor", code=1)
    moved = next(c for c in rep["checks"] if c["name"] == "holdouts")
    assert moved["ok"] is False and "SP500/1d: cycle" in moved["detail"] and "AGENTCTL_HOLDOUT_SHARE" in moved["fix"]
