"""Noise does not pass the research protocol: a small, fixed-seed run of bench/null_discovery.py's pipeline.

Sixteen baseline strategies (`baseline.propose`, validated) on one driftless random walk
calibrated to SP500/1d (its timestamps, bar count and sd of log returns), imported as a
dataset, through the real lab code in the tick's order: train → training_gate →
run_backtest (n_trials = strategies so far, trial_sharpes = research Sharpes so far) →
backtest_gate → baseline judge → run_holdout → confirmation_gate. The pipeline is the
benchmark's own (one copy, in bench/).
"""

from __future__ import annotations

import math

import pytest
from lab_helpers import sp500

from bench import null_discovery as nd

pytestmark = pytest.mark.heavy

N = 16
WALK_SEED = 3
DRAW_SEED = 3
TARGET = 0.05  # the backtest gate's targeted pass rate on noise
# At most BOUND of N noise strategies may pass the backtest gate. If the gate passed noise at
# exactly the targeted 5%, more than BOUND passes would happen with probability
# P(Binomial(16, 0.05) >= 4) = 0.7%: a count above it says the protocol misses its target.
BOUND = 3


def test_the_bound_is_a_one_percent_binomial_tail():
    assert nd.binom_sf(BOUND + 1, N, TARGET) < 0.01 <= nd.binom_sf(BOUND, N, TARGET)
    assert math.isclose(nd.binom_sf(BOUND + 1, N, TARGET), 0.00700, abs_tol=5e-5)


def test_wilson_interval():
    assert nd.wilson(0, 10)[0] == 0.0
    assert math.isclose(nd.wilson(0, 10)[1], 0.27754, abs_tol=1e-5)
    lo, hi = nd.wilson(5, 10)
    assert math.isclose(lo, 0.23659, abs_tol=1e-5) and math.isclose(hi, 0.76341, abs_tol=1e-5)
    assert nd.wilson(0, 0) == (0.0, 1.0)


def test_the_random_walk_is_calibrated(tmp_path, sp500):
    from agentctl.lab.data import load_ohlcv

    symbol, timeframe, bars = nd.import_noise(tmp_path, "SP500", "1d", seed=WALK_SEED)
    walk = load_ohlcv(symbol, timeframe, tmp_path)
    assert (symbol, timeframe, bars) == ("RW_SP500", "1d", len(sp500))
    assert walk.index.equals(sp500.index)
    assert math.isclose(nd.log_return_sd(walk), nd.log_return_sd(sp500), rel_tol=1e-9)
    assert (walk["open"].iloc[1:].to_numpy() != walk["close"].iloc[:-1].to_numpy()).all()  # gaps: open != last close


def test_noise_strategies_are_not_confirmed(tmp_path):
    dataset = nd.import_noise(tmp_path, "SP500", "1d", seed=WALK_SEED)
    from agentctl.lab.strategy import strategy_hash

    drawn, _ = nd.draw(N, DRAW_SEED, tmp_path, [dataset], [nd.as_is])
    configs = [d.configs[0] for d in drawn]
    assert len({strategy_hash(c) for c in configs}) == N
    outcomes = nd.run_universe(configs, [d.dataset for d in drawn], tmp_path, holdout_all=False)

    assert all(o.trained for o in outcomes), [o.error for o in outcomes if o.error]
    backtested = [k for k, o in enumerate(outcomes, start=1) if o.backtest_ran]
    # The training gate's own test holds its level on noise: P(Binomial(16, 0.05) >= 4) is 0.7%.
    assert len(backtested) <= BOUND
    # The trials grow as in the tick: every strategy so far for the deflated Sharpe, and every
    # strategy trained on the dataset so far (all of them here) for the data-snooping test.
    assert [outcomes[k - 1].n_trials for k in backtested] == backtested
    assert [outcomes[k - 1].snooping_trials for k in backtested] == backtested

    passed = sum(o.backtest_passed for o in outcomes)
    assert passed <= BOUND
    assert sum(o.assessed_passed for o in outcomes) <= passed
    assert sum(o.holdout_tested for o in outcomes) == sum(o.assessed_passed for o in outcomes)
    assert sum(o.confirmed for o in outcomes) == 0
