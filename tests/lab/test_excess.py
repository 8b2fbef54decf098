"""Economic evidence: the excess return over the exposure held, its HAC test and the data-snooping p-value.

Reference points: Šidák's (1967) 1 - (1 - p)^n for the best of n independent tests, the raw
p-value for n identical ones, and `arch`'s own implementation of Hansen's SPA (whose upper
p-value is White's Reality Check) on the same family.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import norm

from agentctl.lab import excess


def test_a_long_position_on_a_drifting_market_has_no_excess_return():
    rng = np.random.default_rng(3)
    market = rng.normal(0.0006, 0.01, 5000)  # about +15% a year
    position = np.ones(5000)
    test = excess.test(position * market, market, position, 252.0)
    assert test.exposure == 1.0 and test.mean == pytest.approx(0.0, abs=1e-15) and test.p == 1.0
    # Half long, half flat at random: the raw Sharpe is the drift's, the excess return's is not.
    half = (rng.random(5000) < 0.5).astype(float)
    t = excess.test(half * market, market, half, 252.0)
    assert t.exposure == pytest.approx(0.5, abs=0.03) and abs(t.t) < 3


def test_the_hac_test_holds_its_level_under_drift_and_fat_tails():
    """Random positions on GARCH-free Student-t(3) returns with drift: about alpha of them pass at alpha."""
    rng = np.random.default_rng(11)
    passes = 0
    for _ in range(400):
        market = 0.0006 + 0.01 * rng.standard_t(3, 1500) / math.sqrt(3)
        # A persistent position (a 20-bar trend rule on the past), independent of the future.
        position = np.sign(np.convolve(rng.normal(size=1500), np.ones(20), "same"))
        passes += excess.test(position * market, market, position, 252.0).p < 0.05
    assert passes / 400 == pytest.approx(0.05, abs=0.03)


def test_the_hac_standard_error_widens_for_autocorrelated_excess_returns():
    rng = np.random.default_rng(5)
    e = np.convolve(rng.normal(size=3000), np.ones(10) / 10, "same")  # overlapping, like a 10-bar label
    hac = excess.hac_test(e, 252.0)
    plain = e.std(ddof=1) / math.sqrt(len(e))
    assert hac.se > 2 * plain


def test_snooping_of_independent_trials_is_sidak():
    rng = np.random.default_rng(0)
    family = rng.standard_normal((3000, 20)) * 0.01
    best = int(np.argmax(family.mean(axis=0)))
    s = excess.snooping_p(family, best, reps=2000)
    sidak = 1 - (1 - norm.sf(s.t)) ** 20
    assert s.p == pytest.approx(sidak, abs=0.03)
    assert s.trials == 20 and s.effective_trials == pytest.approx(20, rel=0.2)


def test_snooping_of_identical_trials_is_the_raw_p_value():
    rng = np.random.default_rng(1)
    one = rng.standard_normal((3000, 1)) * 0.01 + 0.0004
    family = np.repeat(one, 12, axis=1) + rng.standard_normal((3000, 12)) * 1e-6
    s = excess.snooping_p(family, 0, reps=2000)
    assert s.p == pytest.approx(norm.sf(s.t), abs=0.02)
    assert s.effective_trials < 2


def test_snooping_agrees_with_arch_spa_for_the_best_trial():
    from arch.bootstrap import SPA

    rng = np.random.default_rng(2)
    family = rng.standard_normal((2000, 8)) * 0.01
    family[:, 3] += 0.0006
    ours = excess.snooping_p(family, 3, reps=3000)
    spa = SPA(np.zeros(2000), -family, block_size=ours.block, reps=3000, seed=7)
    spa.compute()
    assert ours.p == pytest.approx(float(spa.pvalues["upper"]), abs=0.03)


def test_snooping_is_seeded_and_fails_closed():
    rng = np.random.default_rng(4)
    family = rng.standard_normal((500, 5))
    assert excess.snooping_p(family, 2) == excess.snooping_p(family, 2)
    assert excess.snooping_p(family[:10], 0).p == 1.0  # too few bars: no evidence
    flat = family.copy()
    flat[:, 1] = 0.0
    assert excess.snooping_p(flat, 1).p == 1.0  # a strategy that never traded


def test_the_sharpe_a_holdout_needs():
    # t = Sharpe x sqrt(years): a 4-year holdout confirms Sharpe 1.5 about 91% of the time at 0.05.
    assert norm.cdf(1.5 * 2 - norm.isf(0.05)) == pytest.approx(0.91, abs=0.005)
    assert excess.needed_sharpe(4.0, 0.05, 0.5) == pytest.approx(0.822, abs=1e-3)
    assert excess.needed_sharpe(2.25, 0.05, 0.8) == pytest.approx(1.657, abs=1e-3)
    assert excess.needed_sharpe(0.0, 0.05, 0.8) == math.inf


@pytest.mark.parametrize("alpha", [1e-9, 0.001, 0.05, 0.5, 0.99, 1.0])
@pytest.mark.parametrize("power", [0.2, 0.5, 0.8, 0.95])
def test_the_needed_sharpe_is_scipys_figure_without_scipy(alpha, power):
    """The stdlib's normal quantiles give scipy's figure (alpha 1: every Sharpe passes, -inf as scipy says)."""
    want = (norm.isf(alpha) + norm.ppf(power)) / math.sqrt(3.0)
    assert excess.needed_sharpe(3.0, alpha, power) == pytest.approx(want, rel=1e-9)


def test_what_a_holdout_can_confirm_is_computed_without_loading_scipy():
    """`data list`, the reports and every design say it: two quantiles need not cost scipy's import."""
    code = "import sys; from agentctl.lab import excess; excess.needed_sharpe(4.0, 0.05, 0.8); print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


_FIGURES = """
import json, sys
import numpy as np
from agentctl.lab import excess
rng = np.random.default_rng(11)
family = rng.normal(0.0002, 0.01, (600, 5))
out = {"hac": excess.hac_test(family[:, 0], 252.0)._asdict(), "snooping": excess.snooping_p(family, 2, reps=200)._asdict()}
out["heavy"] = sorted(m for m in ("matplotlib", "statsmodels", "arch.univariate") if m in sys.modules)
print(json.dumps(out))
"""


def test_the_tests_give_the_same_figures_without_archs_models_loaded():
    """A lab worker skips arch/__init__ (its GARCH models, matplotlib); the figures are those of arch in full."""
    import json
    import subprocess
    import sys

    def figures(before: str) -> dict:
        p = subprocess.run([sys.executable, "-c", before + _FIGURES], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    worker, full = figures(""), figures("import arch\n")
    assert worker.pop("heavy") == [] and "arch.univariate" in full.pop("heavy")
    assert worker == full
    assert 0 < full["snooping"]["p"] < 1 and full["hac"]["se"] > 0
