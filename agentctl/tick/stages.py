"""The lab stages a cycle polls, as a table: training, then backtesting.

Each stage names its phase, its lab operation, its gate and what its outcomes and
trigger reasons are; `core.Tick._poll` runs the same routine for every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentctl.domain import Outcome, Phase, TriggerReason

if TYPE_CHECKING:
    from agentctl.lab.gates import GateThresholds, GateVerdict


def _training_gate(results: dict[str, Any], thresholds: GateThresholds) -> GateVerdict:
    from agentctl.lab.gates import training_gate

    return training_gate(results, thresholds)


def _backtest_gate(results: dict[str, Any], thresholds: GateThresholds) -> GateVerdict:
    from agentctl.lab.gates import backtest_gate

    return backtest_gate(results, thresholds)


@dataclass(frozen=True)
class Stage:
    phase: Phase
    gate: Literal["training", "backtest"]
    check: Callable[[dict[str, Any], GateThresholds], GateVerdict]
    failed: Outcome  # the operation failed, was cancelled or vanished
    failed_reason: TriggerReason
    gate_failed: Outcome  # the operation completed and its gate said no
    completed_reason: TriggerReason


STAGES: dict[Phase, Stage] = {
    Phase.TRAINING: Stage(
        phase=Phase.TRAINING,
        gate="training",
        check=_training_gate,
        failed=Outcome.FAILED_TRAINING,
        failed_reason=TriggerReason.TRAINING_FAILED,
        gate_failed=Outcome.FAILED_TRAINING_GATE,
        completed_reason=TriggerReason.TRAINING_COMPLETED,
    ),
    Phase.BACKTESTING: Stage(
        phase=Phase.BACKTESTING,
        gate="backtest",
        check=_backtest_gate,
        failed=Outcome.FAILED_BACKTEST,
        failed_reason=TriggerReason.BACKTEST_FAILED,
        gate_failed=Outcome.FAILED_BACKTEST_GATE,
        completed_reason=TriggerReason.BACKTEST_COMPLETED,
    ),
}
