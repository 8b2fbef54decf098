"""`agentctl integrity` on a real database: what was tried, where, by whom, and what chance alone gives."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from agentctl.cli.main import app
from agentctl.reports.integrity import PBO_SCOPE_NOTE, confirm_alpha, integrity, pbo

from .research import SONNET, blocks, insert_cycle, seed_research


def run(*args: str) -> str:
    res = CliRunner().invoke(app, ["integrity", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture
def research(conn):
    return seed_research(conn)


def test_per_dataset_counts_and_chance(conn, settings, research):
    rep = integrity(conn, settings)
    alpha = confirm_alpha(settings)
    assert rep.summary == "5 strategies tried on 2 datasets since 2026-03-01"
    assert rep.strategies_tried == 5 and rep.datasets == 2 and rep.confirm_alpha == alpha
    aapl, spy = rep.by_dataset
    tally = ("trials", "training_passed", "backtest_passed", "assessments_passed", "holdout_tested", "confirmations")
    assert aapl.dataset == "AAPL 1d" and [getattr(aapl, f) for f in tally] == [3, 3, 2, 2, 2, 1]
    assert aapl.expected_by_chance == pytest.approx(2 * alpha)
    # The active cycle has no training result yet; its strategy is tried all the same.
    assert spy.dataset == "SPY 1h" and [getattr(spy, f) for f in tally] == [2, 1, 1, 1, 1, 1]
    assert spy.expected_by_chance == pytest.approx(alpha)
    assert [getattr(rep.overall, f) for f in tally] == [5, 4, 3, 3, 3, 2]
    assert rep.overall.expected_by_chance == pytest.approx(3 * alpha)
    assert rep.overall.pbo_note == PBO_SCOPE_NOTE


def test_pbo_per_dataset_needs_two_trials_with_blocks(conn, settings, research):
    aapl, spy = integrity(conn, settings).by_dataset
    assert aapl.pbo.pbo is not None and 0.0 <= aapl.pbo.pbo <= 1.0
    assert (aapl.pbo.trials, aapl.pbo.blocks) == (3, 16) and aapl.pbo.combinations > 0
    # SPY's second trial stored blocks that do not read: one trial is not enough.
    assert spy.pbo.pbo is None and spy.pbo.trials == 1
    assert "at least 2 strategies" in spy.pbo.note and "1 here" in spy.pbo.note


def test_pbo_keeps_the_usual_number_of_blocks():
    res = pbo([blocks(1), blocks(2), blocks(3, n=8)])
    assert res.pbo is not None and res.trials == 2 and res.blocks == 16
    assert "1 with another number of blocks left out" in res.note


def test_per_designer_trials_confirmations_and_cost(conn, settings, research):
    rows = [d.model_dump(mode="json") for d in integrity(conn, settings).by_designer]
    assert rows == [
        {
            "designer": f"claude {SONNET}",
            "agent": "claude",
            "model": SONNET,
            "cycles": 4,
            "trials": 3,
            "confirmations": 1,
            "cost_usd": 0.51,  # metrics rows 0.12 + 0.30 + 0.04, and the active cycle's actions 0.05
            "cost_per_confirmation_usd": 0.51,
        },
        {
            "designer": "baseline",
            "agent": "baseline",
            "model": None,
            "cycles": 2,
            "trials": 2,
            "confirmations": 1,
            "cost_usd": 0.0,
            "cost_per_confirmation_usd": 0.0,
        },
        {
            # A design that died before any action: its starting trigger names the agent.
            "designer": "claude",
            "agent": "claude",
            "model": None,
            "cycles": 1,
            "trials": 0,
            "confirmations": 0,
            "cost_usd": 0.0,
            "cost_per_confirmation_usd": None,
        },
    ]


def test_cli_plain_and_json(settings, research):
    out = run()
    assert "5 strategies tried on 2 datasets since 2026-03-01" in out
    assert "all datasets" in out and PBO_SCOPE_NOTE in out
    assert "PBO SPY 1h: needs at least 2 strategies" in out
    assert f"claude {SONNET}" in out and "$0.51" in out
    assert "\x1b[" not in out
    rep = json.loads(run("--json"))
    assert set(rep) == {
        "summary",
        "strategies_tried",
        "datasets",
        "since",
        "confirm_alpha",
        "overall",
        "by_dataset",
        "by_designer",
    }
    assert [d["dataset"] for d in rep["by_dataset"]] == ["AAPL 1d", "SPY 1h"]
    assert rep["by_dataset"][0]["pbo"]["trials"] == 3


def test_empty_database(conn, settings):
    rep = integrity(conn, settings)
    assert rep.summary == "no strategies tried yet" and rep.by_dataset == [] and rep.by_designer == []
    assert rep.overall.trials == 0 and rep.overall.expected_by_chance == 0
    out = run()
    assert "no strategies tried yet" in out and "no cycles yet" in out


def test_cost_counts_confirmed_and_every_passed_assessment(conn, research):
    from agentctl.reports.costs import cost_report

    rep = cost_report(conn)
    # Confirmed: the two cycles the final holdout confirmed (costs 0 and 0.30).
    assert rep.successes == 2 and rep.model_dump(mode="json")["avg_cost_per_success_usd"] == 0.15
    # Promising: every passed assessment, the one the holdout did not confirm included.
    assert rep.promising == 3


def test_pbo_compares_trials_over_the_same_bars_only(conn, settings, research):
    """A trial whose blocks cut other bars (another fold count) is not mixed into the dataset's PBO."""
    stages = {"sharpe": 1.0, "blocks": blocks(9), "blocks_start": 700, "blocks_end": 2000}
    insert_cycle(
        conn,
        30,
        strategy_hash="f" * 64,
        strategy_config={"dataset": {"symbol": "AAPL", "timeframe": "1d"}},
        backtest_results=stages,
        outcome="failed_backtest_gate",
    )
    conn.commit()
    aapl = integrity(conn, settings).by_dataset[0]
    assert aapl.pbo.trials == 3  # the three trials over the usual span, not the fourth


def test_power_per_dataset(settings, research):
    """The Sharpe each dataset's holdout needs for a 50% and an 80% chance of confirmation."""
    out, rep = run(), json.loads(run("--json"))
    # AAPL/1d's 9-year holdout; SPY 1h is not installed here, so it has no figure.
    aapl_power, spy_power = rep["by_dataset"][0]["power"], rep["by_dataset"][1]["power"]
    assert spy_power is None
    years = aapl_power["holdout_years"]
    assert years > 9 and aapl_power["can_confirm"] is True
    assert aapl_power["sharpe_for_80"] == pytest.approx((1.6449 + 0.8416) / math.sqrt(years), abs=0.01)
    assert "50%/80%" in out
    assert f"{aapl_power['sharpe_for_50']:.2f}/{aapl_power['sharpe_for_80']:.2f}" in out
