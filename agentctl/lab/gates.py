"""Quality gates: pure functions that reject weak results before any tokens are spent.

Each verdict's reasons say the actual figure against its threshold in words, e.g.
"out-of-fold excess return (Sharpe 0.41): t = 1.32, p = 0.09, needs < 0.05 (fails)".
A figure that is missing or not a finite number fails its check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from agentctl.gates import GateThresholds, GateVerdict

# A result as the worker wrote it (TrainingResult, BacktestResult, HoldoutResult), as read back, or its JSON.
Result = BaseModel | Mapping[str, Any]


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


def _significant(reasons: list[str], what: str, p: float | None, alpha: float, t: float | None = None) -> bool:
    if p is None:
        reasons.append(_missing(what))
        return False
    ok = p < alpha
    stat = f"t = {t:.2f}, " if t is not None else ""
    words = f"below {alpha:g}" if ok else f"needs < {alpha:g}"
    reasons.append(f"{what}: {stat}p = {_p(p)}, {words} ({'passes' if ok else 'fails'})")
    return ok


def training_gate(result: Result, thresholds: GateThresholds | None = None) -> GateVerdict:
    """Pass out-of-fold trades whose return beats the market exposure they held, significantly (one test, HAC).

    Accuracy against the best constant guess is reported beside it, not decided on: an edge
    can pay with accuracy near 50%, and a majority class absorbs a market's drift.
    """
    t = thresholds or GateThresholds()
    reasons: list[str] = []
    sharpe = _metric(result, "excess_sharpe")
    what = "out-of-fold excess return" + (f" (Sharpe {sharpe:.2f})" if sharpe is not None else "")
    ok = _significant(reasons, what, _metric(result, "excess_p_value"), t.training_alpha, _metric(result, "excess_t"))
    accuracy, constant = _metric(result, "accuracy"), _metric(result, "constant_accuracy")
    if accuracy is not None and constant is not None:
        reasons.append(f"accuracy {accuracy:.3f} vs best constant guess {constant:.3f} (reported, not a gate)")
    return GateVerdict(gate="training", passed=ok, reasons=reasons)


def backtest_gate(result: Result, thresholds: GateThresholds | None = None) -> GateVerdict:
    """Pass a research backtest whose excess return survives every strategy tried on its dataset, with bounded risk."""
    t = thresholds or GateThresholds()
    reasons: list[str] = []
    ok = _at_least(reasons, "total_trades", _metric(result, "total_trades"), t.min_trades, "{:.0f}")
    ok &= _above(reasons, "sharpe", _metric(result, "sharpe"), t.min_sharpe)
    ok &= _drawdown(reasons, result, t)
    if t.min_win_rate > 0:
        ok &= _at_least(reasons, "win_rate", _metric(result, "win_rate"), t.min_win_rate, "{:.1%}")
    trials, effective = _metric(result, "snooping_trials"), _metric(result, "effective_trials")
    family = "excess return among the dataset's strategies"
    if trials is not None:
        worth = f", worth {effective:.1f} independent" if effective is not None else ""
        family = f"excess return among {trials:.0f} strategies tried on the dataset{worth}"
    ok &= _significant(reasons, family, _metric(result, "snooping_p_value"), t.research_alpha)
    dsr, n_trials = _metric(result, "deflated_sharpe"), _metric(result, "n_trials")
    if t.min_deflated_sharpe > 0:
        ok &= _at_least(reasons, "deflated_sharpe", dsr, t.min_deflated_sharpe, "{:.3f}")
    elif dsr is not None:
        reasons.append(f"deflated_sharpe {dsr:.3f} (reported, not a gate)")
    if n_trials is not None and reasons[-1].startswith("deflated_sharpe"):
        reasons[-1] += f" over {n_trials:.0f} strategies tried"
    return GateVerdict(gate="backtest", passed=ok, reasons=reasons)


def _drawdown(reasons: list[str], result: Result, t: GateThresholds) -> bool:
    """Max drawdown against the market's over the same bars (and an absolute cap when one is set)."""
    mdd, market = _metric(result, "max_drawdown"), _metric(result, "buy_and_hold_drawdown")
    ok = True
    if t.max_drawdown is not None:
        ok &= _at_most(reasons, "max_drawdown", mdd, t.max_drawdown, "{:.1%}")
    if mdd is None or market is None:
        reasons.append(_missing("max_drawdown" if mdd is None else "buy_and_hold_drawdown"))
        return False
    limit = t.max_drawdown_vs_market * market
    passes = mdd <= limit
    words = "at most" if passes else "needs at most"
    reasons.append(
        f"max_drawdown {mdd:.1%}: {words} {t.max_drawdown_vs_market:g} × buy and hold's {market:.1%} = {limit:.1%} "
        f"({'passes' if passes else 'fails'})"
    )
    return ok and passes


def confirmation_gate(result: Result, thresholds: GateThresholds | None = None) -> GateVerdict:
    """Pass a final holdout whose return beats the market exposure it held, significantly, over enough trades."""
    t = thresholds or GateThresholds()
    reasons: list[str] = []
    sharpe = _metric(result, "excess_sharpe")
    what = "holdout excess return" + (f" (Sharpe {sharpe:.2f})" if sharpe is not None else "")
    ok = _significant(reasons, what, _metric(result, "excess_p_value"), t.confirm_alpha, _metric(result, "excess_t"))
    ok &= _at_least(reasons, "total_trades", _metric(result, "total_trades"), t.min_trades, "{:.0f}")
    return GateVerdict(gate="holdout", passed=ok, reasons=reasons)
