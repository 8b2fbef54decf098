"""Discovery power, fast and fixed-seed: bench/power.py's generators, oracle and research chain.

A strong planted edge (momentum at oracle Sharpe 3 on a 10-year daily series, a 2-year
holdout) must be confirmed by the oracle and found by the pipeline (`power.run_cycle`, the
lab's real chain) within a few cycles; a noise deployment must not be confirmed. The
generators are checked on long series: the oracle's Sharpe after costs is the calibration
target on an independent path, the noise has the drift, vol and tails it is meant to have,
and the oracle's positions read only the past.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench import oracle, planted, power, power_report

pytestmark = pytest.mark.heavy

SERIES = "daily10y"  # 2,520 business days: a 2-year holdout
STRONG = 3.0  # oracle Sharpe of the strong edge
CYCLES = 6
SEED = 1


@pytest.fixture(scope="module")
def shape():
    return power.shape_for(SERIES)


@pytest.fixture(scope="module")
def strong(shape, tmp_path_factory):
    cache = tmp_path_factory.mktemp("power") / "calibration.json"
    return power.calibration("momentum", STRONG, shape, cache=cache)


@pytest.fixture(scope="module")
def strong_deployment(strong):
    return power.deploy(power.Spec("momentum", STRONG, SERIES, SEED, CYCLES, strong))


@pytest.fixture(scope="module")
def noise_deployment():
    return power.deploy(power.Spec("garch_t4", None, SERIES, SEED, CYCLES))


def test_the_oracle_earns_its_calibrated_sharpe_on_an_independent_path(strong, shape):
    edge = planted.EDGES["momentum"]
    assert abs(strong["sharpe"] - STRONG) < 0.005
    # 300,000 bars on another seed: the Sharpe's standard error is about 0.03 a year.
    again = oracle._oracle_sharpes(edge, strong["c"], shape, strong["per_year"], seed=SEED)
    best = again[oracle.THRESHOLDS.index(strong["threshold"] / (oracle.FEE + oracle.SLIPPAGE))]
    assert abs(best - STRONG) < 0.15
    # Without the edge the oracle has nothing to trade on: its Sharpe is about 0 (costs make it <= 0).
    assert max(oracle._oracle_sharpes(edge, 0.0, shape, strong["per_year"], seed=SEED)) < 0.15


def test_a_planted_series_has_the_shape_and_the_edge_it_is_given(shape):
    edge = planted.EDGES["momentum"]
    s = planted.planted(edge, 0.2, shape, seed=4)
    r = planted.returns_of(s.bars)
    assert s.bars.index.equals(shape.index) and len(s.bars) == 2520
    assert math.isclose(float(np.std(r[1:], ddof=1)), shape.sigma, rel_tol=1e-6)
    # AR(1) with coefficient c: the lag-1 autocorrelation of returns is c (2,520 bars: se 0.02).
    assert abs(float(np.corrcoef(r[1:-1], r[2:])[0, 1]) - 0.2) < 0.06
    # The drift the oracle computes from the bars is the true drift of the next body.
    assert np.allclose(planted.next_drift(edge, 0.2, r)[:-1], s.drift[1:], atol=1e-9)
    hi, lo = s.bars["high"], s.bars["low"]
    assert (hi >= s.bars[["open", "close"]].max(axis=1)).all() and (lo <= s.bars[["open", "close"]].min(axis=1)).all()


@pytest.mark.parametrize("kind", sorted(planted.EDGES))
def test_the_oracle_reads_only_the_past(kind, shape):
    edge = planted.EDGES[kind]
    bars = planted.planted(edge, 0.05, shape, seed=5).bars
    t = 1500
    shuffled = bars.copy()
    rows = np.random.default_rng(0).permutation(np.arange(t + 1, len(bars)))
    shuffled.iloc[t + 1 :] = bars.iloc[rows].to_numpy()
    before = oracle.oracle_signal(edge, 0.05, planted.returns_of(bars), 4e-4)
    after = oracle.oracle_signal(edge, 0.05, planted.returns_of(shuffled), 4e-4)
    assert np.array_equal(before[: t + 1], after[: t + 1])
    assert not np.array_equal(before[t + 1 :], after[t + 1 :])  # the future did change


def test_the_noise_universes_have_their_drift_vol_and_tails():
    like = power.shape_for("SP500/1d")
    long = planted.daily_shape(like, bars=40_000, sigma=0.01)  # about 160 years of business days
    per_year = 252.0
    stats = {}
    for kind in planted.NOISE:
        r = planted.noise(kind, long, seed=11, per_year=per_year).returns[1:]
        z = (r - r.mean()) / r.std()
        stats[kind] = (float(r.mean() * per_year), float(r.std(ddof=1)), float(np.mean(z**4) - 3))
    # The annual log drift's standard error is 0.01 * sqrt(252 / 40,000 * 252) ~ 0.0126.
    for kind, yearly in (("walk", 0.0), ("drift8", 0.08), ("drift15", 0.15)):
        mean, sd, excess = stats[kind]
        assert abs(mean - math.log1p(yearly)) < 0.04, kind
        assert abs(sd - 0.01) < 0.0003, kind
        assert abs(excess) < 0.15, kind  # Gaussian
    mean, sd, excess = stats["garch_t4"]
    assert abs(mean) < 0.05
    assert abs(sd - 0.01) < 0.001  # the unconditional sd
    assert excess > 2.0  # fat tails: GARCH clustering and t(4) shocks


def test_the_strong_edge_is_confirmed_by_the_oracle(strong_deployment):
    assert strong_deployment["oracle_confirmed"] is True
    cycles = strong_deployment["cycles"]
    assert [c["cycle"] for c in cycles] == list(range(1, CYCLES + 1))
    assert all(c["trained"] for c in cycles), [c["error"] for c in cycles]
    # The trials grow as in the tick: the k-th saved strategy is backtested with n_trials = k.
    assert all(c["n_trials"] == c["cycle"] for c in cycles if c["backtest_ran"])


def test_the_strong_edge_is_found_within_a_few_cycles(strong_deployment):
    stages = [c["stage"] for c in strong_deployment["cycles"]]
    assert "success" in stages, stages


def test_noise_is_not_confirmed(noise_deployment):
    cycles = noise_deployment["cycles"]
    assert noise_deployment["oracle_confirmed"] is None  # noise has no oracle
    assert len(cycles) == CYCLES and all(c["trained"] for c in cycles)
    assert not any(c["confirmed"] for c in cycles), [c["reasons"] for c in cycles if c["confirmed"]]


def test_the_report_and_its_block(strong_deployment, noise_deployment, strong, tmp_path):
    cells = {power_report.cell_name(strong_deployment["spec"]): {**strong, "confirmed": 9, "series": 10}}
    text = power_report.report([strong_deployment, noise_deployment], cells, "footer")
    assert f"| momentum | 3 (realised {strong['sharpe']:.3f}) | {SERIES} |" in text
    assert "9/10 = 90.0%" in text and f"| garch_t4 {SERIES} | 1 x {CYCLES} | {CYCLES} |" in text
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\n## Null discovery\n\ntext\n")
    power_report.write_block(text, doc)
    power_report.write_block(text, doc)  # replaces its block; the section is created once
    written = doc.read_text()
    assert written.count("## Discovery power") == 1 and written.count(power_report.START) == 1
    assert written.startswith("# Benchmarks\n\n## Null discovery\n\ntext\n\n## Discovery power")
    assert text.strip() in written
