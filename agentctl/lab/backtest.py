"""Vectorized backtest of the trained model's signals on the held-out bars.

Conventions (the peer test against backtesting.py pins them down):
- a signal computed at the close of bar t is traded at the open of bar t+1;
- each trade puts all equity at risk: units = equity / (fill * (1 + fee)), so the
  entry fee is paid from the same equity (backtesting.py sizes orders the same way);
- the fee is a fraction of the filled notional, charged on entry and on exit;
- slippage moves every fill against us, on entry and on exit (backtesting.py's
  `spread` is charged on entry only, so the peer test runs with slippage 0);
- shorts hold a fixed number of units (P&L linear in price, no daily rebalancing);
- a position still open after the last bar is closed at the last close, with
  fee and slippage.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING

from agentctl.lab.data import bars_per_year, load_ohlcv, split_points
from agentctl.lab.features import LabError, compute_features
from agentctl.lab.results import BacktestResult
from agentctl.lab.strategy import StrategyConfig, strategy_hash

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_CURVE_POINTS = 500
_EULER_GAMMA = 0.5772156649015329


@dataclass
class Simulation:
    """Per-bar equity (starting at 1.0 before the first bar) and per-trade outcomes."""

    equity: np.ndarray  # equity at each bar's close
    position: np.ndarray  # position held during each bar: -1, 0, 1
    entry_bar: np.ndarray  # per trade
    exit_bar: np.ndarray  # per trade: bar whose open (or, for the final trade, close) it exits at
    direction: np.ndarray  # per trade
    trade_return: np.ndarray  # per trade: equity multiplier - 1, fees and slippage included


def simulate(open_: np.ndarray, close: np.ndarray, signal: np.ndarray, fee: float, slippage: float) -> Simulation:
    """Equity and trades for signals (-1/0/1, NaN = 0) decided at each bar's close."""
    import numpy as np

    o = np.asarray(open_, dtype="float64")
    c = np.asarray(close, dtype="float64")
    n = len(c)
    s = np.nan_to_num(np.asarray(signal, dtype="float64"), nan=0.0)
    pos = np.zeros(n)
    pos[1:] = np.sign(s[:-1])  # decided at t's close, held from t+1's open

    # Position changes; each change to a non-zero position opens a trade that the next change closes.
    change = np.flatnonzero(pos[1:] != pos[:-1]) + 1
    if pos[0] != 0:
        change = np.concatenate(([0], change))
    opens = np.flatnonzero(pos[change] != 0)
    starts = change[opens]
    has_exit = opens + 1 < len(change)
    exit_bar = np.full(len(starts), n - 1)
    exit_bar[has_exit] = change[opens[has_exit] + 1]
    direction = pos[starts]

    entry_fill = o[starts] * (1 + direction * slippage)
    exit_price = np.where(has_exit, o[exit_bar], c[n - 1])
    exit_fill = exit_price * (1 - direction * slippage)
    x = exit_fill / entry_fill
    multiplier = 1 + (-fee + direction * (x - 1) - fee * x) / (1 + fee)
    cum = np.empty(len(starts) + 1)  # equity after 0, 1, 2, ... closed trades
    cum[0] = 1.0
    np.cumprod(multiplier, out=cum[1:])

    # Flat bars hold the equity of the trades closed so far (a trade closes at its exit bar's open).
    marks = np.zeros(n, dtype=np.int64)
    marks[exit_bar[has_exit]] = 1
    equity = cum[np.cumsum(marks)]
    # Bars inside a trade are marked to the close; units are fixed, so equity is linear in price.
    if len(starts):
        in_trade = pos != 0
        marks[:] = 0
        marks[starts] = 1
        k = (np.cumsum(marks) - 1)[in_trade]
        equity[in_trade] = cum[k] * (1 + (-fee + direction[k] * (c[in_trade] / entry_fill[k] - 1)) / (1 + fee))
        if not has_exit[-1]:
            equity[-1] = cum[-1]  # the final trade is closed out at the last close
    return Simulation(equity, pos, starts, exit_bar, direction, multiplier - 1)


