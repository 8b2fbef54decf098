"""The sealed final holdout: one model on the whole research period, traded on the holdout bars only."""

import numpy as np
import pytest
from lab_helpers import aapl_1h, strategy

from agentctl.lab import stats
from agentctl.lab.backtest import bar_returns
from agentctl.lab.features import feature_lookback
from agentctl.lab.holdout import run_holdout
from agentctl.lab.periods import periods
from agentctl.lab.strategy import validate_strategy


def config(**changes):
    report = validate_strategy(strategy(**changes))
    assert report.ok, report.errors
    return report.config


def test_the_holdout_trades_the_holdout_bars_only(aapl_1h, tmp_path):
    cfg = config()
    r = run_holdout(cfg, tmp_path)
    p = periods(len(aapl_1h), 1, feature_lookback(cfg.features))
    assert r.bars == len(aapl_1h) - p.holdout_start
    assert r.start == aapl_1h.index[p.holdout_start] and r.end == aapl_1h.index[-1]
    close = aapl_1h["close"].to_numpy()
    assert r.buy_and_hold_return == pytest.approx(close[-1] / close[p.holdout_start] - 1)
    assert 0 <= r.sharpe_p_value <= 1 and len(r.equity_curve) <= 500 and r.duration_s > 0
    assert (r.sharpe > 0) == (r.sharpe_p_value < 0.5)


def test_the_holdout_model_fits_on_the_research_period(aapl_1h, tmp_path, monkeypatch):
    import agentctl.lab.holdout as holdout

    seen = []
    real = holdout.fit_rows

    def spy(spec, r, rows, progress, what):
        fitted, fit_on = real(spec, r, rows, progress, what)
        seen.append((r, rows, fit_on))
        return fitted, fit_on

    monkeypatch.setattr(holdout, "fit_rows", spy)
    cfg = config(model={"family": "mlp", "max_epochs": 20})
    run_holdout(cfg, tmp_path)
    [(r, rows, fit_on)] = seen
    p = periods(len(aapl_1h), 1, feature_lookback(cfg.features))
    assert r.periods == p and rows[0] == r.warm and rows[-1] == p.research_end - 1
    assert len(r.X) == p.research_end  # features were computed on research bars only
    assert fit_on[-1] < rows[-1] - int(len(rows) * 0.2) - p.purge + 1  # early stopping watched a purged later part


def test_the_holdout_p_value_is_the_sharpe_test_of_its_returns(aapl_1h, tmp_path, monkeypatch):
    import agentctl.lab.holdout as holdout

    sims = []
    real = holdout.trade

    def spy(*args):
        sims.append(real(*args))
        return sims[-1]

    monkeypatch.setattr(holdout, "trade", spy)
    r = run_holdout(config(), tmp_path)
    assert r.sharpe_p_value == stats.sharpe_greater_than_zero_p(bar_returns(sims[0].equity))
    assert r.total_trades == len(sims[0].trade_return)
    assert np.isfinite(r.sharpe)
