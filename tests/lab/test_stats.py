"""Research statistics: DSR against the paper's worked example, PSR, significance tests, block stats and PBO."""

import itertools
import math

import numpy as np
import pytest
from scipy.stats import kurtosis, rankdata, skew

from agentctl.lab.stats import (
    BLOCKS,
    DeflatedSharpe,
    PBOResult,
    binomial_edge_p,
    block_stats,
    deflated_sharpe,
    expected_max_sharpe,
    pbo_cscv,
    probabilistic_sharpe,
    sharpe_greater_than_zero_p,
    trial_sharpe_variance,
)

# Bailey & López de Prado (2014), "The Deflated Sharpe Ratio: Correcting for Selection Bias,
# Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5), numerical
# example: 100 trials whose annualised Sharpe ratios have variance 1/2; the selected strategy
# has an annualised Sharpe of 2.5 over five years of daily returns (T = 1250, 250 days a year),
# skewness -3 and kurtosis 10. The paper gets SR0 ≈ 0.1132 (per day) and DSR ≈ 0.9004.
# (quantstrat's `.deflatedSharpe` converts the annualised inputs the same way: V / 250, SR / sqrt(250).)
PAPER_N, PAPER_VAR_ANNUAL, PAPER_SR_ANNUAL = 100, 0.5, 2.5
PAPER_DAYS, PAPER_T, PAPER_SKEW, PAPER_KURT = 250, 1250, -3.0, 10.0


def test_dsr_reproduces_the_papers_worked_example():
    sr0 = expected_max_sharpe(PAPER_N, PAPER_VAR_ANNUAL / PAPER_DAYS)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = probabilistic_sharpe(PAPER_SR_ANNUAL / math.sqrt(PAPER_DAYS), sr0, PAPER_T, PAPER_SKEW, PAPER_KURT)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_the_papers_trial_variance_comes_from_annualised_sharpes():
    # Five annualised trial Sharpes of sample variance 1/2 (deviations -1, 0, 1, 0, 0 around 2.5).
    var, source = trial_sharpe_variance([1.5, 2.5, 3.5, 2.5, 2.5], PAPER_DAYS, PAPER_T)
    assert var == pytest.approx(0.5 / 250) and source == "recorded trials (n=5)"
    assert expected_max_sharpe(PAPER_N, var) == pytest.approx(0.1132, abs=5e-5)


def test_expected_max_sharpe_edges():
    assert expected_max_sharpe(1, 0.3) == 0.0
    assert expected_max_sharpe(0, 0.3) == 0.0
    assert expected_max_sharpe(100, 0.0) == 0.0
    # It scales with sqrt(V) and grows with N.
    assert expected_max_sharpe(100, 4.0) == pytest.approx(2 * expected_max_sharpe(100, 1.0))
    assert expected_max_sharpe(10, 1.0) < expected_max_sharpe(100, 1.0) < expected_max_sharpe(1000, 1.0)
    with pytest.raises(ValueError):
        expected_max_sharpe(10, -1.0)
    with pytest.raises(ValueError):
        expected_max_sharpe(10, math.nan)


def test_psr_against_hand_computed_values():
    # skew 0, kurtosis 1: denominator 1 - 0 + 0 = 1; z = 0.1 * sqrt(100) = 1; Φ(1) = 0.841344746...
    assert probabilistic_sharpe(0.1, 0.0, 101, 0.0, 1.0) == pytest.approx(0.8413447460685429, abs=1e-12)
    # denominator 1 + 1*0.2 + (6 - 1)/4 * 0.04 = 1.25; z = 0.1 * 20 / sqrt(1.25) = 1.78885; Φ(z) = 0.963181
    assert probabilistic_sharpe(0.2, 0.1, 401, -1.0, 6.0) == pytest.approx(0.9631808649398487, abs=1e-12)
    # At the benchmark the PSR is a coin flip.
    assert probabilistic_sharpe(0.05, 0.05, 500, 0.3, 4.0) == pytest.approx(0.5)


