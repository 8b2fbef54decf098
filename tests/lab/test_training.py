"""Training on real data: time-ordered split, untouched holdout, loud failures."""

import joblib
import numpy as np
import pytest
from lab_helpers import aapl_1h, strategy, write_csv

from agentctl.lab.data import import_dataset, split_points
from agentctl.lab.features import LabError
from agentctl.lab.models import FAMILIES
from agentctl.lab.strategy import validate_strategy
from agentctl.lab.training import train


def config(home=None, **changes):
    report = validate_strategy(strategy(**changes), home)
    assert report.ok, report.errors
    return report.config


@pytest.mark.parametrize("family", list(FAMILIES))
def test_train_reports_every_field(family, tmp_path):
    model = {"family": family}
    if family == "random_forest":
        model["n_estimators"] = 20
    cfg = config(model=model)
    r = train(cfg, tmp_path, tmp_path / "m.joblib")
    assert 0 <= r.accuracy <= 1 and 0 <= r.majority_baseline_accuracy <= 1
    assert r.log_loss > 0 and r.iterations >= 1 and isinstance(r.early_stopped, bool)
    assert set(r.class_balance) == {"down", "up"} and sum(r.class_balance.values()) == pytest.approx(1)
    n = 3479
    _val_start, holdout_start = split_points(n)
    assert r.holdout_bars == n - holdout_start
    assert r.train_bars + r.validation_bars < holdout_start
    assert r.train_start < r.validation_start < r.holdout_start
    artifact = joblib.load(r.model_path)
    assert artifact["columns"] == r.feature_columns == cfg.feature_columns()


def test_holdout_never_touched(aapl_1h, tmp_path):
    """Scrambling every holdout bar changes nothing that training produces."""
    _, holdout = split_points(len(aapl_1h))
    wild = aapl_1h.copy()
    rng = np.random.default_rng(0)
    wild.iloc[holdout:, :4] = wild.iloc[holdout:, :4].to_numpy() * rng.uniform(0.5, 2.0, (len(wild) - holdout, 1))
    wild["high"] = wild[["open", "high", "low", "close"]].max(axis=1)
    wild["low"] = wild[["open", "high", "low", "close"]].min(axis=1)
    import_dataset(write_csv(aapl_1h, tmp_path / "a.csv"), "REAL", "1h", tmp_path)
    import_dataset(write_csv(wild, tmp_path / "b.csv"), "WILD", "1h", tmp_path)
    results = []
    for sym in ("REAL", "WILD"):
        cfg = config(tmp_path, dataset={"symbol": sym, "timeframe": "1h"}, model={"family": "hist_gradient_boosting"})
        results.append(train(cfg, tmp_path, tmp_path / f"{sym}.joblib"))
    keep = {"accuracy", "log_loss", "iterations", "train_accuracy", "class_balance", "train_bars", "validation_bars"}
    assert results[0].model_dump(include=keep) == results[1].model_dump(include=keep)


def test_labels_near_split_boundaries_are_purged(tmp_path):
    r1 = train(config(label={"horizon": 1}), tmp_path, tmp_path / "1.joblib")
    r5 = train(config(label={"horizon": 5}), tmp_path, tmp_path / "5.joblib")
    assert r1.train_bars - r5.train_bars == 4 and r1.validation_bars - r5.validation_bars == 4


def test_single_class_label_fails_loudly(tmp_path):
    cfg = config(label={"horizon": 1, "threshold": 0.2, "classes": "up_down"})  # never up by 20% in an hour
    with pytest.raises(LabError, match="single class"):
        train(cfg, tmp_path, tmp_path / "m.joblib")


def test_constant_predictions_fail_loudly(tmp_path):
    cfg = config(model={"family": "logistic_regression", "C": 1e-4}, label={"classes": "up_down", "threshold": 0.002})
    with pytest.raises(LabError, match="constant predictions"):
        train(cfg, tmp_path, tmp_path / "m.joblib")


def test_too_little_data_fails_loudly(aapl_1h, tmp_path):
    import_dataset(write_csv(aapl_1h.iloc[:300], tmp_path / "s.csv"), "TINY", "1h", tmp_path)
    with pytest.raises(LabError, match="not enough data"):
        train(config(tmp_path, dataset={"symbol": "TINY", "timeframe": "1h"}), tmp_path, tmp_path / "m.joblib")


def test_nan_features_fail_loudly(tmp_path, monkeypatch):
    import agentctl.lab.training as training

    real = training.compute_features

    def with_a_hole(df, features):
        out = real(df, features)
        out.iloc[1500, 0] = np.nan  # TA-Lib guards its divisions; a corrupt bar is how NaN gets in
        return out

    monkeypatch.setattr(training, "compute_features", with_a_hole)
    with pytest.raises(LabError, match="NaN feature RSI_14_real at 2025-"):
        train(config(), tmp_path, tmp_path / "m.joblib")
