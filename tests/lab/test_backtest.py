"""Backtest engine: hand-checked cases, metrics, deflated Sharpe, end to end on a trained model."""

import math

import numpy as np
import pytest
from lab_helpers import sp500, strategy

from agentctl.lab.backtest import deflated_sharpe, metrics, run_backtest, signals_from_proba, simulate
from agentctl.lab.features import LabError
from agentctl.lab.strategy import validate_strategy
from agentctl.lab.training import train

O = np.array([10, 11, 12, 13, 14, 15.0])
C = np.array([10.5, 11.5, 12.5, 13.5, 14.5, 15.5])


def test_signal_at_t_trades_at_next_open():
    sim = simulate(O, C, np.array([1, 1, 0, -1, -1, 0.0]), 0.0, 0.0)
    np.testing.assert_array_equal(sim.position, [0, 1, 1, 0, -1, -1])
    np.testing.assert_array_equal(sim.entry_bar, [1, 4])
    np.testing.assert_array_equal(sim.exit_bar, [3, 5])
    long_ = 13 / 11
    short = long_ * (1 - (15.5 / 14 - 1))  # still open at the end: closed at the last close
    np.testing.assert_allclose(sim.equity, [1, 11.5 / 11, 12.5 / 11, long_, long_ * (1 - (14.5 / 14 - 1)), short])
    np.testing.assert_allclose(sim.trade_return, [long_ - 1, 1 - 15.5 / 14])


def test_fees_and_slippage_per_side():
    fee, slip = 0.001, 0.0005
    sim = simulate(O, C, np.array([1, 0, 0, 0, 0, 0.0]), fee, slip)
    entry, exit_ = 11 * (1 + slip), 12 * (1 - slip)
    units = 1 / (entry * (1 + fee))  # all equity, entry fee included
    assert sim.trade_return[0] == pytest.approx(units * exit_ * (1 - fee) - 1)
    assert sim.equity[-1] == pytest.approx(1 + sim.trade_return[0])


def test_flip_long_to_short_is_two_trades():
    sim = simulate(O, C, np.array([1, -1, -1, 0, 0, 0.0]), 0.0, 0.0)
    np.testing.assert_array_equal(sim.direction, [1, -1])
    np.testing.assert_array_equal(sim.entry_bar, [1, 2])
    np.testing.assert_array_equal(sim.exit_bar, [2, 4])


def test_no_signal_no_trades_and_defined_metrics(sp500):
    hold = sp500.iloc[-300:]
    sim = simulate(hold["open"].to_numpy(), hold["close"].to_numpy(), np.zeros(300), 0.001, 0.0)
    r = metrics(sim, hold.index, 1.0, 1.0, 252.0, 1)
    assert r.total_trades == 0 and r.sharpe == 0 and r.max_drawdown == 0 and r.exposure == 0
    assert r.win_rate == 0 and r.total_return == 0


def test_metrics_of_buy_and_hold(sp500):
    hold = sp500.iloc[-500:]
    o, c = hold["open"].to_numpy(), hold["close"].to_numpy()
    sim = simulate(o, c, np.ones(500), 0.0, 0.0)
    r = metrics(sim, hold.index, c[0], c[-1], 252.0, 1)
    assert r.total_trades == 1 and r.exposure == pytest.approx(499 / 500)
    assert r.total_return == pytest.approx(c[-1] / o[1] - 1)
    rets = np.diff(np.concatenate(([1.0], sim.equity))) / np.concatenate(([1.0], sim.equity[:-1]))
    assert r.sharpe == pytest.approx(rets.mean() / rets.std(ddof=1) * math.sqrt(252))
    eq = sim.equity
    assert r.max_drawdown == pytest.approx(np.max(1 - eq / np.maximum.accumulate(eq)))
    assert 0 < r.max_drawdown < 1 and len(r.equity_curve) == 500
    assert r.cagr == pytest.approx(eq[-1] ** (252 / 500) - 1)


def test_deflated_sharpe_falls_with_more_trials():
    rng = np.random.default_rng(1)
    r = rng.normal(0.0005, 0.01, 1000)
    d1, d10, d1000 = (deflated_sharpe(r, n) for n in (1, 10, 1000))
    assert 0 <= d1000 < d10 < d1 <= 1
    assert deflated_sharpe(np.zeros(100), 5) == 0.0


def test_signals_from_proba():
    proba = np.array([[0.2, 0.8], [0.7, 0.3], [0.5, 0.5]])
    np.testing.assert_array_equal(signals_from_proba(proba, [-1, 1], 0.6, False), [1, 0, 0])
    np.testing.assert_array_equal(signals_from_proba(proba, [-1, 1], 0.6, True), [1, -1, 0])


def test_backtest_end_to_end(tmp_path):
    cfg = validate_strategy(strategy()).config
    t = train(cfg, tmp_path, tmp_path / "m.joblib")
    r = run_backtest(cfg, tmp_path / "m.joblib", tmp_path, n_trials=3)
    assert r.bars == t.holdout_bars and r.start == t.holdout_start
    assert r.n_trials == 3 and 0 <= r.deflated_sharpe <= 1 and len(r.equity_curve) <= 500
    assert 1000 < r.bars_per_year < 2500  # ~7 regular-session hours x 252 days
    other = validate_strategy(strategy(trading={"confidence": 0.9})).config
    with pytest.raises(LabError, match="different strategy"):
        run_backtest(other, tmp_path / "m.joblib", tmp_path)
