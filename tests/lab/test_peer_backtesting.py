"""Agreement with backtesting.py (a dev dependency) on SMA crossovers with the same fees.

Long-only and always-in long/short (flips close one trade and open the next at the same open).

Conventions aligned for the comparison (see agentctl/lab/backtest.py):
- both fill at the next bar's open and size trades with all equity, entry fee included;
- backtesting.py's `spread` is charged on entry only and ours on both sides, so
  slippage is 0 here and costs come from `commission` (per side, as our fee);
- backtesting.py buys whole units; cash is large so rounding stays below 1e-9;
- the signal is forced flat two bars before the end so the last trade closes
  the same way in both (ours would close a still-open trade at the last close).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import talib

backtesting = pytest.importorskip("backtesting")

from lab_helpers import sp500  # noqa: E402 (after the importorskip: the peer is optional)

from agentctl.lab.backtest import simulate  # noqa: E402 (after the importorskip, as above)

FEE = 0.001
CASH = 1e12


def sma_signal(close: np.ndarray, fast: int, slow: int, short: bool = False) -> np.ndarray:
    f, s = talib.SMA(close, fast), talib.SMA(close, slow)
    sig = np.where(f > s, 1.0, -1.0 if short else 0.0)
    sig[np.isnan(s)] = 0.0
    sig[-2:] = 0.0
    return sig


@pytest.mark.parametrize("fast,slow,start,short", [(10, 30, 0, False), (5, 20, 2500, False), (10, 30, 1000, True)])
def test_same_trades_and_returns_as_backtesting_py(sp500, fast, slow, start, short):
    bars = sp500.iloc[start : start + 1500]
    sig = sma_signal(bars["close"].to_numpy(), fast, slow, short)
    ours = simulate(bars["open"].to_numpy(), bars["close"].to_numpy(), sig, FEE, 0.0)

    class Follow(backtesting.Strategy):
        def init(self):
            self.sig = self.I(lambda: sig, name="signal")

        def next(self):
            want = self.sig[-1]
            if want > 0 and not self.position.is_long:
                self.position.close()
                self.buy(size=1 - 1e-12)
            elif want < 0 and not self.position.is_short:
                self.position.close()
                self.sell(size=1 - 1e-12)
            elif want == 0 and self.position:
                self.position.close()

    data = bars.rename(columns=str.capitalize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = backtesting.Backtest(data, Follow, cash=CASH, commission=FEE, spread=0.0).run()
    theirs = stats._trades

    assert len(theirs) == len(ours.entry_bar) > 10
    np.testing.assert_array_equal(np.sign(theirs["Size"].to_numpy()), ours.direction)
    np.testing.assert_array_equal(theirs["EntryBar"].to_numpy(), ours.entry_bar)
    np.testing.assert_array_equal(theirs["ExitBar"].to_numpy(), ours.exit_bar)
    equity_at_entry = np.concatenate(([1.0], np.cumprod(1 + ours.trade_return)[:-1])) * CASH
    np.testing.assert_allclose(theirs["PnL"].to_numpy() / equity_at_entry, ours.trade_return, rtol=1e-6, atol=1e-9)
    their_equity = stats._equity_curve["Equity"].to_numpy() / CASH
    np.testing.assert_allclose(their_equity, ours.equity, rtol=1e-9, atol=1e-9)
    assert stats["Return [%]"] / 100 == pytest.approx(ours.equity[-1] - 1, abs=1e-9)
    assert stats["# Trades"] == len(ours.entry_bar)
    assert isinstance(bars.index, pd.DatetimeIndex)
