"""Research statistics: deflated Sharpe, significance tests and the probability of backtest overfitting.

Pure functions over plain numbers and numpy arrays; nothing here reads the store
or the clock. numpy and scipy are imported inside the functions, so importing
this module stays cheap.

Conventions, shared by every function here and by the backtest's own metrics:
- a Sharpe ratio is per bar (not annualised): mean / sample standard deviation
  (ddof=1) of the per-bar returns;
- skew and kurtosis are the population (biased) moment ratios, and kurtosis is
  NOT excess: a normal distribution has kurtosis 3;
- a statistic that cannot be computed (too few bars, zero variance, moments no
  distribution can have) fails closed: a PSR or DSR of 0.0 and a p-value of 1.0,
  "no evidence", so a gate built on it rejects. Results stay finite, so they
  survive a JSON round trip.

References:
- D. H. Bailey and M. López de Prado (2012), "The Sharpe Ratio Efficient Frontier",
  Journal of Risk 15(2): the probabilistic Sharpe ratio (PSR).
- D. H. Bailey and M. López de Prado (2014), "The Deflated Sharpe Ratio: Correcting
  for Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio
  Management 40(5): the expected maximum Sharpe SR0 and the DSR.
- D. H. Bailey, J. M. Borwein, M. López de Prado and Q. J. Zhu (2017), "The
  Probability of Backtest Overfitting", Journal of Computational Finance 20(4):
  combinatorially symmetric cross-validation (CSCV).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agentctl.results import DeflatedInputs

if TYPE_CHECKING:
    import numpy as np

EULER_GAMMA = 0.5772156649015329
BLOCKS = 16  # time blocks per dataset research period for CSCV
MIN_BARS = 3  # fewer per-bar returns than this carry no Sharpe, skew or kurtosis
_SPLIT_CHUNK = 8192  # CSCV split pairs evaluated per vectorised batch (bounds memory for larger block counts)


class DeflatedSharpe(DeflatedInputs):
    """A strategy's deflated Sharpe ratio and every input it was computed from."""

    dsr: float = Field(description="probability that the true Sharpe exceeds sr0 (PSR against sr0)")


class PBOResult(BaseModel):
    """Probability of backtest overfitting by CSCV, with what it was computed over."""

    pbo: float | None = Field(
        description="share of splits whose in-sample best ranks at or below the median out of sample"
    )
    trials: int
    blocks: int
    combinations: int = Field(description="in-sample/out-of-sample splits evaluated: C(blocks, blocks/2)")
    median_logit: float | None = Field(
        description="median over splits of ln(ω/(1-ω)); above 0 the in-sample best holds up"
    )
    note: str


def expected_max_sharpe(n_trials: int, var_trials: float) -> float:
    """SR0: the expected maximum of `n_trials` iid Sharpe estimates of zero mean and variance `var_trials`.

    Bailey & López de Prado (2014):
    sqrt(V) * ((1 - γ) Φ^-1(1 - 1/N) + γ Φ^-1(1 - 1/(N e))), γ the Euler–Mascheroni constant.
    0.0 when n_trials <= 1 (nothing was selected) or var_trials is 0. The result is in the
    units of var_trials: per-bar variance gives a per-bar SR0.
    """
    from scipy.stats import norm

    if not math.isfinite(var_trials) or var_trials < 0:
        raise ValueError(f"var_trials must be a finite number >= 0, not {var_trials!r}")
    if n_trials <= 1 or var_trials == 0:
        return 0.0
    n = float(n_trials)
    z = (1 - EULER_GAMMA) * norm.ppf(1 - 1 / n) + EULER_GAMMA * norm.ppf(1 - 1 / (n * math.e))
    return float(math.sqrt(var_trials) * z)


def _psr_z(sr: float, sr_benchmark: float, t: int, skew: float, kurtosis: float) -> float | None:
    """The PSR's z statistic, or None when it is undefined (t < 2, a non-finite input, denominator <= 0)."""
    if t < 2 or not all(math.isfinite(x) for x in (sr, sr_benchmark, skew, kurtosis)):
        return None
    denominator = 1 - skew * sr + (kurtosis - 1) / 4 * sr**2
    if not denominator > 0:
        return None
    return (sr - sr_benchmark) * math.sqrt(t - 1) / math.sqrt(denominator)


