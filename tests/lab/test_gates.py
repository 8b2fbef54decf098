"""Gates: pure, thresholds configurable, reasons say actual vs threshold in words, missing or NaN fails."""

import math

from agentctl.gates import GateThresholds
from agentctl.lab.gates import backtest_gate, confirmation_gate, training_gate

GOOD_TR = {
    "excess_sharpe": 0.61,
    "excess_t": 2.9,
    "excess_p_value": 0.002,
    "accuracy": 0.511,
    "constant_accuracy": 0.534,
}
GOOD_BT = {
    "total_trades": 25,
    "max_drawdown": 0.2,
    "buy_and_hold_drawdown": 0.3,
    "win_rate": 0.5,
    "sharpe": 0.8,
    "snooping_p_value": 0.01,
    "snooping_trials": 12,
    "effective_trials": 4.2,
    "deflated_sharpe": 0.4,
    "n_trials": 30,
}
GOOD_HO = {"excess_sharpe": 1.1, "excess_t": 2.2, "excess_p_value": 0.014, "total_trades": 14}


def test_training_gate_needs_a_significant_out_of_fold_excess_return_not_accuracy():
    v = training_gate(GOOD_TR)
    assert v.passed and v.gate == "training"
    assert v.reasons == [
        "out-of-fold excess return (Sharpe 0.61): t = 2.90, p = 0.002, below 0.05 (passes)",
        "accuracy 0.511 vs best constant guess 0.534 (reported, not a gate)",
    ]
    v = training_gate({**GOOD_TR, "excess_t": 0.9, "excess_p_value": 0.18})
    assert not v.passed
    assert v.reasons[0] == "out-of-fold excess return (Sharpe 0.61): t = 0.90, p = 0.18, needs < 0.05 (fails)"
    # Accuracy far above the constant guess passes nothing by itself.
    assert not training_gate({**GOOD_TR, "accuracy": 0.7, "excess_p_value": 0.5}).passed


def test_training_gate_missing_or_nan_fails():
    assert not training_gate({**GOOD_TR, "excess_p_value": math.nan}).passed
    v = training_gate({"accuracy": 0.6, "constant_accuracy": 0.5, "accuracy_p_value": 0.001})  # an older row
    assert not v.passed and v.reasons[0] == "out-of-fold excess return: missing or not a finite number (fails)"
    assert not training_gate({}).passed


def test_backtest_gate_defaults():
    v = backtest_gate(GOOD_BT)
    assert v.passed and v.gate == "backtest"
    assert v.reasons == [
        "total_trades 25: at least 10 (passes)",
        "sharpe 0.8: above 0 (passes)",
        "max_drawdown 20.0%: at most 1.5 × buy and hold's 30.0% = 45.0% (passes)",
        "excess return among 12 strategies tried on the dataset, worth 4.2 independent: p = 0.01, below 0.05 (passes)",
        "deflated_sharpe 0.400 (reported, not a gate) over 30 strategies tried",
    ]
    v = backtest_gate({**GOOD_BT, "total_trades": 0})
    assert not v.passed and "total_trades 0: needs at least 10 (fails)" in v.reasons
    assert not backtest_gate({**GOOD_BT, "max_drawdown": 0.46}).passed
    assert backtest_gate({**GOOD_BT, "max_drawdown": 0.44}).passed  # beyond a fixed 40%, within the market's
    assert not backtest_gate({**GOOD_BT, "sharpe": 0.0}).passed
    assert not backtest_gate({**GOOD_BT, "snooping_p_value": 0.05}).passed
    assert not backtest_gate({**GOOD_BT, "sharpe": math.nan}).passed
    assert not backtest_gate({**GOOD_BT, "sharpe": None}).passed
    assert not backtest_gate({k: v for k, v in GOOD_BT.items() if k != "snooping_p_value"}).passed
    assert not backtest_gate({k: v for k, v in GOOD_BT.items() if k != "buy_and_hold_drawdown"}).passed


def test_the_win_rate_alone_rejects_nothing_by_default():
    assert backtest_gate({**GOOD_BT, "win_rate": 0.2}).passed  # a trend follower: few, large wins
    assert not backtest_gate({**GOOD_BT, "win_rate": 0.2}, GateThresholds(min_win_rate=0.45)).passed


def test_confirmation_gate_needs_a_significant_holdout_excess_return():
    v = confirmation_gate(GOOD_HO)
    assert v.passed and v.gate == "holdout"
    assert v.reasons == [
        "holdout excess return (Sharpe 1.10): t = 2.20, p = 0.01, below 0.05 (passes)",
        "total_trades 14: at least 10 (passes)",
    ]
    v = confirmation_gate({**GOOD_HO, "excess_p_value": 0.2})
    assert not v.passed and "p = 0.20, needs < 0.05 (fails)" in v.reasons[0]
    assert not confirmation_gate({**GOOD_HO, "total_trades": 3}).passed
    assert not confirmation_gate({**GOOD_HO, "excess_p_value": None}).passed
    # A raw Sharpe that only rode the market's drift confirms nothing.
    assert not confirmation_gate({"sharpe": 1.4, "sharpe_p_value": 0.001, "total_trades": 40}).passed


def test_thresholds_are_configurable():
    strict = GateThresholds(min_trades=50, min_sharpe=1.0, training_alpha=0.001, max_drawdown=0.1)
    assert not backtest_gate(GOOD_BT, strict).passed
    assert not training_gate(GOOD_TR, strict).passed  # p 0.002 is not below 0.001
    assert confirmation_gate({**GOOD_HO, "excess_p_value": 0.09}, GateThresholds(confirm_alpha=0.1)).passed
    assert not backtest_gate(GOOD_BT, GateThresholds(min_deflated_sharpe=0.5)).passed
    assert backtest_gate(GOOD_BT, GateThresholds(min_deflated_sharpe=0.3)).passed
    assert not backtest_gate(GOOD_BT, GateThresholds(max_drawdown_vs_market=0.5)).passed
    assert backtest_gate({**GOOD_BT, "snooping_p_value": 0.08}, GateThresholds(research_alpha=0.1)).passed