def signals_from_proba(proba: np.ndarray, classes: list[int], confidence: float, long_short: bool) -> np.ndarray:
    """+1 when P(up) >= confidence, -1 when shorting is allowed and P(down) >= confidence, else 0."""
    import numpy as np

    n = proba.shape[0]
    p_up = proba[:, classes.index(1)] if 1 in classes else np.zeros(n)
    p_down = proba[:, classes.index(-1)] if -1 in classes else np.zeros(n)
    sig = np.where(p_up >= confidence, 1.0, 0.0)
    if long_short:
        sig = np.where((p_down >= confidence) & (p_down > p_up), -1.0, sig)
    return sig


def deflated_sharpe(returns: np.ndarray, n_trials: int) -> float:
    """Deflated Sharpe ratio (Bailey & Lopez de Prado, 2014) of per-bar returns.

    The probability that the true Sharpe exceeds the expected maximum Sharpe of
    `n_trials` unskilled strategies. Without the trials' own Sharpe ratios, their
    variance is taken as the estimator's variance under the null, 1 / (T - 1).
    """
    import numpy as np

    r = np.asarray(returns, dtype="float64")
    if len(r) < 3:
        return 0.0
    d = r - r.mean()
    d2 = d * d
    return _deflated(float(r.mean()), float(d2.sum()), float(np.dot(d2, d)), float(np.dot(d2, d2)), len(r), n_trials)


def _deflated(mean: float, s2: float, s3: float, s4: float, t: int, n_trials: int) -> float:
    """DSR from the mean and the 2nd-4th central moment sums of t returns."""
    if t < 3 or s2 <= 0:
        return 0.0
    m2 = s2 / t
    sr = mean / math.sqrt(s2 / (t - 1))
    skew, kurt = s3 / t / m2**1.5, s4 / t / m2**2
    nd = NormalDist()
    n = max(1, int(n_trials))
    sr0 = 0.0
    if n > 1:
        sr0 = math.sqrt(1 / (t - 1)) * (
            (1 - _EULER_GAMMA) * nd.inv_cdf(1 - 1 / n) + _EULER_GAMMA * nd.inv_cdf(1 - 1 / (n * math.e))
        )
    denom = max(1 - skew * sr + (kurt - 1) / 4 * sr**2, 1e-12)
    return float(nd.cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(denom)))


def metrics(
    sim: Simulation, index: pd.DatetimeIndex, first_close: float, last_close: float, per_year: float, n_trials: int
) -> BacktestResult:
    """Performance metrics of a simulation over the bars of `index`."""
    import numpy as np

    eq = sim.equity
    if not np.all(np.isfinite(eq)) or np.any(eq <= 0):
        raise LabError("equity curve has non-finite or non-positive values")
    n = len(eq)
    rets = np.empty(n)
    rets[0] = eq[0] - 1.0
    np.divide(eq[1:], eq[:-1], out=rets[1:])
    rets[1:] -= 1.0
    mean = float(rets.mean())
    d = rets - mean
    d2 = d * d
    s2 = float(d2.sum())
    sd = math.sqrt(s2 / (n - 1)) if n > 1 else 0.0
    sharpe = float(mean / sd * math.sqrt(per_year)) if sd > 0 else 0.0
    neg = np.minimum(rets, 0.0)
    downside = math.sqrt(float(np.dot(neg, neg)) / n)
    sortino = float(mean / downside * math.sqrt(per_year)) if downside > 0 else (0.0 if mean == 0 else None)
    total = float(eq[-1] - 1)
    years = n / per_year
    cagr = float(eq[-1] ** (1 / years) - 1) if years > 0 else 0.0
    peak = np.maximum.accumulate(eq)
    np.maximum(peak, 1.0, out=peak)  # the starting equity is the first peak
    mdd = float(1.0 - np.min(eq / peak))
    calmar = cagr / mdd if mdd > 0 else (0.0 if total == 0 else None)
    tr = sim.trade_return
    wins = tr[tr > 0]
    pnl = tr * np.concatenate(([1.0], np.cumprod(1 + tr)[:-1])) if len(tr) else tr
    gain, loss = float(pnl[pnl > 0].sum()), float(-pnl[pnl < 0].sum())
    profit_factor = gain / loss if loss > 0 else (0.0 if gain == 0 else None)
    values = [sharpe, total, cagr, mdd]
    if not all(math.isfinite(v) for v in values):
        raise LabError("backtest metrics are not finite numbers")
    return BacktestResult(
        sharpe=sharpe,
        sortino=sortino,
        calmar=calmar,
        total_return=total,
        cagr=cagr,
        max_drawdown=mdd,
        win_rate=float(len(wins) / len(tr)) if len(tr) else 0.0,
        total_trades=len(tr),
        profit_factor=profit_factor,
        exposure=float(np.mean(sim.position != 0)),
        buy_and_hold_return=float(last_close / first_close - 1),
        deflated_sharpe=_deflated(mean, s2, float(np.dot(d2, d)), float(np.dot(d2, d2)), n, n_trials),
        n_trials=max(1, int(n_trials)),
        bars=n,
        bars_per_year=per_year,
        start=index[0].to_pydatetime(),
        end=index[-1].to_pydatetime(),
        avg_trade_return=float(tr.mean()) if len(tr) else 0.0,
        equity_curve=_downsample(index, eq),
    )


