"""The sealed final holdout: one test of a strategy on the last part of its dataset.

One model is fitted on the whole research period (an early-stopping family watches
its last part, purged, as a fold's model does) and traded on the final holdout's bars
only. Nothing else in the lab reads those bars: training and the research backtest stop
at the research period's end, a purge gap earlier. The fitted model is kept
(`final_model_location`): it is the one `agentctl export` ships and `agentctl predict` uses.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.lab.backtest import Simulation, bar_returns, market_evidence, metrics, trade
from agentctl.lab.data import bars_per_year, load_ohlcv
from agentctl.lab.features import LabError, compute_features
from agentctl.lab.models import Progress
from agentctl.lab.strategy import StrategyConfig, strategy_hash
from agentctl.lab.training import ResearchBars, fit_rows, predict, research
from agentctl.results import HoldoutResult

if TYPE_CHECKING:
    import pandas as pd

FINAL_MODEL_VERSION = 1


def _noop(pct: float, message: str) -> None:
    pass


def final_model_location(config: StrategyConfig, home: Path) -> str:
    """Where the holdout keeps the model it fitted on the whole research period (one per strategy hash)."""
    from agentctl.lab.artifacts import location_for

    return location_for(None, home, f"final-{strategy_hash(config)}")


def run_holdout(config: StrategyConfig, home: Path, progress: Progress = _noop) -> HoldoutResult:
    """Fit on the research period, trade the final holdout, and test its Sharpe against zero."""
    import numpy as np

    started = time.perf_counter()
    progress(2, "loading data")
    df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, home)
    progress(5, "computing features")
    r = research(df, config)
    p = r.periods
    progress(10, f"fitting {config.model.family} on the research period")
    fitted, _ = fit_rows(config.model, r, np.arange(r.warm, p.research_end), progress, "the research period")
    _keep(config, r, fitted.model, home)

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
    result = score(sim, hold, bars_per_year(r.index), float(df["close"].iloc[p.holdout_start - 1]))
    progress(100, "done")
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


def score(sim: Simulation, hold: pd.DataFrame, per_year: float, previous_close: float) -> HoldoutResult:
    """The final holdout's figures and its confirmation test, for a simulation over the holdout bars `hold`.

    One function for every strategy and for the power benchmark's oracle, so both are
    confirmed by the very same test.
    """
    from agentctl.lab import stats

    close = hold["close"].to_numpy()
    perf = metrics(sim, hold.index, float(close[0]), float(close[-1]), per_year)
    evidence = market_evidence(sim, hold, per_year, previous_close)
    return HoldoutResult(
        **(perf.model_dump() | evidence), sharpe_p_value=stats.sharpe_greater_than_zero_p(bar_returns(sim.equity))
    )


def _keep(config: StrategyConfig, r: ResearchBars, model: object, home: Path) -> None:
    from agentctl.lab import artifacts

    artifact = {
        "version": FINAL_MODEL_VERSION,
        "kind": "final",
        "strategy_hash": strategy_hash(config),
        "config": config.model_dump(mode="json"),
        "columns": r.columns,
        "classes": [int(c) for c in r.classes],
        "periods": tuple(r.periods),
        "fitted_through": r.index[r.periods.research_end - 1].to_pydatetime(),
        "model": model,
    }
    artifacts.save(artifact, final_model_location(config, home))
