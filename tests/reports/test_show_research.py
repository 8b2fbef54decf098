"""`agentctl show`: walk-forward figures, the deflated Sharpe at the test and now, and the sealed final holdout."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentctl.cli.main import app
from agentctl.lab import stats
from agentctl.reports.cycles import cycle_detail
from agentctl.reports.research import NOT_TESTED, SEALED

from .research import _stages, config, insert_cycle, seed_research

VAR = 0.0004  # variance of the trials' per-bar Sharpe ratios
SR, T, SKEW, KURT = 0.08, 500, -0.2, 4.0
HOLDOUT = {
    "sharpe": 0.87,
    "sharpe_p_value": 0.0123,
    "total_return": 0.052,
    "buy_and_hold_return": 0.031,
    "max_drawdown": 0.044,
    "total_trades": 12,
    "bars": 200,
    "equity_curve": [["2024-06-01T00:00:00+00:00", 1.0]],
    "gate": {"gate": "holdout", "passed": True, "reasons": []},
}


def run(*args: str) -> str:
    res = CliRunner().invoke(app, ["show", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def research_backtest(n_trials: int) -> dict:
    """A research backtest as the walk-forward lab stores it, its deflated Sharpe against n_trials."""
    sr0 = stats.expected_max_sharpe(n_trials, VAR)
    return {
        "sharpe": 1.1,
        "total_trades": 40,
        "gate": {"gate": "backtest", "passed": True, "reasons": []},
        "deflated_sharpe": stats.probabilistic_sharpe(SR, sr0, T, SKEW, KURT),
        "n_trials": n_trials,
        "sr": SR,
        "sr0": sr0,
        "t": T,
        "skew": SKEW,
        "kurtosis": KURT,
        "var_trials": VAR,
        "variance_source": "recorded trials (n=5)",
        "folds": 3,
        "fold_sharpe": [1.2, -0.3, 0.8],
        "fold_return": [0.05, -0.01, 0.03],
        "fold_accuracy": [0.55, 0.49, 0.53],
        "folds_profitable": 2,
    }


def walk_forward_training() -> dict:
    return {
        "accuracy": 0.53,
        "constant_accuracy": 0.51,
        "accuracy_p_value": 0.04,
        "effective_bars": 400,
        "fold_constant_accuracy": [0.5, 0.52, 0.51],
        "gate": {"gate": "training", "passed": True, "reasons": []},
    }


def cycle(conn, n: int, *, passed: bool, holdout: dict | None, n_trials: int = 2) -> int:
    """A cycle on NASDAQ 1d that reached its assessment; the holdout figures stored as given."""
    sid = insert_cycle(
        conn,
        n,
        strategy_name=f"wf{n}",
        strategy_hash=f"wf-hash-{n}",
        strategy_config=config("NASDAQ", "1d", f"wf{n}"),
        training_results=walk_forward_training(),
        backtest_results=research_backtest(n_trials),
        assessment={"passed": passed, "verdict": "promising" if passed else "weak"},
        final_holdout_results=holdout,
        outcome="success" if passed and holdout else "failed_assessment",
    )
    conn.commit()
    return sid


@pytest.fixture
def passed(conn):
    return cycle(conn, 1, passed=True, holdout=HOLDOUT)


def test_holdout_shown_when_the_assessment_passed(conn, settings, passed):
    h = cycle_detail(conn, passed).research.holdout
    assert h.state == "shown" and h.results["sharpe"] == 0.87 and "equity_curve" not in h.results
    out = run(str(passed))
    assert "final holdout: sharpe 0.87 (p 0.012), return 5.2% (buy and hold 3.1%)" in out
    assert "12 trades, 200 bars" in out and "final holdout gate: passed" in out and SEALED not in out


def test_a_shown_holdout_says_how_many_strategies_were_tested_on_it(conn, settings, passed):
    """Each holdout test is one more chance of a lucky confirmation: show says how many there were."""
    failed = dict(HOLDOUT, gate={"gate": "holdout", "passed": False, "reasons": ["excess p 0.3: not below 0.05"]})
    tested = cycle(conn, 2, passed=True, holdout=failed)  # tested on the same dataset, not confirmed
    conn.execute("UPDATE agent_sessions SET outcome = 'failed_assessment' WHERE id = %s", (tested,))
    conn.commit()
    cycle(conn, 3, passed=False, holdout=None)  # researched there, never tested on the holdout
    h = cycle_detail(conn, passed).research.holdout
    assert (h.tested_on_dataset, h.confirmed_on_dataset) == (2, 1)
    assert "holdout tests on NASDAQ/1d so far: 2, 1 confirmed" in run(str(passed))
    assert json.loads(run(str(passed), "--json"))["research"]["holdout"]["tested_on_dataset"] == 2
    sealed = cycle_detail(conn, 3).research.holdout
    assert (sealed.tested_on_dataset, sealed.confirmed_on_dataset) == (None, None)


def test_holdout_sealed_when_the_assessment_did_not_pass(conn, settings):
    # Even a row that holds holdout figures keeps them sealed when its assessment failed.
    sid = cycle(conn, 2, passed=False, holdout=HOLDOUT)
    h = cycle_detail(conn, sid).research.holdout
    assert (h.state, h.results) == ("sealed", None)
    out = run(str(sid))
    assert SEALED in out and "0.87" not in out and "0.012" not in out
    d = json.loads(run(str(sid), "--json"))
    assert d["research"]["holdout"] == {
        "state": "sealed",
        "line": SEALED,
        "gate": None,
        "results": None,
        "tested_on_dataset": None,
        "confirmed_on_dataset": None,
    }
    assert "0.0123" not in json.dumps(d)


def test_holdout_not_tested_yet(conn, settings):
    sid = cycle(conn, 3, passed=True, holdout=None)
    assert cycle_detail(conn, sid).research.holdout.line == NOT_TESTED
    assert NOT_TESTED in run(str(sid))


def test_walk_forward_figures(conn, settings, passed):
    w = cycle_detail(conn, passed).research.walk_forward
    assert w is not None and w.folds_profitable == 2 and len(w.folds) == 3
    assert [f.model_dump() for f in w.folds][1] == {
        "fold": 2,
        "sharpe": -0.3,
        "total_return": -0.01,
        "accuracy": 0.49,
        "constant_accuracy": 0.52,
    }
    assert (w.accuracy, w.constant_accuracy, w.binomial_p, w.effective_bars) == (0.53, 0.51, 0.04, 400)
    out = run(str(passed))
    assert "walk-forward: 2 of 3 folds profitable; out-of-fold accuracy 53.0% against the best constant guess" in out
    assert "binomial p 0.040 on 400 independent bars" in out


def test_deflated_sharpe_now_counts_the_strategies_tried_since(conn, settings):
    sid = cycle(conn, 4, passed=True, holdout=HOLDOUT, n_trials=1)
    d = cycle_detail(conn, sid).research.deflated
    assert d is not None and d.now is not None
    # Tested when it was the only strategy; now one more has been tried.
    assert d.at_test.n_trials == 1 and d.now.n_trials == 1
    assert d.now.deflated_sharpe == d.at_test.deflated_sharpe
    seed_research(conn)  # five more strategies tried since
    d = cycle_detail(conn, sid).research.deflated
    assert d.now.n_trials == 6 and d.now.sr0 > d.at_test.sr0
    assert d.now.deflated_sharpe < d.at_test.deflated_sharpe
    expected = stats.probabilistic_sharpe(SR, stats.expected_max_sharpe(6, VAR), T, SKEW, KURT)
    assert d.now.deflated_sharpe == pytest.approx(expected, abs=1e-4)
    out = run(str(sid))
    assert "at the test (1 strategy tried" in out and "now (6 strategies tried" in out


def test_an_older_row_shows_what_it_has(settings, seeded, conn):
    # Stored before walk-forward evaluation: a deflated Sharpe without its inputs, no folds.
    d = cycle_detail(conn, seeded["success"]).research
    assert d.walk_forward is None
    assert d.deflated is not None and d.deflated.now is None and d.deflated.at_test.deflated_sharpe == 0.61
    assert d.holdout.line == NOT_TESTED
    out = run(str(seeded["success"]))
    assert "deflated sharpe: 0.61 at the test (3 strategies tried" in out and "now (" not in out