def _downsample(index: pd.DatetimeIndex, equity: np.ndarray) -> list[tuple]:
    import numpy as np

    n = len(equity)
    picks = np.linspace(0, n - 1, min(n, MAX_CURVE_POINTS)).round().astype(np.int64)  # strictly increasing
    # numpy's microsecond datetimes convert to datetime objects far faster than pandas' to_pydatetime.
    times = index.values[picks].astype("datetime64[us]").tolist()
    return list(zip(times, np.round(equity[picks], 6).tolist(), strict=False))


def run_backtest(config: StrategyConfig, model_path: Path | str, home: Path, n_trials: int = 1) -> BacktestResult:
    """Backtest the saved model on the dataset's holdout bars."""
    import numpy as np

    from agentctl.lab import artifacts

    started = time.perf_counter()
    artifact = artifacts.load(model_path)
    if artifact.get("strategy_hash") != strategy_hash(config):
        raise LabError("the model file was trained for a different strategy config")
    df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, home)
    _, holdout_start = split_points(len(df))
    hold = df.iloc[holdout_start:]
    if len(hold) < 2:
        raise LabError("holdout part is empty")
    # Computed on the whole series so holdout features have their warm-up; they stay causal.
    X = compute_features(df, config.features).iloc[holdout_start:]
    if list(X.columns) != artifact["columns"]:
        raise LabError("feature columns differ from the trained model's")
    Xv = X.to_numpy(dtype="float64")
    if not np.all(np.isfinite(Xv)):
        r, c = np.argwhere(~np.isfinite(Xv))[0]
        raise LabError(f"NaN feature {X.columns[c]} at {X.index[r]} in the holdout")
    model, classes = artifact["model"], artifact["classes"]
    proba = model.predict_proba(Xv)
    proba = proba[:, [list(model.classes_).index(c) for c in classes]]
    sig = signals_from_proba(proba, classes, config.trading.confidence, config.trading.direction == "long_short")
    # A model that never trades is not an error here: the backtest gate rejects zero trades.
    t = config.trading
    sim = simulate(hold["open"].to_numpy(), hold["close"].to_numpy(), sig, t.fee_bps / 1e4, t.slippage_bps / 1e4)
    result = metrics(
        sim, hold.index, float(hold["close"].iloc[0]), float(hold["close"].iloc[-1]), bars_per_year(df.index), n_trials
    )
    result.duration_s = round(time.perf_counter() - started, 3)
    return result
