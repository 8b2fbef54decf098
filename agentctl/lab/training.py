"""Training: anchored walk-forward on the research period, out-of-fold predictions for every scored bar.

A dataset's periods (lab/periods.py) are [research | purge gap | sealed final holdout].
Training reads research bars only: features of bars before research_end, and labels,
which need closes up to research_end - 1 + horizon, still inside the purge gap.

The research period is cut into folds + 1 parts (periods.fold_parts); fold i fits on
every bar before part i except the last `purge` ones and predicts part i. A family
that stops early watches the last part of its own training rows, purged again, never
the part it is scored on. What is saved is the out-of-fold predictions, which the
backtest trades; the final holdout's model is fitted by its own operation (lab/holdout.py).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agentctl.lab.data import load_ohlcv
from agentctl.lab.features import (
    CLASS_NAMES,
    LabError,
    compute_features,
    feature_lookback,
    make_labels,
    warmup_bars,
)
from agentctl.lab.models import FitData, Fitted, Progress, early_stops, fit, log_loss
from agentctl.lab.periods import Periods, fold_parts, periods
from agentctl.lab.strategy import StrategyConfig, strategy_hash
from agentctl.results import TrainingResult

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DEFAULT_FOLDS = 5
MIN_TRAIN_ROWS = 200  # rows a fold trains on (before an early-stopping family sets its validation rows aside)
MIN_FIT_ROWS = 100  # rows a model is fitted on
MIN_FOLD_BARS = 20  # bars a fold scores
MIN_VALIDATION_ROWS = 50
VALIDATION_FRACTION = 0.2  # of a fold's training rows, the last part watched by early stopping
ARTIFACT_VERSION = 2
TRIAL_VERSION = 1


def _noop(pct: float, message: str) -> None:
    pass


class ResearchBars(NamedTuple):
    """The research period's bars as training may read them: rows are bar positions from the dataset's start."""

    index: pd.DatetimeIndex  # timestamps of the research bars
    X: np.ndarray  # features
    y: np.ndarray  # labels (-1, 0, 1); valid from `warm` on
    columns: list[str]
    periods: Periods
    warm: int  # first bar with every feature
    classes: np.ndarray  # label classes seen in the research period, sorted
    holdout_time: datetime  # the final holdout's first timestamp (its values are never read)


class OutOfFold(NamedTuple):
    parts: list[tuple[int, int]]  # [start, end) scored per fold
    proba: np.ndarray  # rows: bars parts[0][0] .. parts[-1][1]; columns: ResearchBars.classes
    constant: list[int]  # each fold's best constant guess: its training majority class
    train_accuracy: list[float]
    iterations: list[int]
    early_stopped: list[bool]
    models: list[Any]  # each fold's fitted model; the artifact keeps the last, the one `agentctl predict` uses


def research(df: pd.DataFrame, config: StrategyConfig) -> ResearchBars:
    """Features and labels of the research period of `df` for `config`; nothing after it is read."""
    import numpy as np

    h = config.label.horizon
    p = periods(len(df), h, feature_lookback(config.features), config.dataset.timeframe)
    features = compute_features(df.iloc[: p.research_end], config.features)
    # Labels of research bars need closes up to research_end - 1 + h: inside the purge gap, never the holdout.
    y = make_labels(df["close"].iloc[: p.research_end + h], config.label)[: p.research_end]
    warm = warmup_bars(features)
    X = features.to_numpy(dtype="float64")
    rows = np.arange(warm, p.research_end)
    _fail_on_nan(X, features.columns, features.index, rows)
    classes = np.unique(y[rows])
    if len(classes) < 2:
        name = CLASS_NAMES[int(classes[0])] if len(classes) else "none"
        raise LabError(f"label has a single class ({name}) in the research period")
    index = df.index[: p.research_end]
    holdout_time = df.index[p.holdout_start].to_pydatetime()
    return ResearchBars(index, X, y, list(features.columns), p, warm, classes, holdout_time)


def fit_rows(spec: Any, r: ResearchBars, rows: np.ndarray, progress: Progress, what: str) -> tuple[Fitted, np.ndarray]:
    """Fit on `rows` (time-ordered bar positions); returns the model and the rows it was fitted on.

    An early-stopping family watches the last VALIDATION_FRACTION of the rows and is
    fitted on those before them, less a purge gap.
    """
    import numpy as np

    y = r.y.astype(int)
    val = np.empty(0, dtype=np.int64)
    fit_on = rows
    if len(rows) < MIN_TRAIN_ROWS:
        raise LabError(
            f"not enough data: {what} has {max(len(rows), 0)} training rows after a {r.warm}-bar warm-up and a "
            f"{r.periods.purge}-bar purge gap (need {MIN_TRAIN_ROWS}); use shorter lookbacks, a shorter horizon "
            "or fewer folds"
        )
    if early_stops(spec):
        val = rows[-max(MIN_VALIDATION_ROWS, int(len(rows) * VALIDATION_FRACTION)) :]
        fit_on = rows[rows < val[0] - r.periods.purge]
    classes = np.unique(y[fit_on])
    if len(fit_on) < MIN_FIT_ROWS or len(classes) < 2:
        single = f" of a single class ({CLASS_NAMES[int(classes[0])]})" if len(classes) == 1 else ""
        raise LabError(f"not enough data: {what} fits on {len(fit_on)} rows{single} (need {MIN_FIT_ROWS}, two classes)")
    val = val[np.isin(y[val], classes)]
    data = FitData(r.X[fit_on], y[fit_on], r.X[val], y[val], classes)
    return fit(spec, data, progress), fit_on


def predict(model: Any, X: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """predict_proba with one column per class in `classes` (0 for a class the model never saw)."""
    import numpy as np

    proba = np.asarray(model.predict_proba(X), dtype="float64")
    out = np.zeros((len(X), len(classes)))
    out[:, np.searchsorted(classes, model.classes_)] = proba
    return out


def walk_forward(spec: Any, r: ResearchBars, folds: int, progress: Progress) -> OutOfFold:
    """Fit one model per fold on the bars before it (purged) and predict the fold's bars."""
    import numpy as np

    parts = fold_parts(r.periods, folds)
    short = [k + 1 for k, (lo, hi) in enumerate(parts) if hi - lo < MIN_FOLD_BARS]
    if short:
        raise LabError(f"not enough data: fold {short[0]} scores fewer than {MIN_FOLD_BARS} bars; use fewer folds")
    start = parts[0][0]
    proba = np.empty((parts[-1][1] - start, len(r.classes)))
    out = OutOfFold(parts, proba, [], [], [], [], [])
    y = r.y.astype(int)
    for k, (lo, hi) in enumerate(parts):
        base, span = 10 + 80 * k / folds, 80 / folds
        progress(base, f"fold {k + 1}/{folds}: fitting on the bars before {r.index[lo]:%Y-%m-%d %H:%M}")
        rows = np.arange(r.warm, lo - r.periods.purge)
        fitted, fit_on = fit_rows(
            spec, r, rows, _within(progress, base, span, f"fold {k + 1}/{folds}"), f"fold {k + 1}"
        )
        proba[lo - start : hi - start] = predict(fitted.model, r.X[lo:hi], r.classes)
        values, counts = np.unique(y[rows], return_counts=True)
        out.constant.append(int(values[np.argmax(counts)]))
        fitted_proba = predict(fitted.model, r.X[fit_on], r.classes)
        out.train_accuracy.append(float(np.mean(r.classes[np.argmax(fitted_proba, axis=1)] == y[fit_on])))
        out.iterations.append(fitted.iterations)
        out.early_stopped.append(fitted.early_stopped)
        out.models.append(fitted.model)
    return out


