"""Economic evidence: a strategy's return in excess of the market exposure it held, and its tests.

A strategy that is long on average earns the market's drift without any skill. Its
excess return removes that: e_t = r_t - p̄ m_t, where r_t is the strategy's per-bar
return, m_t the market's close-to-close return over the same bar and p̄ the strategy's
average position (net exposure, in [-1, 1]) over the bars tested. Without skill the
position does not predict the next bar's return, so E[e_t] <= 0 after costs, whatever
the drift and however fat the tails. Every gate that decides a strategy's fate tests e_t:

- one strategy (training gate, final holdout): the one-sided test of mean(e) > 0 with a
  heteroskedasticity and autocorrelation consistent (HAC) standard error, Newey–West's
  Bartlett kernel with Andrews' automatic bandwidth (`arch.covariance.kernel.Bartlett`);
- one strategy among all tried on its dataset (backtest gate): the single-step max-T
  test of White's Reality Check, studentised as in Hansen's SPA and Romano–Wolf's StepM,
  on stationary-bootstrap resamples (`arch.bootstrap.StationaryBootstrap`) of the trials'
  excess returns over the same bars. Trials that move together count as fewer trials.

References:
- W. K. Newey and K. D. West (1987), "A Simple, Positive Semi-Definite, Heteroskedasticity
  and Autocorrelation Consistent Covariance Matrix", Econometrica 55(3).
- D. W. K. Andrews (1991), "Heteroskedasticity and Autocorrelation Consistent Covariance
  Matrix Estimation", Econometrica 59(3).
- H. White (2000), "A Reality Check for Data Snooping", Econometrica 68(5).
- P. R. Hansen (2005), "A Test for Superior Predictive Ability", JBES 23(4).
- J. P. Romano and M. Wolf (2005), "Stepwise Multiple Testing as Formalized Data
  Snooping", Econometrica 73(4).
- D. N. Politis and J. P. Romano (1994), "The Stationary Bootstrap", JASA 89(428).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np

MIN_BARS = 20  # fewer bars carry no evidence: p = 1
BOOTSTRAP_REPS = 1000


def _arch_without_its_models() -> None:
    """Make `arch.covariance` and `arch.bootstrap` importable without running arch/__init__.py.

    arch's __init__ imports its GARCH models, and they import matplotlib and statsmodels:
    about 0.9 s in every lab worker (three per cycle), which uses neither. The package is
    registered unexecuted, and its submodules load through its __path__ as usual. A process
    that already imported arch keeps it as it is.
    """
    if "arch" not in sys.modules and (spec := importlib.util.find_spec("arch")) is not None:
        sys.modules["arch"] = importlib.util.module_from_spec(spec)


class ExcessTest(NamedTuple):
    """The excess return's one-sided test against 0."""

    mean: float  # per bar
    se: float  # HAC standard error of the mean
    t: float
    p: float  # one-sided: H0 mean <= 0
    exposure: float  # p̄, the average position the market return was scaled by
    sharpe: float  # annualised Sharpe of the excess return (mean / sd * sqrt(bars per year))


def excess_returns(rets: np.ndarray, market: np.ndarray, position: np.ndarray) -> tuple[np.ndarray, float]:
    """(e_t, p̄): the strategy's per-bar returns less its average position times the market's."""
    import numpy as np

    r = np.asarray(rets, dtype="float64")
    m = np.asarray(market, dtype="float64")
    pos = np.asarray(position, dtype="float64")
    if not len(r) == len(m) == len(pos):
        raise ValueError(f"returns ({len(r)}), market ({len(m)}) and positions ({len(pos)}) differ in length")
    exposure = float(pos.mean()) if len(pos) else 0.0
    return r - exposure * m, exposure


def market_returns(close: np.ndarray, previous_close: float) -> np.ndarray:
    """Close-to-close returns of each bar, the first against the close before it."""
    import numpy as np

    c = np.asarray(close, dtype="float64")
    before = np.concatenate(([previous_close], c[:-1]))
    return c / before - 1.0


def hac_test(excess: np.ndarray, per_year: float) -> ExcessTest:
    """One-sided HAC test of mean(excess) > 0; p = 1 without evidence (too few bars, no variance)."""
    import numpy as np

    _arch_without_its_models()
    from arch.covariance.kernel import Bartlett
    from scipy.stats import norm

    e = np.asarray(excess, dtype="float64")
    if len(e) < MIN_BARS or not np.all(np.isfinite(e)) or float(np.ptp(e)) == 0:
        return ExcessTest(float(e.mean()) if len(e) else 0.0, math.inf, 0.0, 1.0, 0.0, 0.0)
    mean, sd = float(e.mean()), float(e.std(ddof=1))
    long_run = float(np.asarray(Bartlett(e - mean).cov.long_run).ravel()[0])
    # A long-run variance below the plain one (negative autocorrelation) is not taken as extra evidence.
    se = math.sqrt(max(long_run, sd * sd) / len(e))
    t = mean / se
    return ExcessTest(mean, se, t, float(norm.sf(t)), 0.0, mean / sd * math.sqrt(per_year))