def test_psr_denominator_guard_fails_closed():
    # 1 - 10*1 + (3 - 1)/4 * 1 = -8.5: moments no distribution has -> 0.0 (no evidence).
    assert probabilistic_sharpe(1.0, 0.0, 100, 10.0, 3.0) == 0.0
    # Exactly zero: skew*sr/2 = 1 with kurtosis = 1 + skew^2 (a degenerate two-point bound).
    assert probabilistic_sharpe(1.0, 0.0, 100, 2.0, 5.0) == 0.0
    assert probabilistic_sharpe(0.5, 0.0, 1, 0.0, 3.0) == 0.0  # t < 2
    assert probabilistic_sharpe(math.nan, 0.0, 100, 0.0, 3.0) == 0.0


def _series(mean=0.0005, sd=0.01, n=1000, seed=7):
    return np.random.default_rng(seed).normal(mean, sd, n)


def test_deflated_sharpe_from_returns():
    r = _series()
    var, source = trial_sharpe_variance([0.3, 1.1], 252, len(r))
    d = deflated_sharpe(r, 20, var, source)
    assert d.sr == pytest.approx(r.mean() / r.std(ddof=1))
    assert d.skew == pytest.approx(skew(r)) and d.kurtosis == pytest.approx(kurtosis(r, fisher=False))
    assert d.t == 1000 and d.n_trials == 20 and d.var_trials == pytest.approx(1 / 999)
    assert d.variance_source == "no-skill fallback 1/(T-1): 2 recorded trials"
    assert d.sr0 == pytest.approx(expected_max_sharpe(20, 1 / 999))
    assert d.dsr == pytest.approx(probabilistic_sharpe(d.sr, d.sr0, 1000, d.skew, d.kurtosis))
    assert 0 < d.dsr < probabilistic_sharpe(d.sr, 0.0, 1000, d.skew, d.kurtosis)
    assert DeflatedSharpe.model_validate_json(d.model_dump_json()) == d


def test_one_trial_dsr_is_the_psr_against_zero():
    r = _series()
    d = deflated_sharpe(r, 1, 0.5)
    assert d.sr0 == 0.0
    assert d.dsr == pytest.approx(probabilistic_sharpe(d.sr, 0.0, d.t, d.skew, d.kurtosis), abs=1e-15)
    assert d.dsr == pytest.approx(1 - sharpe_greater_than_zero_p(r))


def test_deflated_sharpe_degenerate_returns_fail_closed():
    for r in (np.full(50, 0.001), np.zeros(50), np.array([0.01, 0.02])):
        d = deflated_sharpe(r, 10, 0.001)
        assert d.dsr == 0.0 and d.sr == 0.0 and d.kurtosis == 3.0 and d.t == len(r)
        assert sharpe_greater_than_zero_p(r) == 1.0
    assert deflated_sharpe(_series(), 0, 0.001).n_trials == 1
    with pytest.raises(ValueError):
        deflated_sharpe(np.array([0.01, math.nan, 0.02, 0.0]), 5, 0.001)


def test_sharpe_greater_than_zero_p():
    good, bad = _series(mean=0.002), _series(mean=-0.002)
    assert sharpe_greater_than_zero_p(good) < 0.001
    assert sharpe_greater_than_zero_p(bad) > 0.999
    # Symmetric returns at zero mean: exactly a coin flip.
    assert sharpe_greater_than_zero_p(np.tile([0.01, -0.01], 100)) == pytest.approx(0.5)


