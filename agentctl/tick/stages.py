"""The lab stages a cycle polls, as a table: training, the research backtest, the final holdout.

Each stage names its lab operation, its gate and its outcomes and trigger reasons;
`core.Tick._poll` runs the same routine for every row. The final holdout's test runs
while the cycle is still `assessing` (its assessment passed): the phase list is the
schema's, so the stage is told apart by its operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentctl.domain import Gate, Outcome, Phase, TriggerReason

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agentctl.gates import GateThresholds, GateVerdict
    from agentctl.store.records import Cycle


def _gate(name: Gate) -> Callable[[BaseModel, GateThresholds], GateVerdict]:
    def check(results: BaseModel, thresholds: GateThresholds) -> GateVerdict:
        from agentctl.lab import gates

        fn = {"training": gates.training_gate, "backtest": gates.backtest_gate, "holdout": gates.confirmation_gate}
        return fn[name](results, thresholds)

    return check


@dataclass(frozen=True)
class Stage:
    gate: Gate
    check: Callable[[BaseModel, GateThresholds], GateVerdict]
    failed: Outcome  # the operation failed, was cancelled or vanished
    failed_reason: TriggerReason
    gate_failed: Outcome  # the operation completed and its gate said no
    completed_reason: TriggerReason
    prefix: str = ""  # how a failure reason names the stage

    def describe(self, reason: str) -> str:
        return f"{self.prefix}{reason}"


TRAINING = Stage(
    gate="training",
    check=_gate("training"),
    failed=Outcome.FAILED_TRAINING,
    failed_reason=TriggerReason.TRAINING_FAILED,
    gate_failed=Outcome.FAILED_TRAINING_GATE,
    completed_reason=TriggerReason.TRAINING_COMPLETED,
)
BACKTEST = Stage(
    gate="backtest",
    check=_gate("backtest"),
    failed=Outcome.FAILED_BACKTEST,
    failed_reason=TriggerReason.BACKTEST_FAILED,
    gate_failed=Outcome.FAILED_BACKTEST_GATE,
    completed_reason=TriggerReason.BACKTEST_COMPLETED,
)
# Not confirmed on the final holdout: the assessment's claim failed (outcome failed_assessment).
HOLDOUT = Stage(
    gate="holdout",
    check=_gate("holdout"),
    failed=Outcome.FAILED_ASSESSMENT,
    failed_reason=TriggerReason.GATE_CHECK,
    gate_failed=Outcome.FAILED_ASSESSMENT,
    completed_reason=TriggerReason.GATE_CHECK,
    prefix="not confirmed on the sealed final holdout: ",
)


def stage_of(cycle: Cycle) -> Stage | None:
    """The stage whose lab operation the cycle waits on, if any."""
    if cycle.phase is Phase.TRAINING:
        return TRAINING
    if cycle.phase is Phase.BACKTESTING:
        return BACKTEST
    if cycle.phase is Phase.ASSESSING and cycle.holdout_operation_id is not None:
        return HOLDOUT
    return None
