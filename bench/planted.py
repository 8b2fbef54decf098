"""Planted edges and noise universes: synthetic OHLCV series with a known edge (or none), pure numpy, seeded.

A series has a `Shape`, calibrated like bench/null_discovery.py's random walks: the
timestamps, bar count, per-bar sd of close-to-close log returns, the gap/body variance
split, the mean wick lengths and the volume of a real dataset (or a 20-year daily series
like SP500's). Its close-to-close log return is r_t = gap_t + body_t, where the gap is
close_{t-1} -> open_t and the body open_t -> close_t.

An edge is a conditional drift of the BODY known at the previous close:

    body_t = drift_t + noise,    drift_t = c * sum_j w_j * r_{t-j}   (j = 1, 2, ...)

so a strategy deciding at close t-1 and trading at open t can capture it. Every kind in
`EDGES` is such a weight vector w (linear in past returns, so the series is an AR process
generated exactly by a linear filter); c is calibrated elsewhere (bench/power.py) to an
oracle Sharpe. The oscillator's mean is the geometric SMA (mean of log closes), which
differs from the log of the arithmetic SMA by O(sigma^2) and keeps the drift linear.

`NOISE` holds the edge-free universes: a driftless walk, walks with a yearly drift, and
GARCH(1,1) with unit-variance Student-t shocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

GENERATOR_VERSION = 1  # bump when a generator changes: calibrations cached under the old one are stale


@dataclass(frozen=True)
class Shape:
    """What a synthetic series copies from a real one (everything but its path)."""

    name: str  # e.g. "SP500/1d" or "daily20y"
    timeframe: str
    index: Any  # pd.DatetimeIndex of the bars
    sigma: float  # sd (ddof=1) of close-to-close log returns
    gap_share: float  # share of the per-bar variance in the open gap
    wick_up: float  # mean log length of the upper wick
    wick_down: float
    volume: np.ndarray
    first_close: float = 100.0

    @property
    def bars(self) -> int:
        return len(self.index)


def shape_of(real: Any, name: str, timeframe: str) -> Shape:
    """The shape of a real OHLCV frame, measured as null_discovery.random_walk measures it."""
    o, h, l, c = (np.log(real[k].to_numpy()) for k in ("open", "high", "low", "close"))
    gap_var, body_var = float(np.var(o[1:] - c[:-1])), float(np.var(c - o))
    gap_share = min(0.9, gap_var / (gap_var + body_var)) if gap_var + body_var > 0 else 0.0
    return Shape(
        name=name,
        timeframe=timeframe,
        index=real.index,
        sigma=float(np.std(np.diff(c), ddof=1)),
        gap_share=gap_share,
        wick_up=float(np.mean(h - np.maximum(o, c))),
        wick_down=float(np.mean(np.minimum(o, c) - l)),
        volume=real["volume"].to_numpy(),
        first_close=float(real["close"].iloc[0]),
    )


def daily_shape(like: Shape, bars: int = 5040, sigma: float = 0.01, end: str = "2024-12-31") -> Shape:
    """A business-day series of `bars` bars (5040: 20 years) with `like`'s gap split, wicks and volume pattern."""
    import pandas as pd

    index = pd.bdate_range(end=end, periods=bars, name="timestamp")
    volume = np.resize(like.volume, bars)
    return Shape(
        f"daily{round(bars / 252)}y",
        "1d",
        index,
        sigma,
        like.gap_share,
        like.wick_up,
        like.wick_down,
        volume,
        like.first_close,
    )


# -- edges -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """A planted edge: drift_t = c * sum_j weights[j-1] * r_{t-j}."""

    name: str
    description: str
    weights: tuple[float, ...]


def _oscillator_weights(m: int) -> tuple[float, ...]:
    # log C_{t-1} - mean_{i<M} log C_{t-1-i} = sum_{j=1}^{M-1} r_{t-j} (M - j) / M; pulled back: negative.
    return tuple(-(m - j) / m for j in range(1, m))


EDGES: dict[str, Edge] = {
    e.name: e
    for e in (
        Edge("momentum", "autocorrelated returns: drift = c * r[t-1]", (1.0,)),
        Edge("meanrev", "mean reversion over 5 bars: drift = -c * sum of r[t-5..t-1]", (-1.0,) * 5),
        Edge(
            "oscillator",
            "stretched from its 20-bar mean, price pulls back: drift = -c * (log C - log SMA20)[t-1]",
            _oscillator_weights(20),
        ),
        Edge("lag2", "2-bar-lag momentum: drift = c * r[t-2]", (0.0, 1.0)),
    )
}


@dataclass
class Series:
    """A generated series: the bars and, for a planted edge, each bar's true body drift."""

    bars: Any  # pd.DataFrame open/high/low/close/volume on shape.index
    drift: np.ndarray  # drift_t of each bar's body (zeros for noise)
    returns: np.ndarray  # close-to-close log returns r_t (r_0: bar 0's body)