def _within(progress: Progress, base: float, span: float, label: str) -> Progress:
    """A model's progress (10..90) mapped into its fold's share of the operation's."""

    def report(pct: float, message: str) -> None:
        progress(base + span * (max(10.0, min(90.0, pct)) - 10) / 80, f"{label}: {message}")

    return report


def train(
    config: StrategyConfig,
    home: Path,
    model_path: Path | str,
    progress: Progress = _noop,
    folds: int = DEFAULT_FOLDS,
) -> TrainingResult:
    """Walk forward, score out of fold and save the predictions; raise LabError with a reason on bad data."""
    from agentctl.lab import artifacts

    started = time.perf_counter()
    progress(2, "loading data")
    df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, home)
    if len(df) == 0:
        raise LabError(f"dataset {config.dataset.symbol}/{config.dataset.timeframe} is empty")
    progress(5, "computing features")
    r = research(df, config)
    oof = walk_forward(config.model, r, folds, progress)
    progress(92, "scoring out of fold")
    result = _result(config, r, oof, str(model_path), time.perf_counter() - started)
    excess, economics = _trade_out_of_fold(config, df, r, oof)
    del df  # read only up to the research period's end
    result = result.model_copy(update={**economics, "trial_path": trial_location(model_path)})
    artifacts.save(_artifact(config, r, oof, result.strategy_hash), model_path)
    artifacts.save(_trial(config, oof, excess, result.strategy_hash), trial_location(model_path))
    progress(100, "done")
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


def trial_location(model_path: Path | str) -> str:
    """Where a training keeps its out-of-fold excess returns: beside its model, wherever that is."""
    location = str(model_path)
    stem = location[: -len(".joblib")] if location.endswith(".joblib") else location
    return stem + "-trial.joblib"


def _trade_out_of_fold(
    config: StrategyConfig, df: pd.DataFrame, r: ResearchBars, oof: OutOfFold
) -> tuple[np.ndarray, dict[str, Any]]:
    """The strategy's rules traded on its out-of-fold predictions: excess returns and their one-strategy test.

    The economic evidence the training gate and the designer's search read: what the
    predictions earn beyond the market exposure they hold, after costs, not how often they
    are right.
    """
    from agentctl.lab import excess
    from agentctl.lab.backtest import bar_returns, trade
    from agentctl.lab.data import bars_per_year

    start, end = oof.parts[0][0], oof.parts[-1][1]
    bars = df.iloc[start:end]
    sim = trade(oof.proba, [int(c) for c in r.classes], bars, config)
    market = excess.market_returns(bars["close"].to_numpy(), float(df["close"].iloc[start - 1]))
    e, exposure = excess.excess_returns(bar_returns(sim.equity), market, sim.position)
    test = excess.hac_test(e, bars_per_year(r.index))
    return e, {
        "excess_sharpe": test.sharpe,
        "excess_t": test.t,
        "excess_p_value": test.p,
        "exposure_net": exposure,
        "oof_trades": len(sim.trade_return),
    }


