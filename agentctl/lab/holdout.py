"""The sealed final holdout: one test of a strategy on the last part of its dataset.

One model is fitted on the whole research period (an early-stopping family watches
its last part, purged, as a fold's model does) and traded on the final holdout's bars
only. Nothing else in the lab reads those bars: training and the research backtest stop
at the research period's end, a purge gap earlier.
"""

from __future__ import annotations

import time
from pathlib import Path

from agentctl.lab.backtest import bar_returns, metrics, trade
from agentctl.lab.data import bars_per_year, load_ohlcv
from agentctl.lab.features import LabError, compute_features
from agentctl.lab.models import Progress
from agentctl.lab.results import HoldoutResult
from agentctl.lab.strategy import StrategyConfig
from agentctl.lab.training import fit_rows, predict, research


def _noop(pct: float, message: str) -> None:
    pass


def run_holdout(config: StrategyConfig, home: Path, progress: Progress = _noop) -> HoldoutResult:
    """Fit on the research period, trade the final holdout, and test its Sharpe against zero."""
    import numpy as np

    from agentctl.lab import stats

    started = time.perf_counter()
    progress(2, "loading data")
    df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, home)
    progress(5, "computing features")
    r = research(df, config)
    p = r.periods
    progress(10, f"fitting {config.model.family} on the research period")
    fitted, _ = fit_rows(config.model, r, np.arange(r.warm, p.research_end), progress, "the research period")

    progress(90, "trading the final holdout")
    hold = df.iloc[p.holdout_start :]
    if len(hold) < 2:
        raise LabError("the final holdout has fewer than two bars")
    # Features are causal: computed on the whole series, a holdout bar's use only bars up to it.
    features = compute_features(df, config.features).iloc[p.holdout_start :]
    X = features.to_numpy(dtype="float64")
    if not np.all(np.isfinite(X)):
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise LabError(f"NaN feature {features.columns[col]} at {features.index[row]} in the final holdout")
    sim = trade(predict(fitted.model, X, r.classes), [int(c) for c in r.classes], hold, config)
    close = hold["close"].to_numpy()
    perf = metrics(sim, hold.index, float(close[0]), float(close[-1]), bars_per_year(r.index))
    progress(100, "done")
    return HoldoutResult(
        **perf.model_dump(),
        sharpe_p_value=stats.sharpe_greater_than_zero_p(bar_returns(sim.equity)),
        duration_s=round(time.perf_counter() - started, 3),
    )
