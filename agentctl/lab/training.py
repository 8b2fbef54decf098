"""Training: fit the strategy's model on the earlier part of its dataset.

Split, in time order: [warm-up | train | validation | holdout]. The holdout (the
backtest's bars) is never read by fitting, scaling or early stopping. Labels look
`horizon` bars ahead, so the last `horizon` bars of train and of validation are
purged: no label ever uses a close from the next part.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.lab.data import load_ohlcv, split_points
from agentctl.lab.features import CLASS_NAMES, LabError, compute_features, make_labels, warmup_bars
from agentctl.lab.results import TrainingResult
from agentctl.lab.strategy import StrategyConfig, strategy_hash

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[float, str], None]
MIN_TRAIN_ROWS = 200
MIN_VALIDATION_ROWS = 50
ARTIFACT_VERSION = 1


def _noop(pct: float, message: str) -> None:
    pass


def train(config: StrategyConfig, home: Path, model_path: Path | str, progress: Progress = _noop) -> TrainingResult:
    """Fit, validate and save the model; raise LabError with a reason on bad data or a degenerate model."""
    import numpy as np

    started = time.perf_counter()
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

    progress(10, f"fitting {config.model.family} on {len(train_rows)} bars")
    model, iterations, early_stopped = _fit(config, X_tr, y_tr, X_va, y_va, classes, progress)

    progress(92, "validating")
    proba = _aligned_proba(model, X_va, classes)
    pred = classes[np.argmax(proba, axis=1)]
    if len(np.unique(pred)) < 2:
        raise LabError(f"constant predictions: the model predicts {CLASS_NAMES[int(pred[0])]} for every validation bar")
    accuracy = float(np.mean(pred == y_va))
    loss = _log_loss(y_va, proba, classes)
    train_acc = float(np.mean(classes[np.argmax(_aligned_proba(model, X_tr, classes), axis=1)] == y_tr))
    values, counts = np.unique(y_tr, return_counts=True)
    majority = values[np.argmax(counts)]
    baseline = float(np.mean(y_va == majority))
    for name, value in (("accuracy", accuracy), ("log loss", loss), ("train accuracy", train_acc)):
        if not np.isfinite(value):
            raise LabError(f"{name} is not a finite number")

    chash = strategy_hash(config)
    artifact = {
        "version": ARTIFACT_VERSION,
        "model": model,
        "classes": classes.tolist(),
        "columns": list(X_all.columns),
        "strategy_hash": chash,
        "config": config.model_dump(mode="json"),
    }
    from agentctl.lab import artifacts

    artifacts.save(artifact, model_path)  # a path or an fsspec URL (the ray executor's shared store)

    progress(100, "done")
    idx = df.index
    return TrainingResult(
        accuracy=accuracy,
        log_loss=loss,
        train_accuracy=train_acc,
        majority_baseline_accuracy=baseline,
        iterations=iterations,
        early_stopped=early_stopped,
        class_balance={
            CLASS_NAMES[int(v)]: round(float(c) / len(y_tr), 6) for v, c in zip(values, counts, strict=False)
        },
        classes=[CLASS_NAMES[int(c)] for c in classes],
        train_bars=len(train_rows),
        validation_bars=len(val_rows),
        holdout_bars=len(df) - holdout_start,
        train_start=idx[train_rows[0]].to_pydatetime(),
        validation_start=idx[val_rows[0]].to_pydatetime(),
        holdout_start=idx[holdout_start].to_pydatetime(),
        feature_columns=list(X_all.columns),
        model_family=config.model.family,
        model_path=str(model_path),
        strategy_hash=chash,
        duration_s=round(time.perf_counter() - started, 3),
    )


def _fail_on_nan(X: np.ndarray, columns: Any, index: Any, rows: np.ndarray) -> None:
    import numpy as np

    bad = ~np.isfinite(X[rows])
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise LabError(f"NaN feature {columns[c]} at {index[rows[r]]} (after the warm-up)")


def _aligned_proba(model: Any, X: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """predict_proba with columns in `classes` order."""
    import numpy as np

    proba = model.predict_proba(X)
    order = [list(model.classes_).index(c) for c in classes]
    return np.asarray(proba)[:, order]


def _log_loss(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    import numpy as np

    p = np.clip(proba, 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    cols = np.searchsorted(classes, y)
    return float(-np.mean(np.log(p[np.arange(len(y)), cols])))


def _fit(config, X_tr, y_tr, X_va, y_va, classes, progress: Progress):
    """(fitted model, iterations completed, early stopped)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    spec = config.model
    if spec.family == "logistic_regression":
        from sklearn.linear_model import LogisticRegression

        # The scaler sits in the pipeline, so it is fitted on training rows only.
        model = make_pipeline(StandardScaler(), LogisticRegression(C=spec.C, max_iter=spec.max_iter))
        model.fit(X_tr, y_tr)
        return model, int(max(model[-1].n_iter_)), False
    if spec.family == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        model = RandomForestClassifier(
            n_estimators=spec.n_estimators,
            max_depth=spec.max_depth,
            min_samples_leaf=spec.min_samples_leaf,
            n_jobs=-1,
            random_state=0,
        )
        model.fit(X_tr, y_tr)
        return model, spec.n_estimators, False
    if spec.family == "hist_gradient_boosting":
        return _fit_boosting(spec, X_tr, y_tr, X_va, y_va, classes, progress)
    if spec.family == "mlp":
        return _fit_mlp(spec, X_tr, y_tr, X_va, y_va, classes, progress)
    raise LabError(f"unknown model family {spec.family}")


