"""Vectorized backtest: the research backtest on out-of-fold predictions, and the engine the holdout shares.

The research backtest trades the strategy's rules on the concatenated out-of-fold
predictions training saved (lab/training.py): every bar of folds 1..K, each predicted
by a model that never saw it. It reads no bar of the sealed final holdout.

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

Metric conventions (the peer test also pins these against backtesting.py's own figures):
- Sharpe is the arithmetic mean over the standard deviation (ddof=1) of per-bar equity
  returns, times sqrt(bars per year); backtesting.py divides a geometric annual return by
  an annual volatility, so its Sharpe (and Sortino, Calmar) differ a little from ours;
- the profit factor is gross profit over gross loss of the trades' P&L (each trade's
  return times the equity it was entered with); backtesting.py sums trade returns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.lab.data import bars_per_year, load_ohlcv
from agentctl.lab.features import LabError, feature_lookback
from agentctl.lab.periods import periods
from agentctl.lab.strategy import StrategyConfig, strategy_hash
from agentctl.results import BacktestResult, Performance

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_CURVE_POINTS = 500


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


def trade(proba: np.ndarray, classes: list[int], bars: pd.DataFrame, config: StrategyConfig) -> Simulation:
    """The strategy's trading rules on predicted class probabilities, one row per bar of `bars`."""
    t = config.trading
    sig = signals_from_proba(proba, classes, t.confidence, t.direction == "long_short")
    # A model that never trades is not an error here: the backtest gate rejects zero trades.
    return simulate(bars["open"].to_numpy(), bars["close"].to_numpy(), sig, t.fee_bps / 1e4, t.slippage_bps / 1e4)


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """Per-bar returns of an equity curve that starts at 1.0 before its first bar."""
    import numpy as np

    eq = np.asarray(equity, dtype="float64")
    rets = np.empty(len(eq))
    if len(eq):
        rets[0] = eq[0] - 1.0
        np.divide(eq[1:], eq[:-1], out=rets[1:])
        rets[1:] -= 1.0
    return rets


def annual_sharpe(rets: np.ndarray, per_year: float) -> float:
    """Arithmetic mean over standard deviation (ddof=1) of per-bar returns, times sqrt(per_year); 0 without variance."""
    import numpy as np

    if len(rets) < 2:
        return 0.0
    sd = float(np.std(rets, ddof=1))
    return float(np.mean(rets)) / sd * math.sqrt(per_year) if sd > 0 else 0.0


def metrics(
    sim: Simulation, index: pd.DatetimeIndex, first_close: float, last_close: float, per_year: float
) -> Performance:
    """Performance metrics of a simulation over the bars of `index`."""
    import numpy as np

    eq = sim.equity
    if not np.all(np.isfinite(eq)) or np.any(eq <= 0):
        raise LabError("equity curve has non-finite or non-positive values")
    n = len(eq)
    rets = bar_returns(eq)
    mean = float(rets.mean())
    sharpe = annual_sharpe(rets, per_year)
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
    if not all(math.isfinite(v) for v in (sharpe, total, cagr, mdd)):
        raise LabError("backtest metrics are not finite numbers")
    return Performance(
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
        bars=n,
        bars_per_year=per_year,
        start=index[0].to_pydatetime(),
        end=index[-1].to_pydatetime(),
        avg_trade_return=float(tr.mean()) if len(tr) else 0.0,
        equity_curve=_downsample(index, eq),
    )


def market_evidence(sim: Simulation, bars: pd.DataFrame, per_year: float, previous_close: float) -> dict[str, Any]:
    """The simulation against the market over the same bars: its excess return's test and buy and hold's drawdown.

    `previous_close` is the close before the first bar, so the first bar's market return
    is close to close like every other's.
    """
    import numpy as np

    from agentctl.lab import excess

    close = bars["close"].to_numpy(dtype="float64")
    test = excess.test(bar_returns(sim.equity), excess.market_returns(close, previous_close), sim.position, per_year)
    hold = np.concatenate(([previous_close], close))
    return {
        "exposure_net": test.exposure,
        "excess_sharpe": test.sharpe,
        "excess_t": test.t,
        "excess_p_value": test.p,
        "buy_and_hold_drawdown": float(1.0 - np.min(hold / np.maximum.accumulate(hold))),
    }


def snooping(own: np.ndarray, start: int, trials: Sequence[Any]) -> dict[str, Any]:
    """This strategy's excess return tested among every trial trained on its dataset (the data-snooping family).

    `trials` are the other trials' saved excess returns (lab/training.py `_trial`); each is
    placed on the bar positions it covers, 0 (flat) where it does not cover this strategy's.
    """
    import numpy as np

    from agentctl.lab import excess

    family = np.zeros((len(own), 1 + len(trials)))
    family[:, 0] = own
    for j, trial in enumerate(trials, start=1):
        lo, hi = trial["positions"]
        a, b = max(lo, start), min(hi, start + len(own))
        if a < b:
            family[a - start : b - start, j] = np.asarray(trial["excess"], dtype="float64")[a - lo : b - lo]
    result = excess.snooping_p(family, 0)
    return {
        "snooping_p_value": result.p,
        "snooping_trials": result.trials,
        "effective_trials": round(result.effective_trials, 2),
    }


