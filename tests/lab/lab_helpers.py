"""Lab test helpers and fixtures (imported by name: a conftest.py here would shadow tests/conftest.py)."""

from __future__ import annotations

import pytest

from agentctl.lab.data import load_ohlcv


@pytest.fixture(scope="session")
def aapl_1h():
    """The bundled hourly Apple bars (3.5k rows): real data, small enough for fast tests."""
    return load_ohlcv("AAPL", "1h", None)


@pytest.fixture(scope="session")
def sp500():
    return load_ohlcv("SP500", "1d", None)


def write_csv(df, path):
    """Write bars as a user would hand them to `agentctl data import`."""
    out = df.copy()
    out.index.name = "timestamp"
    out.to_csv(path)
    return path


def strategy(**changes):
    """A valid config dict on the hourly data, cheap to train."""
    base = {
        "name": "test-strategy",
        "hypothesis": "Momentum and volatility features predict the next hour's direction.",
        "dataset": {"symbol": "AAPL", "timeframe": "1h"},
        "features": [
            {"function": "RSI"},
            {"function": "NATR"},
            {"function": "ROC", "params": {"timeperiod": 5}},
            {"function": "BBANDS", "outputs": ["upperband", "lowerband"]},
        ],
        "model": {"family": "logistic_regression"},
        "trading": {"confidence": 0.5, "direction": "long_short"},
    }
    return {**base, **changes}