def probabilistic_sharpe(sr: float, sr_benchmark: float, t: int, skew: float, kurtosis: float) -> float:
    """PSR: the probability that the true Sharpe exceeds `sr_benchmark`, given `sr` estimated on `t` bars.

    Φ((sr - sr_benchmark) * sqrt(t - 1) / sqrt(1 - skew*sr + (kurtosis - 1)/4 * sr^2)), with a
    per-bar (non-annualised) Sharpe and kurtosis NOT excess (normal = 3).

    Guard: the denominator is the estimator's variance factor. Any real distribution has
    kurtosis >= 1 + skew^2, which keeps it >= (skew*sr/2 - 1)^2 >= 0, so a non-positive value
    means moments no distribution has (or a degenerate two-point one). Then, and also for
    t < 2 or a non-finite input, the PSR is 0.0: no evidence that the true Sharpe exceeds
    the benchmark, so a gate on it fails closed.
    """
    from scipy.stats import norm

    z = _psr_z(sr, sr_benchmark, t, skew, kurtosis)
    return 0.0 if z is None else float(norm.cdf(z))


def _moments(returns: np.ndarray) -> tuple[float, float, float, int] | None:
    """(per-bar Sharpe, skew, kurtosis, t) of finite returns, or None when fewer than MIN_BARS or zero variance."""
    import numpy as np
    from scipy.stats import kurtosis, skew

    r = np.asarray(returns, dtype="float64").ravel()
    if not np.all(np.isfinite(r)):
        raise ValueError("returns must be finite numbers")
    t = len(r)
    if t < MIN_BARS:
        return None
    if float(np.ptp(r)) == 0:  # constant: no variance (r.std() may round to a tiny non-zero)
        return None
    return float(r.mean()) / float(r.std(ddof=1)), float(skew(r)), float(kurtosis(r, fisher=False)), t


def deflated_sharpe(
    returns: np.ndarray, n_trials: int, var_trials: float, variance_source: str = "recorded trials"
) -> DeflatedSharpe:
    """The DSR of a strategy selected from `n_trials` trials: its PSR against SR0 = expected_max_sharpe.

    sr, skew and kurtosis come from the strategy's own per-bar returns; var_trials is the
    variance of the trials' per-bar Sharpe ratios (see trial_sharpe_variance). With fewer
    than MIN_BARS returns or zero variance the DSR is 0.0 (sr 0, skew 0, kurtosis 3 recorded).
    """
    n = max(1, int(n_trials))
    sr0 = expected_max_sharpe(n, var_trials)
    moments = _moments(returns)
    if moments is None:
        sr, skew, kurt, dsr = 0.0, 0.0, 3.0, 0.0
        t = len(returns)
    else:
        sr, skew, kurt, t = moments
        dsr = probabilistic_sharpe(sr, sr0, t, skew, kurt)
    return DeflatedSharpe(
        sr=sr,
        sr0=sr0,
        dsr=dsr,
        n_trials=n,
        var_trials=float(var_trials),
        variance_source=variance_source,
        t=t,
        skew=skew,
        kurtosis=kurt,
    )


def trial_sharpe_variance(
    annual_sharpes: list[float], bars_per_year: float, t: int, min_trials: int = 5
) -> tuple[float, str]:
    """The variance of the trials' per-bar Sharpe ratios, and where it came from.

    With at least `min_trials` finite annualised Sharpes: their sample variance (ddof=1)
    divided by bars_per_year (an annualised Sharpe is the per-bar one times
    sqrt(bars_per_year)). With fewer: the variance of a no-skill Sharpe estimate on `t`
    bars, 1/(t - 1).
    """
    import numpy as np

    if not math.isfinite(bars_per_year) or bars_per_year <= 0:
        raise ValueError(f"bars_per_year must be a finite number > 0, not {bars_per_year!r}")
    values = np.asarray([s for s in annual_sharpes if s is not None], dtype="float64")
    values = values[np.isfinite(values)]
    n = len(values)
    if n >= max(2, min_trials):
        return float(values.var(ddof=1)) / bars_per_year, f"recorded trials (n={n})"
    if t < 2:
        raise ValueError(f"the no-skill variance 1/(T-1) needs T >= 2 bars, not {t}")
    return 1.0 / (t - 1), f"no-skill fallback 1/(T-1): {n} recorded trial{'' if n == 1 else 's'}"


