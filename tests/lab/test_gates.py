"""Gates: pure, thresholds configurable, reasons show actual vs threshold, missing or NaN fails."""

import math

from agentctl.lab.gates import GateThresholds, backtest_gate, training_gate

GOOD_BT = {"total_trades": 25, "max_drawdown": 0.2, "win_rate": 0.5, "sharpe": 0.8}


def test_training_gate_rejects_no_better_than_baseline():
    v = training_gate({"accuracy": 0.55, "majority_baseline_accuracy": 0.55, "log_loss": 0.69})
    assert not v.passed and v.gate == "training"
    assert "accuracy 0.5500, baseline 0.5500" in v.reasons[0]
    assert training_gate({"accuracy": 0.56, "majority_baseline_accuracy": 0.55, "log_loss": 0.69}).passed


def test_training_gate_missing_or_nan_fails():
    assert not training_gate({"accuracy": math.nan, "majority_baseline_accuracy": 0.5, "log_loss": 0.6}).passed
    assert not training_gate({"accuracy": 0.6, "majority_baseline_accuracy": 0.5}).passed
    assert not training_gate({}).passed


def test_backtest_gate_defaults():
    assert backtest_gate(GOOD_BT).passed
    v = backtest_gate({**GOOD_BT, "total_trades": 0})
    assert not v.passed and "total_trades 0 fails >= 10" in v.reasons
    assert not backtest_gate({**GOOD_BT, "max_drawdown": 0.41}).passed
    assert not backtest_gate({**GOOD_BT, "win_rate": 0.44}).passed
    assert not backtest_gate({**GOOD_BT, "sharpe": -0.51}).passed
    assert not backtest_gate({**GOOD_BT, "sharpe": math.nan}).passed
    assert not backtest_gate({**GOOD_BT, "sharpe": None}).passed
    assert not backtest_gate({k: v for k, v in GOOD_BT.items() if k != "win_rate"}).passed


def test_thresholds_are_configurable():
    strict = GateThresholds(min_trades=50, min_sharpe=1.0, min_accuracy_edge=0.02)
    assert not backtest_gate(GOOD_BT, strict).passed
    assert not training_gate({"accuracy": 0.56, "majority_baseline_accuracy": 0.55, "log_loss": 0.6}, strict).passed