def _fit_boosting(spec, X_tr, y_tr, X_va, y_va, classes, progress: Progress):
    """Boost with early stopping on the time-ordered validation part (scikit-learn's own is a random split)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        learning_rate=spec.learning_rate,
        max_iter=spec.max_iter,
        max_depth=spec.max_depth,
        min_samples_leaf=spec.min_samples_leaf,
        l2_regularization=spec.l2_regularization,
        early_stopping=spec.early_stopping,
        n_iter_no_change=spec.patience,
        scoring="loss",
        random_state=0,
    )
    if spec.early_stopping:
        model.fit(X_tr, y_tr, X_val=X_va, y_val=y_va)
    else:
        model.fit(X_tr, y_tr)
    iterations = int(model.n_iter_)
    return model, iterations, bool(spec.early_stopping and iterations < spec.max_iter)


def _fit_mlp(spec, X_tr, y_tr, X_va, y_va, classes, progress: Progress):
    """Train epoch by epoch, keeping the weights of the best validation epoch."""
    import copy

    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X_tr)  # training rows only
    Xs_tr, Xs_va = scaler.transform(X_tr), scaler.transform(X_va)
    net = MLPClassifier(
        hidden_layer_sizes=(spec.hidden_units,) * spec.hidden_layers,
        alpha=spec.alpha,
        learning_rate_init=spec.learning_rate_init,
        batch_size=min(200, len(X_tr)),
        random_state=0,
    )
    best, best_net, best_epoch, stale, epoch = float("inf"), None, 0, 0, 0
    for epoch in range(1, spec.max_epochs + 1):
        net.partial_fit(Xs_tr, y_tr, classes=classes)
        loss = _log_loss(y_va, _aligned_proba(net, Xs_va, classes), classes)
        if loss < best - 1e-6:
            best, best_net, best_epoch, stale = loss, copy.deepcopy(net), epoch, 0
        else:
            stale += 1
        progress(10 + 80 * epoch / spec.max_epochs, f"epoch {epoch}/{spec.max_epochs}, validation loss {loss:.4f}")
        if spec.early_stopping and stale >= spec.patience:
            break
    early = spec.early_stopping and epoch < spec.max_epochs
    final = best_net if spec.early_stopping and best_net is not None else net
    model = make_pipeline(scaler, final)
    return model, best_epoch if early else epoch, early
