"""Quality gates: pure functions that reject weak results before any tokens are spent."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

# A result as the worker wrote it (TrainingResult, BacktestResult), as read back, or its JSON.
Result = BaseModel | Mapping[str, Any]


class GateThresholds(BaseModel):
    """Gate thresholds (AGENTCTL_GATES__<NAME> or a [gates] table); the defaults reject only clearly weak results."""

    min_accuracy_edge: float = Field(
        default=0.0, description="validation accuracy must exceed the majority baseline by more than this"
    )
    max_log_loss: float | None = Field(default=None, description="optional ceiling on validation log loss")
    min_trades: int = 10
    max_drawdown: float = 0.40
    min_win_rate: float = 0.45
    min_sharpe: float = -0.5


class GateVerdict(BaseModel):
    """A gate's decision with reasons showing actual vs threshold."""

    gate: Literal["training", "backtest"]
    passed: bool
    reasons: list[str]


def _metric(result: Result, name: str) -> float | None:
    value = result.get(name) if isinstance(result, Mapping) else getattr(result, name, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _check(reasons: list[str], name: str, actual: float | None, op: str, threshold: float) -> bool:
    if actual is None:
        reasons.append(f"{name}: missing or not a finite number (fails)")
        return False
    ok = {">": actual > threshold, ">=": actual >= threshold, "<=": actual <= threshold}[op]
    reasons.append(f"{name} {actual:.4g} {'meets' if ok else 'fails'} {op} {threshold:.4g}")
    return ok


def training_gate(result: Result, thresholds: GateThresholds | None = None) -> GateVerdict:
    """Pass a training result only if it beats its majority-class baseline."""
    t = thresholds or GateThresholds()
    reasons: list[str] = []
    baseline = _metric(result, "majority_baseline_accuracy")
    accuracy = _metric(result, "accuracy")
    edge = None if accuracy is None or baseline is None else accuracy - baseline
    ok = _check(reasons, "accuracy - majority_baseline_accuracy", edge, ">", t.min_accuracy_edge)
    if edge is not None:
        reasons[-1] += f" (accuracy {accuracy:.4f}, baseline {baseline:.4f})"
    loss = _metric(result, "log_loss")
    if t.max_log_loss is not None:
        ok &= _check(reasons, "log_loss", loss, "<=", t.max_log_loss)
    elif loss is None:
        reasons.append("log_loss: missing or not a finite number (fails)")
        ok = False
    return GateVerdict(gate="training", passed=ok, reasons=reasons)


def backtest_gate(result: Result, thresholds: GateThresholds | None = None) -> GateVerdict:
    """Pass a backtest only with enough trades, bounded drawdown, and acceptable win rate and Sharpe."""
    t = thresholds or GateThresholds()
    reasons: list[str] = []
    checks = (
        ("total_trades", ">=", t.min_trades),
        ("max_drawdown", "<=", t.max_drawdown),
        ("win_rate", ">=", t.min_win_rate),
        ("sharpe", ">=", t.min_sharpe),
    )
    ok = True
    for name, op, threshold in checks:
        ok &= _check(reasons, name, _metric(result, name), op, threshold)
    return GateVerdict(gate="backtest", passed=ok, reasons=reasons)