def load_trials(paths: Sequence[str], dataset: str) -> list[dict[str, Any]]:
    """The saved trials of `dataset` among `paths`; one that cannot be read is left out (and counted by the caller)."""
    from agentctl.lab import artifacts

    out = []
    for path in paths:
        try:
            trial = artifacts.load(path)
        except (OSError, ValueError, EOFError):
            continue
        if isinstance(trial, dict) and trial.get("dataset") == dataset and "excess" in trial:
            out.append(trial)
    return out


def _downsample(index: pd.DatetimeIndex, equity: np.ndarray) -> list[tuple]:
    import numpy as np

    n = len(equity)
    picks = np.linspace(0, n - 1, min(n, MAX_CURVE_POINTS)).round().astype(np.int64)  # strictly increasing
    # numpy's microsecond datetimes convert to datetime objects far faster than pandas' to_pydatetime.
    times = index.values[picks].astype("datetime64[us]").tolist()
    return list(zip(times, np.round(equity[picks], 6).tolist(), strict=False))


def load_predictions(config: StrategyConfig, model_path: Path | str) -> dict[str, Any]:
    """The out-of-fold predictions training saved for `config`; LabError if they are missing or not its own."""
    from agentctl.lab import artifacts
    from agentctl.lab.training import ARTIFACT_VERSION

    try:
        artifact = artifacts.load(model_path)
    except FileNotFoundError:
        raise LabError(f"the trained model file {model_path} is missing") from None
    if not isinstance(artifact, dict) or artifact.get("version") != ARTIFACT_VERSION:
        raise LabError("the model file is from an older version without out-of-fold predictions: train again")
    if artifact.get("strategy_hash") != strategy_hash(config):
        raise LabError("the model file was trained for a different strategy config")
    return artifact


def run_backtest(
    config: StrategyConfig,
    model_path: Path | str,
    home: Path,
    n_trials: int = 1,
    trial_sharpes: Sequence[float] = (),
    trial_paths: Sequence[str] = (),
) -> BacktestResult:
    """Trade the out-of-fold predictions over the research bars they cover; no holdout bar is read."""
    import numpy as np

    from agentctl.lab import excess, stats

    started = time.perf_counter()
    art = load_predictions(config, model_path)
    df = load_ohlcv(config.dataset.symbol, config.dataset.timeframe, home)
    p = periods(len(df), config.label.horizon, feature_lookback(config.features), config.dataset.timeframe)
    start, end = art["positions"]
    if tuple(p) != tuple(art["periods"]) or not np.array_equal(df.index[start:end].asi8, art["timestamps"]):
        raise LabError("the dataset changed since training: train again")
    bars = df.iloc[start:end]
    per_year = bars_per_year(df.index[: p.research_end])
    sim = trade(art["proba"], art["classes"], bars, config)
    close = bars["close"].to_numpy()
    perf = metrics(sim, bars.index, float(close[0]), float(close[-1]), per_year)
    rets = bar_returns(sim.equity)
    var_trials, source = stats.trial_sharpe_variance(list(trial_sharpes), per_year, len(rets))
    dsr = stats.deflated_sharpe(rets, n_trials, var_trials, source)
    folds = _by_fold(rets, art, per_year)
    previous_close = float(df["close"].iloc[start - 1])
    evidence = market_evidence(sim, bars, per_year, previous_close)
    market = excess.market_returns(bars["close"].to_numpy(), previous_close)
    own, _ = excess.excess_returns(rets, market, sim.position)  # as training saved it for later trials
    family = _family(config, own, start, trial_paths)
    return BacktestResult(
        **(perf.model_dump() | evidence),
        **family,
        **dsr.model_dump(exclude={"dsr"}),
        deflated_sharpe=dsr.dsr,
        **folds,
        blocks=stats.block_stats(rets, np.arange(start, end), start, p.holdout_start),
        blocks_start=start,
        blocks_end=p.holdout_start,
        duration_s=round(time.perf_counter() - started, 3),
    )


def _family(config: StrategyConfig, own: np.ndarray, start: int, paths: Sequence[str]) -> dict[str, Any]:
    """The data-snooping test over this strategy and the earlier trials on its dataset.

    A trial whose file cannot be read still counts: the p-value is widened by Šidák's rule
    as if it had been an independent trial (charge more, not less, when unclear).
    """
    dataset = f"{config.dataset.symbol}/{config.dataset.timeframe}"
    trials = load_trials(paths, dataset)
    result = snooping(own, start, trials)
    missing = len(paths) - len(trials)
    if missing:
        widened = 1 - (1 - result["snooping_p_value"]) ** ((1 + len(paths)) / (1 + len(trials)))
        result.update(snooping_p_value=widened, snooping_trials=1 + len(paths))
    return result


def _by_fold(rets: np.ndarray, art: dict[str, Any], per_year: float) -> dict[str, Any]:
    """Sharpe, return and accuracy of each fold's bars."""
    import numpy as np

    start = art["positions"][0]
    classes = np.asarray(art["classes"])
    right = classes[np.argmax(art["proba"], axis=1)] == art["labels"]
    sharpe, ret, accuracy = [], [], []
    for lo, hi in art["parts"]:
        part = slice(lo - start, hi - start)
        sharpe.append(annual_sharpe(rets[part], per_year))
        ret.append(float(np.prod(1 + rets[part]) - 1))
        accuracy.append(float(np.mean(right[part])))
    return {
        "folds": len(art["parts"]),
        "fold_sharpe": sharpe,
        "fold_return": ret,
        "fold_accuracy": accuracy,
        "folds_profitable": sum(r > 0 for r in ret),
    }