def planted_returns(edge: Edge, c: float, n: int, gap_share: float, sigma: float, seed: int) -> tuple:
    """Gap, body and drift per bar (log units), with sd(r) exactly `sigma`."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    gap = rng.normal(0.0, math.sqrt(gap_share), n)
    noise = rng.normal(0.0, math.sqrt(1 - gap_share), n)
    gap[0] = 0.0
    w = np.asarray(edge.weights) * c
    # r_t = sum_j w_j r_{t-j} + (gap_t + noise_t): an AR(p) filter on the shocks.
    r = lfilter([1.0], np.concatenate(([1.0], -w)), gap + noise)
    scale = sigma / float(np.std(r[1:], ddof=1))
    r, gap, noise = r * scale, gap * scale, noise * scale
    drift = r - gap - noise
    return gap, drift + noise, drift


def returns_of(bars: Any) -> np.ndarray:
    """Close-to-close log returns r_t; r_0 is bar 0's body (its open stands in for the previous close)."""
    o, c = np.log(bars["open"].to_numpy()), np.log(bars["close"].to_numpy())
    return np.concatenate(([c[0] - o[0]], np.diff(c)))


def next_drift(edge: Edge, c: float, returns: np.ndarray) -> np.ndarray:
    """At each bar t, the drift of bar t+1's body from r_t, r_{t-1}, ... only: what is known at close t."""
    w = np.asarray(edge.weights) * c
    out = np.zeros(len(returns))
    for j, wj in enumerate(w):  # drift_{t+1} = sum_j w_j r_{t+1-j}: weight j (from 0) on r_{t-j}
        if wj:
            out[j:] += wj * returns[: len(returns) - j]
    return out


def to_bars(shape: Shape, gap: np.ndarray, body: np.ndarray, seed: int) -> Any:
    """OHLCV bars from log gaps and bodies, with exponential wicks of the shape's mean lengths."""
    import pandas as pd

    rng = np.random.default_rng([seed, 7])
    n = len(gap)
    log_close = math.log(shape.first_close) + np.cumsum(gap + body)
    log_open = log_close - body
    top, bottom = np.maximum(log_open, log_close), np.minimum(log_open, log_close)
    up, down = shape.wick_up, shape.wick_down
    out = pd.DataFrame(
        {
            "open": np.exp(log_open),
            "high": np.exp(top + rng.exponential(up, n) if up > 0 else top),
            "low": np.exp(bottom - rng.exponential(down, n) if down > 0 else bottom),
            "close": np.exp(log_close),
            "volume": np.asarray(shape.volume[:n], dtype="float64"),
        },
        index=shape.index,
    )
    out["high"] = out[["open", "high", "close"]].max(axis=1)  # exp() may round inside by one ulp
    out["low"] = out[["open", "low", "close"]].min(axis=1)
    return out


def planted(edge: Edge, c: float, shape: Shape, seed: int) -> Series:
    """A series of `shape` with `edge` planted at strength c."""
    gap, body, drift = planted_returns(edge, c, shape.bars, shape.gap_share, shape.sigma, seed)
    return Series(to_bars(shape, gap, body, seed), drift, gap + body)


# -- noise -------------------------------------------------------------------------------------


def _split(shock: np.ndarray, other: np.ndarray, gap_share: float) -> tuple[np.ndarray, np.ndarray]:
    return shock * math.sqrt(gap_share), other * math.sqrt(1 - gap_share)


def drifting_walk(yearly: float) -> Callable[[Shape, int, float], tuple[np.ndarray, np.ndarray]]:
    """Gaussian walk whose log price rises by log(1 + yearly) a year on average, in the bodies."""

    def gen(shape: Shape, seed: int, per_year: float) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        n = shape.bars
        gap, body = _split(rng.normal(size=n), rng.normal(size=n), shape.gap_share)
        gap[0] = 0.0
        mu = math.log1p(yearly) / per_year
        s = shape.sigma / math.sqrt(gap.var() + body.var())  # sd(r) is sigma up to sampling
        return gap * s, body * s + mu

    return gen


def garch_t(nu: float = 4.0, alpha: float = 0.08, beta: float = 0.90):
    """GARCH(1,1) with unit-variance Student-t(nu) shocks, unconditional sd the shape's sigma, no drift."""

    def gen(shape: Shape, seed: int, per_year: float) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        n = shape.bars
        unit = math.sqrt((nu - 2) / nu)  # a t(nu) draw times this has variance 1
        z1, z2 = rng.standard_t(nu, n) * unit, rng.standard_t(nu, n) * unit
        z = np.sqrt(shape.gap_share) * z1 + np.sqrt(1 - shape.gap_share) * z2  # unit variance
        var0 = shape.sigma**2
        omega = var0 * (1 - alpha - beta)
        var, eps = var0, 0.0
        sd = np.empty(n)
        for t in range(n):  # 5,040 steps: a plain loop is fast enough
            var = omega + alpha * eps * eps + beta * var
            sd[t] = math.sqrt(var)
            eps = sd[t] * z[t]
        gap, body = sd * z1 * math.sqrt(shape.gap_share), sd * z2 * math.sqrt(1 - shape.gap_share)
        gap[0] = 0.0
        return gap, body

    return gen


NOISE: dict[str, Callable[[Shape, int, float], tuple[np.ndarray, np.ndarray]]] = {
    "walk": drifting_walk(0.0),
    "drift8": drifting_walk(0.08),
    "drift15": drifting_walk(0.15),
    "garch_t4": garch_t(4.0),
}


def noise(kind: str, shape: Shape, seed: int, per_year: float) -> Series:
    """An edge-free series of `shape` from the NOISE universe `kind`."""
    gap, body = NOISE[kind](shape, seed, per_year)
    return Series(to_bars(shape, gap, body, seed), np.zeros(shape.bars), gap + body)
