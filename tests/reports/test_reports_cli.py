"""Every report command against a real database seeded with cycles of every outcome."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentctl.cli.main import app

from .conftest import OUTCOMES

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[")


def run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def run_json(*args: str, code: int = 0):
    return json.loads(run(*args, "--json", code=code))


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentctl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


# -- status ------------------------------------------------------------------------------------------


def test_status_shows_active_cycle_budget_and_last_tick(settings, seeded):
    out = run("status")
    assert f"cycle {seeded['active']}  training for 4m" in out
    assert "strategy: strat_active" in out
    assert "operation op-active: running 42% epoch 17/40" in out
    assert "$0.37 of $5.00 used" in out and "10 invocations, 9 cycles started, 8 completed" in out
    assert "gate_check (operation_still_running)" in out
    assert "warning" not in out
    assert not ANSI.search(out)


def test_status_of_a_finished_operation_says_only_how_it_ended(settings, conn):
    sid = conn.execute(
        "INSERT INTO agent_sessions (phase, strategy_name, training_operation_id) VALUES ('training', 's', 'op-done')"
        " RETURNING id"
    ).fetchone()["id"]
    conn.execute(
        "INSERT INTO lab_operations (id, kind, status, session_id, params, dataset, strategy_hash, progress_pct,"
        " progress_message, result, started_at, heartbeat_at, finished_at)"
        " VALUES ('op-done', 'training', 'completed', %s, '{}', 'AAPL/1h', repeat('0', 64), 100, 'completed',"
        " '{}', NOW(), NOW(), NOW())",
        (sid,),
    )
    conn.commit()
    out = run("status")
    assert "operation op-done: completed: waiting for the next tick  heartbeat" in out and "100%" not in out
    assert out.splitlines()[0] == f"waiting for the next tick: cycle {sid}'s training completed"


def test_status_json_keys(settings, seeded):
    st = run_json("status")
    assert set(st) == {"headline", "now", "active_cycle", "budget", "last_trigger", "warnings"}
    assert set(st["active_cycle"]) == {
        "id",
        "phase",
        "stage",
        "strategy",
        "dataset",
        "model",
        "waiting_for_tick",
        "created_at",
        "phase_since",
        "seconds_in_phase",
        "seconds_since_start",
        "operation",
    }
    assert st["active_cycle"]["phase"] == "training"
    assert 235 < st["active_cycle"]["seconds_in_phase"] < 300
    assert st["active_cycle"]["operation"]["progress_pct"] == 42.0
    assert st["budget"] == {
        "date": st["budget"]["date"],
        "limit_usd": 5.0,
        "used_usd": 0.37,
        "reserved_usd": 0.0,
        "remaining_usd": 4.63,
        "invocations": 10,
        "cycles_started": 9,
        "cycles_completed": 8,
        "exists": True,
    }
    assert st["last_trigger"]["trigger_reason"] == "gate_check"
    assert st["last_trigger"]["skip_reason"] == "operation_still_running"
    assert st["warnings"] == []


def test_status_empty_database_says_what_to_do(settings):
    out = run("status")
    assert (
        out.splitlines()[0] == "no cycles yet: run `agentctl tick`, or `agentctl cron --install` to tick every minute"
    )
    assert "$0.00 of $5.00 used" in out
    st = run_json("status")
    assert st["active_cycle"] is None and st["last_trigger"] is None
    assert st["budget"]["exists"] is False
    assert [w["code"] for w in st["warnings"]] == ["no_tick_yet"]


def test_status_warns_stale_tick_exhausted_budget_and_silent_operation(settings, conn):
    conn.execute("INSERT INTO agent_budget (date, budget_limit_usd, budget_used_usd) VALUES (CURRENT_DATE, 1, 1)")
    sid = conn.execute(
        "INSERT INTO agent_sessions (phase, training_operation_id) VALUES ('training', 'op-x') RETURNING id"
    ).fetchone()["id"]
    conn.execute(
        """INSERT INTO lab_operations (id, kind, status, session_id, params, dataset, strategy_hash,
                        progress_pct, progress_message, started_at, heartbeat_at)
                    VALUES ('op-x', 'training', 'running', %s, '{}', 'AAPL/1d', repeat('a', 64), 10, 'fold 1',
                            NOW() - interval '20 minutes', NOW() - interval '10 minutes')""",
        (sid,),
    )
    conn.execute(
        "INSERT INTO agent_triggers (triggered_at, trigger_reason, session_id) "
        "VALUES (NOW() - interval '2 hours', 'gate_check', %s)",
        (sid,),
    )
    conn.commit()
    st = run_json("status")
    assert [w["code"] for w in st["warnings"]] == ["no_recent_tick", "budget_exhausted", "operation_no_heartbeat"]
    op = st["active_cycle"]["operation"]
    assert op["source"] == "operations" and op["kind"] == "training" and op["progress_pct"] == 10.0
    assert 590 < op["heartbeat_age_s"] < 700
    out = run("status")
    assert "warning: no tick for 2h00m: is cron running?" in out
    assert "warning: today's budget is exhausted" in out
    assert "warning: operation op-x has no heartbeat (last 10m ago)" in out


# -- cycles ------------------------------------------------------------------------------------------


def test_cycles_table_newest_first(settings, seeded):
    out = run("cycles", "--recent", "20")
    lines = out.splitlines()
    # On purpose: the dataset, deflated Sharpe, return and buy and hold columns joined the table and the
    # win rate left it (still in --json), so a long name stays whole on a wide terminal.
    assert lines[0].split() == [
        "id",
        "strategy",
        "dataset",
        "outcome",
        "sharpe",
        "dsr",
        "return",
        "b&h",
        "maxdd",
        "trades",
        "cost",
        "took",
        "verdict",
    ]
    ids = [int(line.split()[0]) for line in lines[1:]]
    assert ids == [seeded[o] for o in reversed(OUTCOMES)]
    success = next(line for line in lines if "strat_success" in line)
    assert success.split()[:13] == [
        str(seeded["success"]),
        "strat_success",
        "AAPL/1d",
        "success",
        "1.23",
        "0.61",
        "15.0%",
        "10.0%",
        "12.0%",
        "42",
        "$0.02",
        "10m00s",
        "promising:",
    ]


def test_cycles_json_and_outcome_filter(settings, seeded):
    rows = run_json("cycles", "--recent", "3")
    assert [r["id"] for r in rows] == [seeded["cancelled"], seeded["failed_assessment"], seeded["failed_backtest_gate"]]
    assert set(rows[0]) == {
        "id",
        "strategy",
        "dataset",
        "outcome",
        "sharpe",
        "deflated_sharpe",
        "total_return",
        "buy_and_hold_return",
        "win_rate",
        "max_drawdown",
        "trades",
        "cost_usd",
        "duration_s",
        "verdict",
        "completed_at",
    }
    (s,) = run_json("cycles", "--outcome", "success")
    assert s == {
        **s,
        "id": seeded["success"],
        "outcome": "success",
        "sharpe": 1.234,
        "dataset": "AAPL/1d",
        "deflated_sharpe": 0.61,
        "total_return": 0.15,
        "buy_and_hold_return": 0.1,
        "win_rate": 0.55,
        "max_drawdown": 0.12,
        "trades": 42,
        "cost_usd": 0.015,
        "duration_s": 600,
        "verdict": "promising: beats buy and hold",
    }
    for outcome in OUTCOMES:
        assert [r["outcome"] for r in run_json("cycles", "--outcome", outcome)] == [outcome]


def test_cycles_empty_and_bad_outcome(settings):
    assert "no cycles yet: run `agentctl tick`, or `agentctl cron --install`" in run("cycles")
    assert run_json("cycles") == []
    assert "no completed cycles with outcome success" in run("cycles", "--outcome", "success")
    run("cycles", "--outcome", "bogus", code=2)


# -- show --------------------------------------------------------------------------------------------


def test_show_success_in_full(settings, seeded):
    out = run("show", str(seeded["success"]))
    assert f"cycle {seeded['success']}: strat_success  outcome success" in out
    assert "hypothesis: hypothesis for success" in out
    # The strategy's parameters as a table, not a JSON dump.
    assert "parameters:" in out and re.search(r"^dataset\s+AAPL/1d$", out, re.M)
    assert re.search(r"^model family\s+logistic$", out, re.M) and '"symbol"' not in out
    assert "training: accuracy 56.0% (majority baseline 52.0%)" in out
    assert "training gate: passed" in out and "backtest gate: passed" in out
    assert "backtest: sharpe 1.23" in out and "42 trades" in out
    assert "assessment: passed: promising: beats buy and hold" in out
    assert "suggestion: try 4h bars" in out
    assert "equity (starts at 1.0), 2024-01-01 to 2024-01-09, 9 points" in out
    assert "actions: 3 (2 model calls)" in out and "cost $0.02" in out
    assert "claude-haiku-4-5" in out and "validate_strategy" in out
    assert "triggers: 1" in out and "start_new_cycle" in out
    assert not ANSI.search(out)


def test_show_failed_gate_and_design(settings, seeded):
    out = run("show", str(seeded["failed_backtest_gate"]))
    assert "outcome failed_backtest_gate" in out
    assert "backtest gate: FAILED: 3 trades: fewer than 10" in out
    assert "assessment:" not in out
    out = run("show", str(seeded["failed_design"]))
    assert "(no strategy)" in out and "failure: reason failed_design" in out
    assert "error: bad config" in out
    assert "equity" not in out


def test_show_json_keys(settings, seeded):
    d = run_json("show", str(seeded["success"]))
    assert set(d) == {
        "id",
        "phase",
        "outcome",
        "failure_reason",
        "strategy",
        "strategy_file_path",
        "hypothesis",
        "config",
        "created_at",
        "completed_at",
        "duration_s",
        "training_operation_id",
        "backtest_operation_id",
        "training",
        "backtest",
        "gates",
        "assessment",
        "research",
        "metrics",
        "equity_curve",
        "totals",
        "actions",
        "actions_shown",
        "triggers",
    }
    assert d["gates"]["backtest"] == {"gate": "backtest", "passed": True, "reasons": []}
    assert "equity_curve" not in d["backtest"] and "gate" not in d["backtest"]
    assert d["equity_curve"][0] == ["2024-01-01T00:00:00+00:00", 1.01]
    assert d["totals"] == {
        "actions": 3,
        "model_calls": 2,
        "tokens_input": 2000,
        "tokens_output": 400,
        "tokens_cache_write": 1000,
        "tokens_cache_read": 0,
        "cost_usd": 0.015,
    }
    assert d["metrics"]["estimated_cost_usd"] == 0.015 and d["metrics"]["outcome"] == "success"
    assert d["duration_s"] == 600.0
    assert [a["tool_name"] for a in d["actions"]] == ["messages.create", "messages.create", "validate_strategy"]
    assert d["assessment"]["verdict"] == "promising: beats buy and hold"


def test_show_png_and_missing(settings, seeded, tmp_path):
    png = tmp_path / "curve.png"
    run("show", str(seeded["success"]), "--png", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run("show", str(seeded["failed_design"]), "--png", str(tmp_path / "x.png"), code=1)
    run("show", "99999", code=1)  # a well-formed id naming no cycle: bad input


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
