"""Gate verdicts as a researcher reads them: metric names in words, and each reason said once.

The gates (lab/gates.py) write reasons as `total_trades 6: needs at least 10 (fails)`;
the JSON keeps them as written, the text reports say `trades 6: needs at least 10 (fails)`.
A cycle that failed at a gate carries the same reasons in its failure reason, so a
report that prints the gate's reasons names the gate there instead of repeating them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agentctl.gates import GateVerdict

METRIC_WORDS = {
    "total_trades": "trades",
    "max_drawdown": "max drawdown",
    "deflated_sharpe": "deflated Sharpe",
    "sharpe": "Sharpe",
    "win_rate": "win rate",
    "log_loss": "log loss",
    "accuracy_p_value": "accuracy p-value",
    "constant_accuracy": "best constant guess accuracy",
    "sharpe_p_value": "Sharpe p-value",
    "holdout sharpe": "holdout Sharpe",
    "buy_and_hold_drawdown": "buy and hold's drawdown",
    "excess return among": "excess return among the dataset's strategies",
}
GATE_WORDS = {"training": "training", "backtest": "backtest", "holdout": "final holdout"}


def plain_reason(reason: str) -> str:
    """One gate reason with its metric named in words."""
    for name, words in METRIC_WORDS.items():
        if reason.startswith(name + " ") or reason.startswith(name + ":"):
            return words + reason[len(name) :]
    return reason


def plain_reasons(gate: GateVerdict) -> str:
    return "; ".join(plain_reason(r) for r in gate.reasons) or "no reason recorded"


def failure_once(failure_reason: str | None, gates: Iterable[GateVerdict | None], where: str = "below") -> str | None:
    """The failure reason, or, when it only repeats a failed gate's reasons, a pointer to that gate."""
    if not failure_reason:
        return None
    for g in gates:
        if g is None or g.passed or not g.reasons:
            continue
        joined = "; ".join(g.reasons)
        if failure_reason.endswith(joined):
            head = failure_reason[: -len(joined)].strip().rstrip(":")
            gate = f"the {GATE_WORDS.get(g.gate, g.gate)} gate failed (its reasons {where})"
            return f"{head}: {gate}" if head else gate
    return failure_reason


_BASELINE = re.compile(r"^baseline-\d+-(?=.)")


def short_name(strategy: str | None) -> str | None:
    """A strategy's name for a narrow table: a baseline's `baseline-N-` prefix says nothing there
    (the designer column or `show` says who designed it)."""
    return None if strategy is None else _BASELINE.sub("", strategy)