def _trial(config: StrategyConfig, oof: OutOfFold, excess: np.ndarray, chash: str) -> dict[str, Any]:
    """One trial of the data-snooping family: its excess return on each out-of-fold bar position."""
    return {
        "version": TRIAL_VERSION,
        "strategy_hash": chash,
        "dataset": f"{config.dataset.symbol}/{config.dataset.timeframe}",
        "positions": (oof.parts[0][0], oof.parts[-1][1]),
        "excess": excess.astype("float32"),
    }


def _artifact(config: StrategyConfig, r: ResearchBars, oof: OutOfFold, chash: str) -> dict[str, Any]:
    """What the backtest trades: the out-of-fold predictions, with what they were made from."""
    start, end = oof.parts[0][0], oof.parts[-1][1]
    return {
        "version": ARTIFACT_VERSION,
        "strategy_hash": chash,
        "config": config.model_dump(mode="json"),
        "columns": r.columns,
        "classes": [int(c) for c in r.classes],
        "periods": tuple(r.periods),
        "parts": oof.parts,
        "positions": (start, end),  # the bars predicted: [start, end)
        "timestamps": r.index[start:end].asi8.copy(),  # to recognise the same bars at backtest time
        "proba": oof.proba,
        "labels": r.y[start:end].astype(int),
        # The last fold's model made the research backtest's last predictions: a researcher predicts with it.
        "model": oof.models[-1],
    }


def _fractions(values: np.ndarray) -> dict[str, float]:
    import numpy as np

    found, counts = np.unique(values, return_counts=True)
    return {CLASS_NAMES[int(v)]: round(float(c) / len(values), 6) for v, c in zip(found, counts, strict=True)}


def _result(
    config: StrategyConfig, r: ResearchBars, oof: OutOfFold, model_path: str, duration_s: float
) -> TrainingResult:
    import numpy as np

    from agentctl.lab import stats

    start, end = oof.parts[0][0], oof.parts[-1][1]
    y = r.y[start:end].astype(int)
    pred = r.classes[np.argmax(oof.proba, axis=1)]
    guess = np.concatenate([np.full(hi - lo, c) for (lo, hi), c in zip(oof.parts, oof.constant, strict=True)])
    n, correct, constant_correct = len(y), int(np.sum(pred == y)), int(np.sum(guess == y))
    # Labels `horizon` bars long overlap their neighbours': n / horizon independent trials, not n.
    effective = max(1, n // config.label.horizon)
    p_value = stats.binomial_edge_p(round(correct * effective / n), effective, constant_correct / n)
    loss = log_loss(y, oof.proba, r.classes)
    if not np.isfinite(loss):
        raise LabError("out-of-fold log loss is not a finite number")
    by_fold = [(slice(lo - start, hi - start), c) for (lo, hi), c in zip(oof.parts, oof.constant, strict=True)]
    return TrainingResult(
        accuracy=correct / n,
        constant_accuracy=constant_correct / n,
        accuracy_p_value=p_value,
        oof_bars=n,
        oof_correct=correct,
        effective_bars=effective,
        log_loss=loss,
        train_accuracy=float(np.mean(oof.train_accuracy)),
        folds=len(oof.parts),
        fold_accuracy=[float(np.mean(pred[s] == y[s])) for s, _ in by_fold],
        fold_constant_accuracy=[float(np.mean(y[s] == c)) for s, c in by_fold],
        fold_constant_class=[CLASS_NAMES[c] for c in oof.constant],
        iterations=int(np.median(oof.iterations)),
        early_stopped=any(oof.early_stopped),
        class_balance=_fractions(y),
        prediction_balance=_fractions(pred),
        classes=[CLASS_NAMES[int(c)] for c in r.classes],
        research_start=r.index[r.periods.research_start].to_pydatetime(),
        oof_start=r.index[start].to_pydatetime(),
        research_end=r.index[r.periods.research_end - 1].to_pydatetime(),
        research_bars=r.periods.research_end - r.periods.research_start,
        purge_bars=r.periods.purge,
        holdout_start=r.holdout_time,
        feature_columns=r.columns,
        model_family=config.model.family,
        model_path=model_path,
        strategy_hash=strategy_hash(config),
        duration_s=round(duration_s, 3),
    )


def _fail_on_nan(X: np.ndarray, columns: Any, index: Any, rows: np.ndarray) -> None:
    import numpy as np

    bad = ~np.isfinite(X[rows])
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise LabError(f"NaN feature {columns[c]} at {index[rows[r]]} (after the warm-up)")
