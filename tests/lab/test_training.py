"""Walk-forward training on real data: purged folds, out-of-fold scores, a sealed holdout, loud failures."""

import joblib
import numpy as np
import pytest
from lab_helpers import aapl_1h, strategy, write_csv

from agentctl.lab import stats
from agentctl.lab.backtest import run_backtest
from agentctl.lab.data import import_dataset, load_ohlcv
from agentctl.lab.features import LabError, feature_lookback
from agentctl.lab.models import FAMILIES
from agentctl.lab.periods import fold_parts, periods
from agentctl.lab.strategy import validate_strategy
from agentctl.lab.training import train

N = 3478  # the bundled hourly AAPL bars


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
    p = periods(N, 1, feature_lookback(cfg.features))
    parts = fold_parts(p, 5)
    assert r.folds == 5 and r.oof_bars == parts[-1][1] - parts[0][0] == p.research_end - parts[0][0]
    assert 0 <= r.accuracy <= 1 and 0 <= r.constant_accuracy <= 1 and 0 <= r.accuracy_p_value <= 1
    assert r.oof_correct == round(r.accuracy * r.oof_bars) and r.effective_bars == r.oof_bars
    assert r.accuracy_p_value == pytest.approx(stats.binomial_edge_p(r.oof_correct, r.oof_bars, r.constant_accuracy))
    assert len(r.fold_accuracy) == len(r.fold_constant_accuracy) == len(r.fold_constant_class) == 5
    assert set(r.fold_constant_class) <= {"down", "up"}
    assert r.log_loss > 0 and r.iterations >= 1 and isinstance(r.early_stopped, bool)
    assert set(r.class_balance) == {"down", "up"} and sum(r.class_balance.values()) == pytest.approx(1)
    assert sum(r.prediction_balance.values()) == pytest.approx(1)
    assert r.purge_bars == p.purge and r.research_bars == p.research_end
    assert r.research_start < r.oof_start < r.research_end < r.holdout_start
    artifact = joblib.load(r.model_path)
    assert artifact["columns"] == r.feature_columns == cfg.feature_columns()
    assert artifact["proba"].shape == (r.oof_bars, 2)


def test_constant_accuracy_is_each_folds_training_majority(tmp_path):
    cfg = config()
    r = train(cfg, tmp_path, tmp_path / "m.joblib")
    df = load_ohlcv("AAPL", "1h", None)
    p = periods(len(df), 1, feature_lookback(cfg.features))
    up = (df["close"].shift(-1) > df["close"]).to_numpy()
    guesses = []
    for (lo, hi), name, acc in zip(fold_parts(p, 5), r.fold_constant_class, r.fold_constant_accuracy, strict=True):
        trained = up[19 : lo - p.purge]  # the fold's training rows: after the warm-up (BBANDS: 19), before the purge
        guess = "up" if trained.mean() > 0.5 else "down"
        assert name == guess
        assert acc == pytest.approx(np.mean(up[lo:hi] == (guess == "up")))
        guesses.append(up[lo:hi] == (guess == "up"))
    assert r.constant_accuracy == pytest.approx(np.concatenate(guesses).mean())


def test_overlapping_labels_count_as_fewer_trials(tmp_path):
    r = train(config(label={"horizon": 4}), tmp_path, tmp_path / "m.joblib")
    assert r.effective_bars == r.oof_bars // 4
    correct = round(r.oof_correct * r.effective_bars / r.oof_bars)
    assert r.accuracy_p_value == pytest.approx(stats.binomial_edge_p(correct, r.effective_bars, r.constant_accuracy))


def _fit_calls(monkeypatch):
    """Record the data every model is fitted and early-stopped on."""
    import agentctl.lab.training as training

    calls = []
    real = training.fit

    def spy(spec, data, progress):
        calls.append(data)
        return real(spec, data, progress)

    monkeypatch.setattr(training, "fit", spy)
    return calls


def test_folds_are_isolated(tmp_path, monkeypatch):
    """No fold's model fits or early-stops on a bar within the purge gap before the bars it predicts, or after."""
    import agentctl.lab.training as training

    seen = []
    real = training.fit_rows

    def spy(spec, r, rows, progress, what):
        fitted, fit_on = real(spec, r, rows, progress, what)
        seen.append((rows, fit_on))
        return fitted, fit_on

    monkeypatch.setattr(training, "fit_rows", spy)
    calls = _fit_calls(monkeypatch)
    cfg = config(label={"horizon": 3}, model={"family": "hist_gradient_boosting"})
    train(cfg, tmp_path, tmp_path / "m.joblib")
    p = periods(N, 3, feature_lookback(cfg.features))
    assert p.purge == 3 + 19  # horizon + the longest lookback (BBANDS' 20-bar window)
    parts = fold_parts(p, 5)
    assert len(seen) == len(calls) == 5
    for (lo, _), (rows, fit_on), data in zip(parts, seen, calls, strict=True):
        assert rows.max() < lo - p.purge  # labels of training rows end before the scored part
        validation = rows[-len(data.y_va) :]
        assert len(data.y_va) >= 50 and fit_on.max() < validation.min() - p.purge  # early stopping: purged, earlier
        assert len(data.y_tr) == len(fit_on)