def test_trial_sharpe_variance():
    # Fewer than min_trials finite values: the no-skill variance 1/(T - 1).
    assert trial_sharpe_variance([1.0, 2.0, 3.0], 252, 101) == (0.01, "no-skill fallback 1/(T-1): 3 recorded trials")
    assert trial_sharpe_variance([1.0, 2.0, 3.0, 4.0, math.nan, math.inf], 252, 101) == (
        0.01,
        "no-skill fallback 1/(T-1): 4 recorded trials",
    )
    assert trial_sharpe_variance([], 252, 11)[1] == "no-skill fallback 1/(T-1): 0 recorded trials"
    # At min_trials: the sample variance of [1..5] is 2.5, per bar 2.5 / 250 = 0.01.
    assert trial_sharpe_variance([1.0, 2.0, 3.0, 4.0, 5.0], 250, 101) == (
        pytest.approx(0.01),
        "recorded trials (n=5)",
    )
    # The annual -> per-bar conversion divides by bars per year (SR_annual = SR_bar * sqrt(bars_per_year)).
    hourly = 252 * 6.5
    var, _ = trial_sharpe_variance([1.0, 2.0, 3.0, 4.0, 5.0, math.nan], hourly, 10_000)
    assert var == pytest.approx(2.5 / hourly)
    assert trial_sharpe_variance([1.0, 2.0, 3.0], 252, 101, min_trials=3)[1] == "recorded trials (n=3)"
    with pytest.raises(ValueError):
        trial_sharpe_variance([1.0], 252, 1)
    with pytest.raises(ValueError):
        trial_sharpe_variance([1.0] * 6, 0, 100)


def test_binomial_edge_p():
    # P(X >= 8 | n=10, p=0.5) = (C(10,8) + C(10,9) + C(10,10)) / 2^10 = 56/1024.
    assert binomial_edge_p(8, 10, 0.5) == pytest.approx(56 / 1024, abs=1e-15)
    # P(X >= 60 | n=100, p=0.5) = 0.0284439668...
    assert binomial_edge_p(60, 100, 0.5) == pytest.approx(0.028443966820490444, rel=1e-9)
    assert binomial_edge_p(0, 10, 0.3) == 1.0
    assert binomial_edge_p(0, 0, 0.5) == 1.0
    with pytest.raises(ValueError):
        binomial_edge_p(11, 10, 0.5)
    with pytest.raises(ValueError):
        binomial_edge_p(5, 10, 1.5)


def test_block_stats_exact_sums():
    r = np.arange(1.0, 9.0)  # 1..8 at bars 10..17, four blocks of two bars
    assert block_stats(r, np.arange(10, 18), 10, 18, blocks=4) == [
        [3.0, 5.0, 2.0],
        [7.0, 25.0, 2.0],
        [11.0, 61.0, 2.0],
        [15.0, 113.0, 2.0],
    ]
    # Bars 0..9 into 4 blocks: floor(p * 4 / 10) puts 0,1,2 | 3,4 | 5,6,7 | 8,9. Bars 3 and 4 carry no
    # return (an empty block is zeros); bar 12 is outside [0, 10) and is ignored.
    pos = np.array([0, 1, 2, 5, 6, 7, 8, 9, 12])
    ret = np.array([1.0, -1.0, 2.0, 0.5, 0.5, 1.0, -2.0, 3.0, 100.0])
    assert block_stats(ret, pos, 0, 10, blocks=4) == [
        [2.0, 6.0, 3.0],
        [0.0, 0.0, 0.0],
        [2.0, 1.5, 3.0],
        [1.0, 13.0, 2.0],
    ]
    assert len(block_stats(ret, pos, 0, 10)) == BLOCKS
    with pytest.raises(ValueError):
        block_stats(ret, pos[:-1], 0, 10)
    with pytest.raises(ValueError):
        block_stats(ret, pos, 10, 10)


def _noise_trials(n_trials, bars=1600, seed=0, sd=0.01):
    rng = np.random.default_rng(seed)
    return [block_stats(rng.normal(0.0, sd, bars), np.arange(bars), 0, bars) for _ in range(n_trials)]


def test_pbo_one_trial_dominates():
    trials = _noise_trials(20)
    strong = np.random.default_rng(99).normal(0.01, 0.01, 1600)  # per-bar Sharpe ~1 in every block
    result = pbo_cscv([*trials, block_stats(strong, np.arange(1600), 0, 1600)])
    assert result.pbo == 0.0
    # Always the best of 21 out of sample: ω = 21/22, λ = ln 21.
    assert result.median_logit == pytest.approx(math.log(21))
    assert (result.trials, result.blocks, result.combinations) == (21, 16, 12870)


