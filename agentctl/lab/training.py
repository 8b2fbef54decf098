"""Training: fit the strategy's model on the earlier part of its dataset.

Split, in time order: [warm-up | train | validation | holdout]. The holdout (the
backtest's bars) is never read by fitting, scaling or early stopping. Labels look
`horizon` bars ahead, so the last `horizon` bars of train and of validation are
purged: no label ever uses a close from the next part.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agentctl.lab.data import load_ohlcv, split_points
from agentctl.lab.features import CLASS_NAMES, LabError, compute_features, make_labels, warmup_bars
from agentctl.lab.models import FitData, Fitted, Progress, aligned_proba, fit, log_loss
from agentctl.lab.results import TrainingResult
from agentctl.lab.strategy import StrategyConfig, strategy_hash

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MIN_TRAIN_ROWS = 200
MIN_VALIDATION_ROWS = 50
ARTIFACT_VERSION = 1


def _noop(pct: float, message: str) -> None:
    pass


class _Split(NamedTuple):
    """The dataset cut for fitting: rows are positions in `df` (and in the feature frame)."""

    df: pd.DataFrame
    columns: list[str]
    train_rows: np.ndarray
    val_rows: np.ndarray
    holdout_start: int
    data: FitData


class _Scores(NamedTuple):
    accuracy: float
    log_loss: float
    train_accuracy: float
    majority_baseline_accuracy: float


def train(config: StrategyConfig, home: Path, model_path: Path | str, progress: Progress = _noop) -> TrainingResult:
    """Fit, validate and save the model; raise LabError with a reason on bad data or a degenerate model."""
    started = time.perf_counter()
    split = _split(config, home, progress)
    progress(10, f"fitting {config.model.family} on {len(split.train_rows)} bars")
    fitted = fit(config.model, split.data, progress)

    progress(92, "validating")
    scores = _score(fitted.model, split.data)
    chash = strategy_hash(config)
    artifact = {
        "version": ARTIFACT_VERSION,
        "model": fitted.model,
        "classes": split.data.classes.tolist(),
        "columns": split.columns,
        "strategy_hash": chash,
        "config": config.model_dump(mode="json"),
    }
    from agentctl.lab import artifacts

    artifacts.save(artifact, model_path)  # a path or an fsspec URL (the ray executor's shared store)

    progress(100, "done")
    return _result(config, split, fitted, scores, model_path, chash, time.perf_counter() - started)


def _split(config: StrategyConfig, home: Path, progress: Progress) -> _Split:
    """Load the dataset, compute features and labels, and cut [warm-up | train | validation | holdout]."""
    import numpy as np

    progress(2, "loading data")
    df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, home)
    if len(df) == 0:
        raise LabError(f"dataset {config.dataset.symbol}/{config.dataset.timeframe} is empty")
    val_start, holdout_start = split_points(len(df))

    progress(5, "computing features")
    # Features on bars before the holdout only: the holdout cannot influence anything fitted.
    pre = df.iloc[:holdout_start]
    X_all = compute_features(pre, config.features)
    y_all = make_labels(pre["close"], config.label)  # NaN for the last `horizon` bars: purged
    warm = warmup_bars(X_all)
    h = config.label.horizon
    train_rows = np.arange(warm, val_start - h)
    val_rows = np.arange(max(val_start, warm), holdout_start - h)
    if len(train_rows) < MIN_TRAIN_ROWS or len(val_rows) < MIN_VALIDATION_ROWS:
        raise LabError(
            f"not enough data: {max(len(train_rows), 0)} training and {max(len(val_rows), 0)} validation rows "
            f"after a {warm}-bar warm-up (need {MIN_TRAIN_ROWS} and {MIN_VALIDATION_ROWS})"
        )
    X = X_all.to_numpy(dtype="float64")
    _fail_on_nan(X, X_all.columns, X_all.index, np.concatenate([train_rows, val_rows]))
    X_tr, y_tr = X[train_rows], y_all[train_rows].astype(int)
    X_va, y_va = X[val_rows], y_all[val_rows].astype(int)
    classes = np.unique(y_tr)
    if len(classes) < 2:
        raise LabError(f"label has a single class ({CLASS_NAMES[int(classes[0])]}) in the training part")
    data = FitData(X_tr, y_tr, X_va, y_va, classes)
    return _Split(df, list(X_all.columns), train_rows, val_rows, holdout_start, data)


def _score(model: Any, d: FitData) -> _Scores:
    """Validation accuracy and log loss, training accuracy and the majority-class baseline."""
    import numpy as np

    classes = d.classes
    proba = aligned_proba(model, d.X_va, classes)
    pred = classes[np.argmax(proba, axis=1)]
    if len(np.unique(pred)) < 2:
        raise LabError(f"constant predictions: the model predicts {CLASS_NAMES[int(pred[0])]} for every validation bar")
    accuracy = float(np.mean(pred == d.y_va))
    loss = log_loss(d.y_va, proba, classes)
    train_acc = float(np.mean(classes[np.argmax(aligned_proba(model, d.X_tr, classes), axis=1)] == d.y_tr))
    values, counts = np.unique(d.y_tr, return_counts=True)
    majority = values[np.argmax(counts)]
    baseline = float(np.mean(d.y_va == majority))
    for name, value in (("accuracy", accuracy), ("log loss", loss), ("train accuracy", train_acc)):
        if not np.isfinite(value):
            raise LabError(f"{name} is not a finite number")
    return _Scores(accuracy, loss, train_acc, baseline)


def _result(
    config: StrategyConfig,
    split: _Split,
    fitted: Fitted,
    scores: _Scores,
    model_path: Path | str,
    chash: str,
    duration_s: float,
) -> TrainingResult:
    import numpy as np

    y_tr, idx = split.data.y_tr, split.df.index
    values, counts = np.unique(y_tr, return_counts=True)
    return TrainingResult(
        accuracy=scores.accuracy,
        log_loss=scores.log_loss,
        train_accuracy=scores.train_accuracy,
        majority_baseline_accuracy=scores.majority_baseline_accuracy,
        iterations=fitted.iterations,
        early_stopped=fitted.early_stopped,
        class_balance={
            CLASS_NAMES[int(v)]: round(float(c) / len(y_tr), 6) for v, c in zip(values, counts, strict=False)
        },
        classes=[CLASS_NAMES[int(c)] for c in split.data.classes],
        train_bars=len(split.train_rows),
        validation_bars=len(split.val_rows),
        holdout_bars=len(split.df) - split.holdout_start,
        train_start=idx[split.train_rows[0]].to_pydatetime(),
        validation_start=idx[split.val_rows[0]].to_pydatetime(),
        holdout_start=idx[split.holdout_start].to_pydatetime(),
        feature_columns=split.columns,
        model_family=config.model.family,
        model_path=str(model_path),
        strategy_hash=chash,
        duration_s=round(duration_s, 3),
    )


def _fail_on_nan(X: np.ndarray, columns: Any, index: Any, rows: np.ndarray) -> None:
    import numpy as np

    bad = ~np.isfinite(X[rows])
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise LabError(f"NaN feature {columns[c]} at {index[rows[r]]} (after the warm-up)")
