"""Agreement with backtesting.py (a dev dependency) on SMA crossovers with the same fees.

Long-only and always-in long/short (flips close one trade and open the next at the same open),
then `metrics()` against backtesting.py's own statistics for its GOOG SmaCross(10, 20) example.

Where the metrics agree and where they differ on purpose (backtesting.py 0.6, GOOG, 20 bps):
- trades (94), win rate (53.2%), exposure and, at the same position sizes, the equity
  curve and max drawdown are the same;
- backtesting.py buys whole shares: at its default cash of 10,000 that rounding moves its
  max drawdown to 33.93%; with fractional units (ours, or its own at cash 1e12) it is 34.16%;
- Sharpe: ours is the arithmetic mean over the standard deviation of per-bar returns times
  sqrt(252) (0.831); backtesting.py divides a geometric annual return by a compounded annual
  volatility (0.597). Sortino (1.266 vs 1.136) and Calmar (CAGR over max drawdown, 0.668 vs
  0.657) differ the same way. Its formulas applied to our equity give its figures exactly;
- profit factor: ours is gross profit over gross loss of the trades' P&L, each return
  weighted by the equity it was entered with (1.782); backtesting.py sums the trades'
  returns unweighted (2.055). Its formula applied to our trades gives its figure exactly;
- a position open at the end of the data: we close it at the last bar's close,
  backtesting.py (finalize_trades=True) at the last bar's open. With the last close
  replaced by that open our equity is backtesting.py's to 1e-9.

Conventions aligned for the trade-by-trade comparison (see agentctl/lab/backtest.py):
- both fill at the next bar's open and size trades with all equity, entry fee included;
- backtesting.py's `spread` is charged on entry only and ours on both sides, so
  slippage is 0 here and costs come from `commission` (per side, as our fee);
- backtesting.py buys whole units; cash is large so rounding stays below 1e-9;
- the signal is forced flat two bars before the end so the last trade closes
  the same way in both (ours would close a still-open trade at the last close).
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import talib

backtesting = pytest.importorskip("backtesting")

from lab_helpers import sp500  # noqa: E402 (after the importorskip: the peer is optional)

from agentctl.lab.backtest import metrics, simulate  # noqa: E402 (after the importorskip, as above)

FEE = 0.001
CASH = 1e12


def sma_signal(close: np.ndarray, fast: int, slow: int, short: bool = False) -> np.ndarray:
    f, s = talib.SMA(close, fast), talib.SMA(close, slow)
    sig = np.where(f > s, 1.0, -1.0 if short else 0.0)
    sig[np.isnan(s)] = 0.0
    sig[-2:] = 0.0
    return sig


@pytest.mark.parametrize("fast,slow,start,short", [(10, 30, 0, False), (5, 20, 1300, False), (10, 30, 800, True)])
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


# backtesting.py's README example: Backtest(GOOG, SmaCross, commission=.002, exclusive_orders=True), trades at
# the end of the data closed (finalize_trades=True), the default cash of 10,000.
GOOG_REFERENCE = {
    "# Trades": 94,
    "Sharpe Ratio": 0.597,
    "Sortino Ratio": 1.136,
    "Calmar Ratio": 0.657,
    "Max. Drawdown [%]": -33.93,
    "Profit Factor": 2.055,
    "Win Rate [%]": 53.2,
}
GOOG_FEE = 0.002


def goog_stats(cash: float):
    from backtesting.lib import crossover
    from backtesting.test import GOOG, SMA

    class SmaCross(backtesting.Strategy):
        def init(self):
            self.fast = self.I(SMA, self.data.Close, 10)
            self.slow = self.I(SMA, self.data.Close, 20)

        def next(self):
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = backtesting.Backtest(
            GOOG, SmaCross, cash=cash, commission=GOOG_FEE, exclusive_orders=True, finalize_trades=True
        )
        return run.run()


def goog_signal() -> tuple[pd.DataFrame, np.ndarray]:
    """SmaCross's positions as signals: long from a golden cross, short from a death cross, flat before either."""
    from backtesting.test import GOOG, SMA

    fast, slow = SMA(GOOG.Close, 10).to_numpy(), SMA(GOOG.Close, 20).to_numpy()
    sig, state = np.zeros(len(GOOG)), 0.0
    for t in range(1, len(GOOG)):
        if fast[t - 1] < slow[t - 1] and fast[t] > slow[t]:
            state = 1.0
        elif slow[t - 1] < fast[t - 1] and slow[t] > fast[t]:
            state = -1.0
        sig[t] = state
    return GOOG.rename(columns=str.lower), sig