def test_pbo_noise_is_a_coin_flip():
    result = pbo_cscv(_noise_trials(30, seed=0))
    assert 0.3 <= result.pbo <= 0.7
    # Over several independent draws the PBO of pure noise centres on one half.
    mean = np.mean([pbo_cscv(_noise_trials(30, seed=s)).pbo for s in range(1, 9)])
    assert 0.35 <= mean <= 0.65


def test_pbo_anti_persistent_is_one():
    # Every trial's block sums add up to zero over the 16 blocks, with the same count (50) and
    # sum of squares (50 * 1e-4) in every block. Then out-of-sample sum = -(in-sample sum), and
    # with the bars and the sum of squares fixed the Sharpe rises with the sum: the in-sample
    # best is always the out-of-sample worst (rank 1), so λ < 0 in every split.
    rng = np.random.default_rng(3)
    sums = rng.normal(0.0, 0.02, (12, BLOCKS))
    sums -= sums.mean(axis=1, keepdims=True)
    trial_blocks = [[[s, 50 * 1e-4, 50.0] for s in row] for row in sums]
    result = pbo_cscv(trial_blocks)
    assert result.pbo == 1.0
    assert result.median_logit == pytest.approx(math.log((1 / 13) / (12 / 13)))


def _reference_pbo(returns_by_trial, n_blocks):
    """Straight from the paper: whole return series per split, ranks by scipy, one split at a time."""
    blocks = [np.array_split(r, n_blocks) for r in returns_by_trial]
    n = len(returns_by_trial)
    logits = []
    for combo in itertools.combinations(range(n_blocks), n_blocks // 2):
        rest = [b for b in range(n_blocks) if b not in combo]
        is_sr = [np.mean(x := np.concatenate([t[b] for b in combo])) / np.std(x, ddof=1) for t in blocks]
        oos_sr = [np.mean(x := np.concatenate([t[b] for b in rest])) / np.std(x, ddof=1) for t in blocks]
        omega = rankdata(oos_sr)[int(np.argmax(is_sr))] / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
    return float(np.mean(np.array(logits) <= 0)), float(np.median(logits))


def test_pbo_matches_a_straightforward_reference():
    rng = np.random.default_rng(11)
    returns = [rng.normal(mu, 0.01, 120) for mu in rng.normal(0, 0.001, 7)]
    pbo, median = _reference_pbo(returns, 6)
    result = pbo_cscv([block_stats(r, np.arange(120), 0, 120, blocks=6) for r in returns])
    assert result.combinations == 20
    assert result.pbo == pytest.approx(pbo) and result.median_logit == pytest.approx(median)


def test_pbo_flat_trials_and_ties():
    # A flat trial (no position, zero returns) has Sharpe 0 everywhere; two identical trials tie.
    noise = _noise_trials(5, seed=4)
    flat = block_stats(np.zeros(1600), np.arange(1600), 0, 1600)
    result = pbo_cscv([*noise, flat, noise[0]])
    assert result.pbo is not None and 0.0 <= result.pbo <= 1.0 and math.isfinite(result.median_logit)


def test_pbo_needs_two_trials_and_even_blocks():
    one = pbo_cscv(_noise_trials(1))
    assert one.pbo is None and one.median_logit is None and one.trials == 1 and one.blocks == BLOCKS
    assert "at least 2 trials" in one.note
    assert pbo_cscv([]).pbo is None
    odd = [block_stats(np.ones(10), np.arange(10), 0, 10, blocks=5)] * 2
    with pytest.raises(ValueError):
        pbo_cscv(odd)
    assert PBOResult.model_validate_json(one.model_dump_json()) == one


def test_pbo_200_trials_runs():
    result = pbo_cscv(_noise_trials(200, bars=2000, seed=5))
    assert (result.trials, result.blocks, result.combinations) == (200, 16, 12870)
    assert 0.0 <= result.pbo <= 1.0