def _scrambled(df, start):
    wild = df.copy()
    rng = np.random.default_rng(0)
    wild.iloc[start:, :4] = wild.iloc[start:, :4].to_numpy() * rng.uniform(0.5, 2.0, (len(wild) - start, 1))
    wild["high"] = wild[["open", "high", "low", "close"]].max(axis=1)
    wild["low"] = wild[["open", "high", "low", "close"]].min(axis=1)
    return wild


def test_the_final_holdout_is_sealed(aapl_1h, tmp_path):
    """Scrambling every bar of the final holdout changes no figure of training or of the research backtest."""
    holdout = periods(len(aapl_1h), 1, 0).holdout_start
    import_dataset(write_csv(aapl_1h, tmp_path / "a.csv"), "REAL", "1h", tmp_path)
    import_dataset(write_csv(_scrambled(aapl_1h, holdout), tmp_path / "b.csv"), "WILD", "1h", tmp_path)
    out = []
    for sym in ("REAL", "WILD"):
        cfg = config(tmp_path, dataset={"symbol": sym, "timeframe": "1h"}, model={"family": "hist_gradient_boosting"})
        t = train(cfg, tmp_path, tmp_path / f"{sym}.joblib")
        b = run_backtest(cfg, tmp_path / f"{sym}.joblib", tmp_path, n_trials=5, trial_sharpes=[0.1, 0.4])
        out.append(
            (
                t.model_dump(exclude={"duration_s", "model_path", "trial_path", "strategy_hash"}),
                b.model_dump(exclude={"duration_s"}),
            )
        )
    assert out[0] == out[1]
    # Not a vacuous test: moving the first bar of the purge gap, which the last research label reads, changes it.
    end = periods(len(aapl_1h), 1, 19).research_end
    gap = aapl_1h.copy()
    close = gap["close"].to_numpy()
    gap.iloc[end:, :4] *= 0.5 if close[end] > close[end - 1] else 2.0
    import_dataset(write_csv(gap, tmp_path / "c.csv"), "GAP", "1h", tmp_path)
    cfg = config(tmp_path, dataset={"symbol": "GAP", "timeframe": "1h"}, model={"family": "hist_gradient_boosting"})
    train(cfg, tmp_path, tmp_path / "GAP.joblib")
    real, moved = joblib.load(tmp_path / "REAL.joblib"), joblib.load(tmp_path / "GAP.joblib")
    assert np.flatnonzero(real["labels"] != moved["labels"]).tolist() == [len(real["labels"]) - 1]
    np.testing.assert_array_equal(real["proba"], moved["proba"])  # no feature reads past the research end


def test_a_changed_dataset_is_refused_at_backtest(aapl_1h, tmp_path):
    import_dataset(write_csv(aapl_1h, tmp_path / "a.csv"), "MINE", "1h", tmp_path)
    cfg = config(tmp_path, dataset={"symbol": "MINE", "timeframe": "1h"})
    train(cfg, tmp_path, tmp_path / "m.joblib")
    import_dataset(write_csv(aapl_1h.iloc[:-300], tmp_path / "b.csv"), "MINE", "1h", tmp_path, replace=True)
    with pytest.raises(LabError, match="dataset changed since training"):
        run_backtest(cfg, tmp_path / "m.joblib", tmp_path)


def test_the_fold_count_is_a_parameter(tmp_path):
    r = train(config(), tmp_path, tmp_path / "m.joblib", folds=3)
    assert r.folds == 3 and len(r.fold_accuracy) == 3


def test_single_class_label_fails_loudly(tmp_path):
    cfg = config(label={"horizon": 1, "threshold": 0.2, "classes": "up_down"})  # never up by 20% in an hour
    with pytest.raises(LabError, match="single class"):
        train(cfg, tmp_path, tmp_path / "m.joblib")


def test_too_little_data_fails_loudly(aapl_1h, tmp_path):
    import_dataset(write_csv(aapl_1h.iloc[:600], tmp_path / "s.csv"), "TINY", "1h", tmp_path)
    with pytest.raises(LabError, match=r"not enough data: fold 1 has .* training rows"):
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