def sharpe_greater_than_zero_p(returns: np.ndarray) -> float:
    """One-sided p-value of H0 "the true Sharpe is <= 0": 1 - PSR(sr, 0, t, skew, kurtosis).

    1.0 (no evidence) with fewer than MIN_BARS returns, zero variance or an undefined PSR.
    """
    from scipy.stats import norm

    moments = _moments(returns)
    if moments is None:
        return 1.0
    sr, skew, kurt, t = moments
    z = _psr_z(sr, 0.0, t, skew, kurt)
    return 1.0 if z is None else float(norm.sf(z))  # sf(z) = 1 - Φ(z), exact in the far tail


def binomial_edge_p(correct: int, n: int, p0: float) -> float:
    """One-sided binomial p-value of H0 "accuracy <= p0" against accuracy > p0.

    p0 is the accuracy of the best constant predictor on the same bars. 1.0 when n is 0.
    """
    from scipy.stats import binomtest

    if not 0 <= p0 <= 1:
        raise ValueError(f"p0 must be in [0, 1], not {p0!r}")
    if n < 0 or not 0 <= correct <= n:
        raise ValueError(f"need 0 <= correct <= n, not correct={correct}, n={n}")
    if n == 0:
        return 1.0
    return float(binomtest(int(correct), int(n), float(p0), alternative="greater").pvalue)


def block_stats(
    returns: np.ndarray, positions: np.ndarray, start: int, end: int, blocks: int = BLOCKS
) -> list[list[float]]:
    """[sum, sum of squares, count] of per-bar returns in each of `blocks` equal blocks of bar positions [start, end).

    `positions` are the returns' bar indices in the dataset. Position p falls in block
    floor((p - start) * blocks / (end - start)), so block sizes differ by at most one bar.
    Returns outside [start, end) are ignored; a block with none is [0, 0, 0]. Every trial of
    one PBO must use the same start, end and blocks.
    """
    import numpy as np

    r = np.asarray(returns, dtype="float64").ravel()
    p = np.asarray(positions).ravel()
    if len(r) != len(p):
        raise ValueError(f"returns ({len(r)}) and positions ({len(p)}) differ in length")
    if end <= start or blocks < 1:
        raise ValueError(f"need start < end and blocks >= 1, not start={start}, end={end}, blocks={blocks}")
    inside = (p >= start) & (p < end)
    r, p = r[inside], p[inside].astype("int64")
    if not np.all(np.isfinite(r)):
        raise ValueError("returns must be finite numbers")
    idx = (p - start) * blocks // (end - start)
    sums = np.bincount(idx, weights=r, minlength=blocks)
    squares = np.bincount(idx, weights=r * r, minlength=blocks)
    counts = np.bincount(idx, minlength=blocks).astype("float64")
    return np.column_stack([sums, squares, counts]).tolist()


