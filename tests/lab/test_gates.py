"""Gates: pure, thresholds configurable, reasons say actual vs threshold in words, missing or NaN fails."""

import math

from agentctl.lab.gates import GateThresholds, backtest_gate, confirmation_gate, training_gate

GOOD_TR = {"accuracy": 0.561, "constant_accuracy": 0.534, "accuracy_p_value": 0.003, "log_loss": 0.69}
GOOD_BT = {"total_trades": 25, "max_drawdown": 0.2, "win_rate": 0.5, "sharpe": 0.8, "deflated_sharpe": 0.97}
GOOD_HO = {"sharpe": 1.1, "sharpe_p_value": 0.01, "total_trades": 14}


def test_training_gate_needs_accuracy_significantly_above_the_best_constant_guess():
    v = training_gate(GOOD_TR)
    assert v.passed and v.gate == "training"
    assert v.reasons[0] == "accuracy 0.561 vs best constant guess 0.534: above it (p = 0.003, below 0.05) (passes)"
    v = training_gate({**GOOD_TR, "accuracy": 0.512, "accuracy_p_value": 0.81})
    assert not v.passed
    assert v.reasons[0] == "accuracy 0.512 vs best constant guess 0.534: not above it (p = 0.81, needs < 0.05) (fails)"
    v = training_gate({**GOOD_TR, "accuracy_p_value": 0.21})
    assert not v.passed and "above it, but not significantly (p = 0.21, needs < 0.05)" in v.reasons[0]
    assert not training_gate({**GOOD_TR, "accuracy": 0.534, "accuracy_p_value": 0.5}).passed


def test_training_gate_missing_or_nan_fails():
    assert not training_gate({**GOOD_TR, "accuracy": math.nan}).passed
    assert not training_gate({k: v for k, v in GOOD_TR.items() if k != "log_loss"}).passed
    assert not training_gate({k: v for k, v in GOOD_TR.items() if k != "accuracy_p_value"}).passed
    v = training_gate({"accuracy": 0.6, "majority_baseline_accuracy": 0.5, "log_loss": 0.6})  # an older row
    assert not v.passed and v.reasons == ["constant_accuracy: missing or not a finite number (fails)"]
    assert not training_gate({}).passed


def test_backtest_gate_defaults():
    v = backtest_gate({**GOOD_BT, "n_trials": 12})
    assert v.passed and v.gate == "backtest"
    assert v.reasons == [
        "total_trades 25: at least 10 (passes)",
        "sharpe 0.8: above 0 (passes)",
        "max_drawdown 20.0%: at most 40.0% (passes)",
        "deflated_sharpe 0.970: at least 0.950 (passes) over 12 strategies tried",
    ]
    v = backtest_gate({**GOOD_BT, "total_trades": 0})
    assert not v.passed and "total_trades 0: needs at least 10 (fails)" in v.reasons
    assert not backtest_gate({**GOOD_BT, "max_drawdown": 0.41}).passed
    assert not backtest_gate({**GOOD_BT, "sharpe": 0.0}).passed
    assert not backtest_gate({**GOOD_BT, "deflated_sharpe": 0.94}).passed
    assert not backtest_gate({**GOOD_BT, "sharpe": math.nan}).passed
    assert not backtest_gate({**GOOD_BT, "sharpe": None}).passed
    assert not backtest_gate({k: v for k, v in GOOD_BT.items() if k != "deflated_sharpe"}).passed


def test_the_win_rate_alone_rejects_nothing_by_default():
    assert backtest_gate({**GOOD_BT, "win_rate": 0.2}).passed  # a trend follower: few, large wins
    assert not backtest_gate({**GOOD_BT, "win_rate": 0.2}, GateThresholds(min_win_rate=0.45)).passed


def test_confirmation_gate_needs_a_significantly_positive_holdout_sharpe():
    v = confirmation_gate(GOOD_HO)
    assert v.passed and v.gate == "holdout"
    assert v.reasons == [
        "holdout sharpe 1.1: above 0 (p = 0.01, below 0.05) (passes)",
        "total_trades 14: at least 10 (passes)",
    ]
    v = confirmation_gate({**GOOD_HO, "sharpe_p_value": 0.2})
    assert not v.passed and "above 0, but not significantly (p = 0.20, needs < 0.05)" in v.reasons[0]
    assert not confirmation_gate({**GOOD_HO, "sharpe": -0.3, "sharpe_p_value": 0.8}).passed
    assert not confirmation_gate({**GOOD_HO, "total_trades": 3}).passed
    assert not confirmation_gate({**GOOD_HO, "sharpe_p_value": None}).passed


def test_thresholds_are_configurable():
    strict = GateThresholds(min_trades=50, min_sharpe=1.0, min_accuracy_edge=0.05, training_alpha=0.001)
    assert not backtest_gate(GOOD_BT, strict).passed
    v = training_gate(GOOD_TR, strict)
    assert not v.passed and "vs best constant guess 0.534 + 0.05: not above it" in v.reasons[0]
    assert not training_gate({**GOOD_TR, "accuracy": 0.7}, strict).passed  # p 0.003 is not below 0.001
    assert confirmation_gate({**GOOD_HO, "sharpe_p_value": 0.09}, GateThresholds(confirm_alpha=0.1)).passed
    assert backtest_gate({**GOOD_BT, "deflated_sharpe": 0.5}, GateThresholds(min_deflated_sharpe=0.5)).passed
