"""Backtest engine: hand-checked cases, metrics, and the research backtest of out-of-fold predictions."""

import math

import numpy as np
import pytest
from lab_helpers import sp500, strategy

from agentctl.lab import stats
from agentctl.lab.backtest import bar_returns, metrics, run_backtest, signals_from_proba, simulate
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
    r = metrics(sim, hold.index, 1.0, 1.0, 252.0)
    assert r.total_trades == 0 and r.sharpe == 0 and r.max_drawdown == 0 and r.exposure == 0
    assert r.win_rate == 0 and r.total_return == 0


def test_metrics_of_buy_and_hold(sp500):
    hold = sp500.iloc[-500:]
    o, c = hold["open"].to_numpy(), hold["close"].to_numpy()
    sim = simulate(o, c, np.ones(500), 0.0, 0.0)
    r = metrics(sim, hold.index, c[0], c[-1], 252.0)
    assert r.total_trades == 1 and r.exposure == pytest.approx(499 / 500)
    assert r.total_return == pytest.approx(c[-1] / o[1] - 1)
    rets = np.diff(np.concatenate(([1.0], sim.equity))) / np.concatenate(([1.0], sim.equity[:-1]))
    assert r.sharpe == pytest.approx(rets.mean() / rets.std(ddof=1) * math.sqrt(252))
    eq = sim.equity
    assert r.max_drawdown == pytest.approx(np.max(1 - eq / np.maximum.accumulate(eq)))
    assert 0 < r.max_drawdown < 1 and len(r.equity_curve) == 500
    assert r.cagr == pytest.approx(eq[-1] ** (252 / 500) - 1)


def test_signals_from_proba():
    proba = np.array([[0.2, 0.8], [0.7, 0.3], [0.5, 0.5]])
    np.testing.assert_array_equal(signals_from_proba(proba, [-1, 1], 0.6, False), [1, 0, 0])
    np.testing.assert_array_equal(signals_from_proba(proba, [-1, 1], 0.6, True), [1, -1, 0])


def test_backtest_trades_the_out_of_fold_bars(tmp_path):
    cfg = validate_strategy(strategy()).config
    t = train(cfg, tmp_path, tmp_path / "m.joblib")
    r = run_backtest(cfg, tmp_path / "m.joblib", tmp_path, n_trials=3, trial_sharpes=[0.5, -0.2])
    assert r.bars == t.oof_bars and r.start == t.oof_start and r.end == t.research_end
    assert r.end < t.holdout_start
    assert r.n_trials == 3 and 0 <= r.deflated_sharpe <= 1 and len(r.equity_curve) <= 500
    assert 1000 < r.bars_per_year < 2500  # ~7 regular-session hours x 252 days
    assert r.folds == t.folds == len(r.fold_sharpe) == len(r.fold_return) == 5
    assert r.fold_accuracy == pytest.approx(t.fold_accuracy)
    assert r.folds_profitable == sum(x > 0 for x in r.fold_return)
    assert np.prod([1 + x for x in r.fold_return]) - 1 == pytest.approx(r.total_return)
    other = validate_strategy(strategy(trading={"confidence": 0.9})).config
    with pytest.raises(LabError, match="different strategy"):
        run_backtest(other, tmp_path / "m.joblib", tmp_path)
    with pytest.raises(LabError, match=r"model file .* is missing"):
        run_backtest(cfg, tmp_path / "gone.joblib", tmp_path)


def test_deflated_sharpe_inputs_are_kept_to_recompute_it(tmp_path):
    cfg = validate_strategy(strategy()).config
    train(cfg, tmp_path, tmp_path / "m.joblib")
    few = run_backtest(cfg, tmp_path / "m.joblib", tmp_path, n_trials=4, trial_sharpes=[0.5, -0.2])
    assert few.variance_source.startswith("no-skill") and few.var_trials == pytest.approx(1 / (few.t - 1))
    assert few.t == few.bars and few.sr * math.sqrt(few.bars_per_year) == pytest.approx(few.sharpe)
    assert few.deflated_sharpe == pytest.approx(
        stats.probabilistic_sharpe(few.sr, few.sr0, few.t, few.skew, few.kurtosis)
    )
    assert few.sr0 == pytest.approx(stats.expected_max_sharpe(4, few.var_trials))
    sharpes = [1.5, -1.0, 0.3, 2.0, -0.4, 0.9]
    many = run_backtest(cfg, tmp_path / "m.joblib", tmp_path, n_trials=40, trial_sharpes=sharpes)
    assert many.variance_source.startswith("recorded trials")
    assert many.var_trials == pytest.approx(np.var(sharpes, ddof=1) / many.bars_per_year)
    assert many.sr == few.sr and many.sr0 > few.sr0 and many.deflated_sharpe < few.deflated_sharpe


def test_blocks_are_the_datasets_not_the_strategys(tmp_path):
    """Two strategies on one dataset (different purge gaps) cut their returns into the same time blocks."""
    results = []
    for horizon in (1, 7):
        cfg = validate_strategy(strategy(label={"horizon": horizon})).config
        train(cfg, tmp_path, tmp_path / f"{horizon}.joblib")
        results.append(run_backtest(cfg, tmp_path / f"{horizon}.joblib", tmp_path))
    a, b = results
    assert (a.blocks_start, a.blocks_end) == (b.blocks_start, b.blocks_end)
    assert len(a.blocks) == len(b.blocks) == stats.BLOCKS
    assert sum(c for _, _, c in a.blocks) == a.bars and sum(c for _, _, c in b.blocks) == b.bars == a.bars - 6
    assert [blk[2] for blk in a.blocks[:-1]] == [blk[2] for blk in b.blocks[:-1]]  # the purge shortens the last only


def test_bar_returns_of_an_equity_curve():
    np.testing.assert_allclose(bar_returns(np.array([1.1, 1.21, 1.21])), [0.1, 0.1, 0.0])


def test_every_trained_strategy_on_a_dataset_joins_the_data_snooping_family(tmp_path):
    from agentctl.lab import artifacts
    from agentctl.lab.training import trial_location

    first = validate_strategy(strategy(name="first"), tmp_path).config
    second = validate_strategy(
        strategy(name="second", features=[{"function": "ROC", "params": {"timeperiod": 1}}]), tmp_path
    ).config
    tr1 = train(first, tmp_path, tmp_path / "a.joblib")
    tr2 = train(second, tmp_path, tmp_path / "b.joblib")
    # Training keeps each strategy's out-of-fold excess returns beside its model, and its one-strategy test.
    assert tr1.trial_path == trial_location(tmp_path / "a.joblib")
    trial = artifacts.load(tr1.trial_path)
    assert trial["dataset"] == "AAPL/1h" and len(trial["excess"]) == tr1.oof_bars
    assert tr1.excess_p_value is not None and 0 < tr1.excess_p_value <= 1

    alone = run_backtest(second, tmp_path / "b.joblib", tmp_path, 2, [], [])
    family = run_backtest(second, tmp_path / "b.joblib", tmp_path, 2, [], [tr1.trial_path])
    assert (alone.snooping_trials, family.snooping_trials) == (1, 2)
    assert family.snooping_p_value >= alone.snooping_p_value  # another trial can only raise the bar
    assert family.excess_p_value == pytest.approx(tr2.excess_p_value)  # the same trades as training's
    # A trial whose file is gone still counts, as an independent trial: the p-value widens.
    lost = run_backtest(second, tmp_path / "b.joblib", tmp_path, 3, [], [tr1.trial_path, str(tmp_path / "gone")])
    assert lost.snooping_trials == 3 and lost.snooping_p_value >= family.snooping_p_value