def their_ratios(equity: np.ndarray) -> tuple[float, float, float]:
    """backtesting.py's Sharpe, Sortino and Calmar of an equity curve (its _stats.py, daily bars, 252 a year)."""
    r = np.diff(equity) / equity[:-1]
    g = math.expm1(np.log1p(r).mean())
    annual = (1 + g) ** 252 - 1
    volatility = math.sqrt((r.var(ddof=1) + (1 + g) ** 2) ** 252 - (1 + g) ** 504)
    downside = math.sqrt(np.mean(np.minimum(r, 0) ** 2)) * math.sqrt(252)
    drawdown = np.max(1 - equity / np.maximum.accumulate(equity))
    return annual / volatility, annual / downside, annual / drawdown


def test_backtesting_py_reference_output_for_goog():
    stats = goog_stats(10_000)
    for key, value in GOOG_REFERENCE.items():
        decimals = len(str(value).partition(".")[2])  # the reference is rounded to the digits it shows
        assert round(stats[key], decimals) == value, key


def test_metrics_against_backtesting_py_on_goog():
    bars, sig = goog_signal()
    o, c = bars["open"].to_numpy(), bars["close"].to_numpy()
    sim = simulate(o, c, sig, GOOG_FEE, 0.0)
    ours = metrics(sim, bars.index, c[0], c[-1], 252.0)
    reference, fractional = goog_stats(10_000), goog_stats(CASH)  # at 1e12 whole-share rounding is below 1e-9

    # Where the conventions agree.
    assert ours.total_trades == reference["# Trades"] == 94
    assert ours.win_rate == pytest.approx(reference["Win Rate [%]"] / 100, abs=1e-12)
    assert ours.exposure == pytest.approx(reference["Exposure Time [%]"] / 100, abs=1e-12)
    assert ours.max_drawdown == pytest.approx(-fractional["Max. Drawdown [%]"] / 100, abs=1e-9)
    assert ours.max_drawdown == pytest.approx(0.3416, abs=1e-4)  # reference (whole shares): 0.3393

    # The close at the end of the data: ours at the last close, theirs at the last open.
    their_last = fractional._trades.iloc[-1]
    assert their_last["ExitPrice"] == o[-1] and ours.end == bars.index[-1]
    at_open = simulate(o, np.append(c[:-1], o[-1]), sig, GOOG_FEE, 0.0)
    np.testing.assert_allclose(at_open.equity, fractional._equity_curve["Equity"].to_numpy() / CASH, rtol=1e-9)
    assert sim.trade_return[-1] == pytest.approx((c[-1] * (1 - GOOG_FEE)) / (o[2087] * (1 + GOOG_FEE)) - 1)

    # Sharpe, Sortino, Calmar: arithmetic per-bar mean (ours) vs geometric annual return (theirs).
    rets = np.diff(np.concatenate(([1.0], sim.equity))) / np.concatenate(([1.0], sim.equity[:-1]))
    assert ours.sharpe == pytest.approx(rets.mean() / rets.std(ddof=1) * math.sqrt(252))
    assert (ours.sharpe, ours.sortino, ours.calmar) == pytest.approx((0.8308, 1.2661, 0.6683), abs=1e-4)
    theirs = (fractional["Sharpe Ratio"], fractional["Sortino Ratio"], fractional["Calmar Ratio"])
    assert their_ratios(at_open.equity) == pytest.approx(theirs, rel=1e-8)

    # Profit factor: P&L (ours) vs unweighted trade returns (theirs, on the entry notional: ours times 1 + fee).
    assert ours.profit_factor == pytest.approx(1.7819, abs=1e-4)
    returns = at_open.trade_return * (1 + GOOG_FEE)
    assert returns[returns > 0].sum() / -returns[returns < 0].sum() == pytest.approx(fractional["Profit Factor"])
    assert fractional["Profit Factor"] == pytest.approx(reference["Profit Factor"], abs=1e-9)
