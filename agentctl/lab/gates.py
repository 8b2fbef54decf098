"""Quality gates: pure functions that reject weak results before any tokens are spent.

Each verdict's reasons say the actual figure against its threshold in words, e.g.
"accuracy 0.512 vs best constant guess 0.534: not above it (p = 0.81, needs < 0.05)".
A figure that is missing or not a finite number fails its check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

# A result as the worker wrote it (TrainingResult, BacktestResult, HoldoutResult), as read back, or its JSON.
Result = BaseModel | Mapping[str, Any]


class GateThresholds(BaseModel):
    """Gate thresholds (AGENTCTL_GATES__<NAME> or a [gates] table).

    The defaults ask for evidence, not just a good-looking number: out-of-fold accuracy
    significantly above the best constant guess, a research backtest whose Sharpe survives
    deflation for every strategy tried, and a final holdout Sharpe significantly above 0.
    """

    training_alpha: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="training gate: the binomial p-value of accuracy above the best constant guess must be below this",
    )
    min_accuracy_edge: float = Field(
        default=0.0, description="training gate: accuracy must exceed the best constant guess by more than this"
    )
    max_log_loss: float | None = Field(default=None, description="optional ceiling on out-of-fold log loss")
    min_trades: int = Field(default=10, description="backtest and holdout gates: at least this many trades")
    max_drawdown: float = Field(default=0.40, description="backtest gate: maximum drawdown at most this fraction")
    min_win_rate: float = Field(default=0.0, description="backtest gate: at least this share of trades won (0: off)")
    min_sharpe: float = Field(default=0.0, description="backtest gate: annualized Sharpe must be above this")
    min_deflated_sharpe: float = Field(
        default=0.95, description="backtest gate: deflated Sharpe (probability of real skill) at least this"
    )
    confirm_alpha: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="holdout gate: the p-value of the holdout Sharpe above 0 must be below this",
    )


class GateVerdict(BaseModel):
    """A gate's decision with reasons showing actual vs threshold."""

    gate: Literal["training", "backtest", "holdout"]
    passed: bool
    reasons: list[str]


def _metric(result: Result, name: str) -> float | None:
    value = result.get(name) if isinstance(result, Mapping) else getattr(result, name, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _missing(name: str) -> str:
    return f"{name}: missing or not a finite number (fails)"


def _at_least(reasons: list[str], name: str, actual: float | None, threshold: float, fmt: str = "{:.4g}") -> bool:
    if actual is None:
        reasons.append(_missing(name))
        return False
    ok = actual >= threshold
    words = "at least" if ok else "needs at least"
    reasons.append(f"{name} {fmt.format(actual)}: {words} {fmt.format(threshold)} ({'passes' if ok else 'fails'})")
    return ok


def _at_most(reasons: list[str], name: str, actual: float | None, threshold: float, fmt: str = "{:.4g}") -> bool:
    if actual is None:
        reasons.append(_missing(name))
        return False
    ok = actual <= threshold
    words = "at most" if ok else "needs at most"
    reasons.append(f"{name} {fmt.format(actual)}: {words} {fmt.format(threshold)} ({'passes' if ok else 'fails'})")
    return ok


def _above(reasons: list[str], name: str, actual: float | None, threshold: float) -> bool:
    if actual is None:
        reasons.append(_missing(name))
        return False
    ok = actual > threshold
    words = "above" if ok else "needs more than"
    reasons.append(f"{name} {actual:.4g}: {words} {threshold:.4g} ({'passes' if ok else 'fails'})")
    return ok


def _p(p: float) -> str:
    return f"{p:.2g}" if p < 0.01 else f"{p:.2f}"


def training_gate(result: Result, thresholds: GateThresholds | None = None) -> GateVerdict:
    """Pass only out-of-fold accuracy significantly above the best constant guess chosen on the training data."""
    t = thresholds or GateThresholds()
    accuracy, constant = _metric(result, "accuracy"), _metric(result, "constant_accuracy")
    p = _metric(result, "accuracy_p_value")
    reasons: list[str] = []
    if accuracy is None or constant is None or p is None:
        name = "accuracy" if accuracy is None else "constant_accuracy" if constant is None else "accuracy_p_value"
        return GateVerdict(gate="training", passed=False, reasons=[_missing(name)])
    above, significant = accuracy > constant + t.min_accuracy_edge, p < t.training_alpha
    edge = f" + {t.min_accuracy_edge:g}" if t.min_accuracy_edge else ""
    head = f"accuracy {accuracy:.3f} vs best constant guess {constant:.3f}{edge}"
    if not above:
        reasons.append(f"{head}: not above it (p = {_p(p)}, needs < {t.training_alpha:g}) (fails)")
    elif not significant:
        reasons.append(f"{head}: above it, but not significantly (p = {_p(p)}, needs < {t.training_alpha:g}) (fails)")
    else:
        reasons.append(f"{head}: above it (p = {_p(p)}, below {t.training_alpha:g}) (passes)")
    ok = above and significant
    loss = _metric(result, "log_loss")
    if t.max_log_loss is not None:
        ok &= _at_most(reasons, "log_loss", loss, t.max_log_loss)
    elif loss is None:
        reasons.append(_missing("log_loss"))
        ok = False
    return GateVerdict(gate="training", passed=ok, reasons=reasons)


def backtest_gate(result: Result, thresholds: GateThresholds | None = None) -> GateVerdict:
    """Pass a research backtest with enough trades, a positive Sharpe that survives deflation, bounded drawdown."""
    t = thresholds or GateThresholds()
    reasons: list[str] = []
    ok = _at_least(reasons, "total_trades", _metric(result, "total_trades"), t.min_trades, "{:.0f}")
    ok &= _above(reasons, "sharpe", _metric(result, "sharpe"), t.min_sharpe)
    ok &= _at_most(reasons, "max_drawdown", _metric(result, "max_drawdown"), t.max_drawdown, "{:.1%}")
    if t.min_win_rate > 0:
        ok &= _at_least(reasons, "win_rate", _metric(result, "win_rate"), t.min_win_rate, "{:.1%}")
    ok &= _at_least(reasons, "deflated_sharpe", _metric(result, "deflated_sharpe"), t.min_deflated_sharpe, "{:.3f}")
    n_trials = _metric(result, "n_trials")
    if n_trials is not None:
        reasons[-1] += f" over {n_trials:.0f} strategies tried"
    return GateVerdict(gate="backtest", passed=ok, reasons=reasons)


def confirmation_gate(result: Result, thresholds: GateThresholds | None = None) -> GateVerdict:
    """Pass a final holdout whose Sharpe is significantly above 0 over enough trades."""
    t = thresholds or GateThresholds()
    reasons: list[str] = []
    sharpe, p = _metric(result, "sharpe"), _metric(result, "sharpe_p_value")
    if sharpe is None or p is None:
        reasons.append(_missing("sharpe" if sharpe is None else "sharpe_p_value"))
        ok = False
    else:
        ok = sharpe > 0 and p < t.confirm_alpha
        if sharpe <= 0:
            words = "not above 0"
        elif ok:
            words = f"above 0 (p = {_p(p)}, below {t.confirm_alpha:g})"
        else:
            words = f"above 0, but not significantly (p = {_p(p)}, needs < {t.confirm_alpha:g})"
        reasons.append(f"holdout sharpe {sharpe:.3g}: {words} ({'passes' if ok else 'fails'})")
    ok &= _at_least(reasons, "total_trades", _metric(result, "total_trades"), t.min_trades, "{:.0f}")
    return GateVerdict(gate="holdout", passed=ok, reasons=reasons)