def _sharpe_from_sums(s: np.ndarray, q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per-bar Sharpe (ddof=1) from sums, sums of squares and counts; 0 where fewer than 2 bars or no variance."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / c
        sd = q - s * mean  # (c - 1) * variance
        np.maximum(sd, 0.0, out=sd)
        sd /= c - 1
        np.sqrt(sd, out=sd)
        # q - s*mean cancels to ~1e-16 * q for constant returns, leaving an sd of ~1e-8 of
        # their size; below 1e-7 of it is zero variance (a real |Sharpe| is never ~1e7).
        floor = np.sqrt(q / c)
        floor *= 1e-7
        sr = np.divide(mean, sd, out=mean)
    sr[~((c >= 2) & (sd > floor))] = 0.0
    return sr


def _logits(sr_is: np.ndarray, sr_oos: np.ndarray) -> np.ndarray:
    """λ per split (rows) of the in-sample best trial's out-of-sample relative rank ω = r/(N + 1)."""
    import numpy as np

    best = np.argmax(sr_is, axis=1)
    chosen = sr_oos[np.arange(len(best)), best][:, None]
    # Rank 1 (worst) .. N (best) out of sample; ties share their average rank.
    rank = np.count_nonzero(sr_oos < chosen, axis=1) + (np.count_nonzero(sr_oos == chosen, axis=1) + 1) / 2
    omega = rank / (sr_oos.shape[1] + 1)
    return np.log(omega / (1 - omega))


def _cscv_logits(by_stat: list[np.ndarray], total: np.ndarray, half: np.ndarray) -> np.ndarray:
    """λ of both splits each row of `half` (splits × blocks, bool) makes: the half in sample, then its complement.

    by_stat[k] is blocks × trials of statistic k (sum, sum of squares, count); total is 3 × trials.
    """
    import numpy as np

    mask = half.astype("float64")
    inside = [mask @ by_stat[k] for k in range(3)]  # splits × trials
    sr_half = _sharpe_from_sums(*inside)
    sr_rest = _sharpe_from_sums(*(total[k] - inside[k] for k in range(3)))
    return np.concatenate([_logits(sr_half, sr_rest), _logits(sr_rest, sr_half)])


def pbo_cscv(trial_blocks: list[list[list[float]]]) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    `trial_blocks[i][b]` is trial i's [sum, sum of squares, count] in time block b (see
    block_stats). Every split of the S blocks into S/2 in-sample and S/2 out-of-sample
    blocks: pick the trial with the best in-sample Sharpe, take its rank r (1 worst .. N
    best, ties averaged) among the N trials out of sample, ω = r/(N + 1), λ = ln(ω/(1-ω)).
    PBO is the share of splits with λ <= 0: the in-sample best does no better than the
    median out of sample. Fewer than 2 trials: pbo None. In-sample ties go to the first trial.
    """
    import itertools

    import numpy as np

    stats = np.asarray(trial_blocks, dtype="float64")
    n_trials = len(trial_blocks)
    if n_trials < 2:
        blocks = stats.shape[1] if stats.ndim == 3 else 0
        return PBOResult(
            pbo=None,
            trials=n_trials,
            blocks=blocks,
            combinations=0,
            median_logit=None,
            note=f"PBO needs at least 2 trials on the same blocks; {n_trials} recorded",
        )
    if stats.ndim != 3 or stats.shape[2] != 3:
        raise ValueError("trial_blocks must be trials × blocks × [sum, sum of squares, count], the same blocks for all")
    n_blocks = stats.shape[1]
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"CSCV needs an even number of blocks >= 2, not {n_blocks}")
    if not np.all(np.isfinite(stats)):
        raise ValueError("trial_blocks must be finite numbers")
    # Every split and its mirror (in and out of sample swapped) once: the halves holding block 0.
    halves = ((0, *combo) for combo in itertools.combinations(range(1, n_blocks), n_blocks // 2 - 1))
    by_stat = [np.ascontiguousarray(stats[:, :, k].T) for k in range(3)]
    total = stats.sum(axis=1).T
    logits = []
    while chunk := list(itertools.islice(halves, _SPLIT_CHUNK)):
        half = np.zeros((len(chunk), n_blocks), dtype=bool)
        half[np.arange(len(chunk))[:, None], np.asarray(chunk)] = True
        logits.append(_cscv_logits(by_stat, total, half))
    lam = np.concatenate(logits)
    return PBOResult(
        pbo=float(np.mean(lam <= 0)),
        trials=n_trials,
        blocks=n_blocks,
        combinations=len(lam),
        median_logit=float(np.median(lam)),
        note=f"CSCV: {len(lam)} splits of {n_blocks} blocks into {n_blocks // 2} in-sample and "
        f"{n_blocks // 2} out-of-sample, {n_trials} trials",
    )
