"""The oracle of bench/power.py: the edge's coefficient calibrated to a target Sharpe, and its own confirmation rate.

The ORACLE holds sign(true drift of the next bar), flat when |drift| is not above a threshold
chosen to maximise its Sharpe after the project's costs; what it earns and how often it is
confirmed is the limit any strategy faces on a planted series.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import null_discovery as nd
from bench import planted

FEE = SLIPPAGE = 1e-4  # 1 bp each, per fill: what the baseline designer's strategies pay
CALIBRATION = Path(__file__).resolve().parent / "power_calibration.json"
CALIBRATION_BARS = 300_000
CALIBRATION_SEED = 20_261_207
CALIBRATION_BLOCK = 5_000
ORACLE_SERIES = 400
# The oracle stays flat when |drift| <= threshold; candidates in units of one fill's cost (fee + slippage).
THRESHOLDS = (0.0, 0.5, 1.0, 2.0, 4.0)


def research_per_year(shape: planted.Shape, lookback: int) -> float:
    """Bars per year over the research bars, as run_holdout annualises its holdout."""
    from agentctl.lab.data import bars_per_year
    from agentctl.lab.periods import periods

    return bars_per_year(shape.index[: periods(shape.bars, 1, lookback, shape.timeframe).research_end])


def oracle_signal(edge: planted.Edge, c: float, returns: np.ndarray, threshold: float) -> np.ndarray:
    """Position at each close: the sign of the next bar's true drift, flat when it is not above `threshold`."""
    d = planted.next_drift(edge, c, returns)
    return np.where(np.abs(d) > threshold, np.sign(d), 0.0)


def _oracle_sharpes(
    edge: planted.Edge, c: float, shape: planted.Shape, per_year: float, seed: int = CALIBRATION_SEED
) -> list[float]:
    """The oracle's Sharpe after costs at each threshold, on one long series of the shape's vol and gap split.

    Traded in blocks of CALIBRATION_BLOCK bars (each from equity 1), whose per-bar returns are
    pooled: one equity curve over 300,000 bars of a Sharpe-2 edge would overflow a float.
    """
    from agentctl.lab.backtest import annual_sharpe, bar_returns, simulate

    gap, body, _ = planted.planted_returns(edge, c, CALIBRATION_BARS, shape.gap_share, shape.sigma, seed)
    log_close = np.cumsum(gap + body)
    close, open_ = np.exp(log_close), np.exp(log_close - body)
    out = []
    for k in THRESHOLDS:
        signal = oracle_signal(edge, c, gap + body, k * (FEE + SLIPPAGE))
        rets = []
        for lo in range(0, CALIBRATION_BARS, CALIBRATION_BLOCK):
            part = slice(lo, lo + CALIBRATION_BLOCK)
            rets.append(bar_returns(simulate(open_[part], close[part], signal[part], FEE, SLIPPAGE).equity))
        out.append(annual_sharpe(np.concatenate(rets), per_year))
    return out


def _stable(edge: planted.Edge, c: float) -> bool:
    roots = np.roots(np.concatenate(([1.0], -c * np.asarray(edge.weights))))
    return bool(np.all(np.abs(roots) < 0.98))


def calibrate(edge: planted.Edge, target: float, shape: planted.Shape) -> dict[str, float]:
    """Bisect the edge's coefficient c until the oracle's best Sharpe after costs is `target` (within 0.005)."""
    per_year = research_per_year(shape, len(edge.weights))
    lo, hi = 0.0, 0.01
    while max(_oracle_sharpes(edge, hi, shape, per_year)) < target:
        lo, hi = hi, hi * 2
        if not _stable(edge, hi):
            raise ValueError(f"{edge.name}: no stationary coefficient reaches oracle Sharpe {target}")
    sharpes: list[float] = []
    for _ in range(40):
        c = (lo + hi) / 2
        sharpes = _oracle_sharpes(edge, c, shape, per_year)
        if abs(max(sharpes) - target) < 0.005:
            break
        lo, hi = (c, hi) if max(sharpes) < target else (lo, c)
    best = int(np.argmax(sharpes))
    return {"c": c, "sharpe": sharpes[best], "threshold": THRESHOLDS[best] * (FEE + SLIPPAGE), "per_year": per_year}


def _calibration_key(kind: str, target: float, shape: planted.Shape) -> str:
    return (
        f"v{planted.GENERATOR_VERSION}:{kind}:{target:g}:{shape.name}:sigma={shape.sigma:.6g}:"
        f"gap={shape.gap_share:.6g}:bars={shape.bars}:fee={FEE:g}:slip={SLIPPAGE:g}:n={CALIBRATION_BARS}"
    )


def calibration(kind: str, target: float, shape: planted.Shape, cache: Path | None = CALIBRATION) -> dict:
    """The cached calibration of (kind, target Sharpe, shape), computed and stored when missing or stale."""
    key = _calibration_key(kind, target, shape)
    stored = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    if key not in stored:
        started = time.perf_counter()
        stored[key] = calibrate(planted.EDGES[kind], target, shape)
        nd._log(
            f"calibrated {kind} at oracle Sharpe {target:g} on {shape.name}: c = {stored[key]['c']:.5f} "
            f"({time.perf_counter() - started:.1f} s)"
        )
        if cache is not None:
            cache.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    return stored[key]


def oracle_holdout(series: planted.Series, edge: planted.Edge, cal: dict, timeframe: str) -> Any:
    """The oracle traded on the series' final holdout bars only, scored by the holdout's own `score`."""
    from agentctl.lab.backtest import simulate
    from agentctl.lab.holdout import score
    from agentctl.lab.periods import holdout_index

    bars = series.bars
    start = holdout_index(len(bars), timeframe)  # the dataset's own holdout, as the import computes it
    sig = oracle_signal(edge, cal["c"], planted.returns_of(bars), cal["threshold"])
    hold = bars.iloc[start:]
    sim = simulate(hold["open"].to_numpy(), hold["close"].to_numpy(), sig[start:], FEE, SLIPPAGE)
    return score(sim, hold, cal["per_year"], float(bars["close"].iloc[start - 1]))


def oracle_confirmation(kind: str, cal: dict, shape: planted.Shape, n: int = ORACLE_SERIES) -> dict[str, Any]:
    """How often the oracle is confirmed on the holdout of `n` independent series: the limit of discovery."""
    from agentctl.lab.gates import confirmation_gate

    edge = planted.EDGES[kind]
    confirmed, sharpes = 0, []
    for i in range(n):
        result = oracle_holdout(planted.planted(edge, cal["c"], shape, seed=10_000 + i), edge, cal, shape.timeframe)
        confirmed += confirmation_gate(result).passed
        sharpes.append(result.sharpe)
    return {"confirmed": confirmed, "series": n, "median_holdout_sharpe": float(np.median(sharpes))}
