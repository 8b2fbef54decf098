"""Features are causal; labels look ahead by exactly the horizon."""

import numpy as np
import pytest
from lab_helpers import aapl_1h, sp500

from agentctl.lab.catalog import INDICATORS
from agentctl.lab.features import compute_features, forward_returns, make_labels, warmup_bars
from agentctl.lab.strategy import FeatureSpec, LabelSpec


def test_no_look_ahead_features_identical_on_truncated_series(aapl_1h):
    specs = [FeatureSpec(function=i.name) for i in INDICATORS]
    full = compute_features(aapl_1h, specs)
    for cut in (400, 1777, len(aapl_1h) - 1):
        part = compute_features(aapl_1h.iloc[:cut], specs)
        common = full.iloc[:cut]
        assert list(part.columns) == list(common.columns)
        np.testing.assert_array_equal(part.to_numpy(), common.to_numpy())  # NaN == NaN here


def test_future_bars_do_not_change_past_features(aapl_1h):
    specs = [FeatureSpec(function=n) for n in ("RSI", "MACD", "SAR", "STOCH", "KAMA")]
    shocked = aapl_1h.copy()
    shocked.iloc[2000:, :4] *= 3.0  # a wild future
    a = compute_features(aapl_1h, specs).iloc[:2000]
    b = compute_features(shocked, specs).iloc[:2000]
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_warmup_marks_integer_outputs_too(aapl_1h):
    f = compute_features(aapl_1h, [FeatureSpec(function="HT_TRENDMODE")])
    warm = warmup_bars(f)
    assert warm == 63 and f.iloc[:warm].isna().all().all() and f.iloc[warm:].notna().all().all()


def test_price_levels_are_relative_to_close(aapl_1h):
    f = compute_features(aapl_1h, [FeatureSpec(function="SMA", params={"timeperiod": 5})])
    expected = aapl_1h["close"].rolling(5).mean() / aapl_1h["close"] - 1
    np.testing.assert_allclose(f.iloc[:, 0].to_numpy()[4:], expected.to_numpy()[4:], rtol=1e-9)


def test_labels(sp500):
    close = sp500["close"].iloc[:10]
    r = forward_returns(close, 2)
    assert np.isnan(r[-2:]).all()
    assert r[0] == pytest.approx(close.iloc[2] / close.iloc[0] - 1)
    y3 = make_labels(close, LabelSpec(horizon=2, threshold=0.005, classes="up_flat_down"))
    expect = np.where(r > 0.005, 1, np.where(r < -0.005, -1, 0))
    np.testing.assert_array_equal(y3[:-2], expect[:-2])
    y2 = make_labels(close, LabelSpec(horizon=2, threshold=0.0, classes="up_down"))
    assert set(np.unique(y2[:-2])) <= {-1.0, 1.0}
