"""`agentctl summary`: the funnel of the seeded cycles, the nearest misses, spend and what to try."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agentctl.cli.main import app
from agentctl.lab.gates import backtest_gate, training_gate
from agentctl.reports.funnel import reason_key

SINCE = "2000-01-01"  # every seeded cycle, whatever the time of day the test runs


def run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def test_the_funnel_counts_each_stage_and_why_cycles_stopped(settings, seeded):
    rep = json.loads(run("summary", "--since", SINCE, "--json"))
    stages = {s["name"]: s for s in rep["stages"]}
    assert rep["cycles"] == 9 and rep["active"] == 1
    assert [s["cycles"] for s in rep["stages"]] == [9, 5, 2, 1, 0, 0]
    # failed_design, failed_training, failed_training_gate and the active one stop before training passes.
    assert stages["passed training"]["stopped"] == 4
    assert stages["passed assessment"]["top_reason"] == "the assessor did not pass it"
    assert stages["holdout tested"]["top_reason"] == "succeeded before the final holdout existed"
    assert float(rep["spend_usd"]) == float(seeded["day_cost"])
    assert rep["confirmed"] == 0 and rep["cost_per_confirmed_usd"] is None


def test_nearest_misses_come_from_the_failed_gates_stored_figures(settings, seeded):
    rep = json.loads(run("summary", "--since", SINCE, "--json"))
    misses = {m["gate"]: m for m in rep["nearest_misses"]}
    assert misses["training"]["cycle"] == seeded["failed_training_gate"]
    assert misses["training"]["figure"] == "accuracy"
    assert misses["backtest"] == {
        "gate": "backtest",
        "figure": "deflated_sharpe",
        "value": 0.61,
        "cycle": seeded["failed_backtest_gate"],
        "strategy": "strat_failed_backtest_gate",
        "reasons": ["3 trades: fewer than 10"],
    }
    out = run("summary", "--since", SINCE)
    assert "backtest gate: best deflated Sharpe 0.61, cycle" in out
    assert "spend: $0." in out and "per confirmed strategy: none confirmed" in out


def test_a_day_without_cycles_says_so(settings, seeded):
    out = run("summary", "--since", "2999-01-01")
    assert out.startswith("since 2999-01-01: 0 cycles started")
    assert "no cycle started in this period" in out


def test_a_bad_date_is_a_usage_error(settings):
    res = CliRunner().invoke(app, ["summary", "--since", "yesterday"])
    assert res.exit_code == 2
    assert "not a date in the form YYYY-MM-DD" in res.output


def test_reasons_are_grouped_by_what_they_say_not_their_figures():
    a = training_gate({"excess_sharpe": 0.31, "excess_t": 1.42, "excess_p_value": 0.078})
    b = training_gate({"excess_sharpe": -0.2, "excess_t": -0.9, "excess_p_value": 0.82})
    assert reason_key(a.reasons[0]) == reason_key(b.reasons[0]) == "out-of-fold excess return"
    bt = backtest_gate(
        {
            "total_trades": 4,
            "sharpe": 0.3,
            "max_drawdown": 0.1,
            "buy_and_hold_drawdown": 0.3,
            "snooping_p_value": 0.2,
            "snooping_trials": 7,
        }
    )
    assert [reason_key(r) for r in bt.reasons if "(fails)" in r] == [
        "trades",
        "excess return among the dataset's strategies",
    ]