def test(rets: np.ndarray, market: np.ndarray, position: np.ndarray, per_year: float) -> ExcessTest:
    """The excess return of a strategy over the exposure it held, tested one-sided against 0."""
    e, exposure = excess_returns(rets, market, position)
    return hac_test(e, per_year)._replace(exposure=exposure)


class Snooping(NamedTuple):
    """The data-snooping adjusted p-value of one trial among all tried on the same bars."""

    p: float  # P*(max over trials of the bootstrap t >= this trial's t)
    trials: int  # trials in the family, this one included
    effective_trials: float  # Šidák-equivalent number of independent trials: log(1-p_adj)/log(1-p_raw)
    t: float  # this trial's studentised excess return
    block: int  # mean block length of the stationary bootstrap
    reps: int


def snooping_p(excess: np.ndarray, k: int, reps: int = BOOTSTRAP_REPS, seed: int = 0) -> Snooping:
    """Reality-Check p-value of trial `k` (a column of `excess`, bars × trials) among all the columns.

    Each trial's mean excess return is studentised by its bootstrap standard error; the
    null distribution is the maximum over trials of the recentred bootstrap t statistics,
    so a family of near-identical trials costs about one trial and independent ones cost
    about Šidák's 1 - (1 - p)^n. Seeded: the same family always gives the same p.
    """
    import numpy as np

    _arch_without_its_models()
    from arch.bootstrap import StationaryBootstrap, optimal_block_length

    e = np.asarray(excess, dtype="float64")
    if e.ndim != 2 or not 0 <= k < e.shape[1]:
        raise ValueError(f"need bars × trials and a trial index in range, not shape {e.shape} and k={k}")
    n_bars, n_trials = e.shape
    if n_bars < MIN_BARS or float(np.ptp(e[:, k])) == 0 or not np.all(np.isfinite(e)):
        return Snooping(1.0, n_trials, float(n_trials), 0.0, 0, 0)  # no evidence: it never traded, or too few bars
    optimal = float(optimal_block_length(e[:, k]).iloc[0]["stationary"])
    block = int(np.clip(round(optimal), 1, n_bars // 10)) if math.isfinite(optimal) else 1
    bs = StationaryBootstrap(block, np.arange(n_bars), seed=np.random.default_rng(seed))
    mean = e.mean(axis=0)
    # Each resample's means as (how often it drew each bar) @ excess: one matrix product, not a gather.
    idx = np.stack([bs.update_indices() for _ in range(reps)])
    idx += np.arange(reps)[:, None] * n_bars
    counts = np.bincount(idx.ravel(), minlength=reps * n_bars).reshape(reps, n_bars).astype("float64")
    boot = counts @ e / n_bars
    se = boot.std(axis=0, ddof=1)
    live = se > 0
    if not live[k]:
        return Snooping(1.0, n_trials, float(n_trials), 0.0, block, reps)
    t = np.where(live, mean / np.where(live, se, 1.0), -np.inf)
    centred = np.where(live, (boot - mean) / np.where(live, se, 1.0), -np.inf)
    p = float((1 + np.count_nonzero(centred.max(axis=1) >= t[k])) / (reps + 1))
    return Snooping(p, n_trials, min(float(n_trials), _effective(p, float(t[k]))), float(t[k]), block, reps)


def _effective(p_adjusted: float, t: float) -> float:
    """How many independent trials would give `p_adjusted` from this trial's own (unadjusted) p, by Šidák."""
    from scipy.stats import norm

    raw = float(norm.sf(t))
    if not 0 < raw < 1 or not 0 < p_adjusted < 1 or p_adjusted <= raw:
        return 1.0
    return max(1.0, math.log1p(-p_adjusted) / math.log1p(-raw))


def needed_sharpe(years: float, alpha: float, power: float) -> float:
    """The annualised excess Sharpe a strategy needs for `power` chance of a one-sided test at `alpha` over `years`.

    The test's t statistic is about Sharpe × sqrt(years), so it passes with probability
    Φ(Sharpe × sqrt(years) - z_alpha): Sharpe = (z_alpha + z_power) / sqrt(years).
    The stdlib's normal quantiles: a design, `data list` or a report needs two, not scipy's import.
    """
    from statistics import NormalDist

    if years <= 0:
        return math.inf
    if alpha >= 1:  # the test passes everything: any Sharpe will do
        return -math.inf
    z = NormalDist()
    return (-z.inv_cdf(alpha) + z.inv_cdf(power)) / math.sqrt(years)
