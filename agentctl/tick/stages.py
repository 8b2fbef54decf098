"""The lab stages a cycle polls, as a table: training, the research backtest, the final holdout.

Each stage names the phase it runs in, its gate, its outcomes and trigger reasons, and
what follows a passed gate: the next phase, or the cycle's ending. `core.Tick._poll`
runs the same routine for every row. The final holdout's test runs while the cycle is
still `assessing` (its assessment passed): the phase list is the schema's, so that
stage is told apart by its operation having started.

    designing --(strategy saved)--> TRAINING --(gate)--> backtesting
    BACKTEST --(gate)--> assessing: the assessor --(passed)--> HOLDOUT --(gate)--> success
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentctl.domain import Gate, Outcome, Phase, TriggerReason

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agentctl.gates import GateThresholds, GateVerdict
    from agentctl.store.cycle_state import CycleState


def _gate(name: Gate) -> Callable[[BaseModel, GateThresholds], GateVerdict]:
    def check(results: BaseModel, thresholds: GateThresholds) -> GateVerdict:
        from agentctl.lab import gates

        fn = {"training": gates.training_gate, "backtest": gates.backtest_gate, "holdout": gates.confirmation_gate}
        return fn[name](results, thresholds)

    return check


@dataclass(frozen=True)
class Stage:
    phase: Phase  # the cycle's phase while it waits on this stage's operation
    passed: Phase | Outcome  # what follows a passed gate: the next phase, or the cycle's ending
    gate: Gate
    check: Callable[[BaseModel, GateThresholds], GateVerdict]
    failed: Outcome  # the operation failed, was cancelled or vanished
    failed_reason: TriggerReason
    gate_failed: Outcome  # the operation completed and its gate said no
    completed_reason: TriggerReason
    prefix: str = ""  # how a failure reason names the stage
    # The phase has other work first (the assessor): the stage holds only once its operation started.
    once_started: bool = False

    def describe(self, reason: str) -> str:
        return f"{self.prefix}{reason}"


# The stage table: one row per lab stage. The rows share their shape on purpose (every field
# named), so what differs between stages is only ever a value.
TRAINING = Stage(
    phase=Phase.TRAINING,
    passed=Phase.BACKTESTING,
    gate="training",
    check=_gate("training"),
    failed=Outcome.FAILED_TRAINING,
    failed_reason=TriggerReason.TRAINING_FAILED,
    gate_failed=Outcome.FAILED_TRAINING_GATE,
    completed_reason=TriggerReason.TRAINING_COMPLETED,
)
BACKTEST = Stage(
    phase=Phase.BACKTESTING,
    passed=Phase.ASSESSING,
    gate="backtest",
    check=_gate("backtest"),
    failed=Outcome.FAILED_BACKTEST,
    failed_reason=TriggerReason.BACKTEST_FAILED,
    gate_failed=Outcome.FAILED_BACKTEST_GATE,
    completed_reason=TriggerReason.BACKTEST_COMPLETED,
)
# Started once the assessment passed (phase still assessing). Not confirmed on the final
# holdout: the assessment's claim failed (outcome failed_assessment); confirmed: success.
HOLDOUT = Stage(
    phase=Phase.ASSESSING,
    passed=Outcome.SUCCESS,
    gate="holdout",
    check=_gate("holdout"),
    failed=Outcome.FAILED_ASSESSMENT,
    failed_reason=TriggerReason.GATE_CHECK,
    gate_failed=Outcome.FAILED_ASSESSMENT,
    completed_reason=TriggerReason.GATE_CHECK,
    prefix="not confirmed on the sealed final holdout: ",
    once_started=True,
)


STAGES = (TRAINING, BACKTEST, HOLDOUT)


def stage_of(cycle: CycleState) -> Stage | None:
    """The stage whose lab operation the cycle waits on, if any (assessing: only once its holdout test started)."""
    for stage in STAGES:
        if cycle.phase is stage.phase and (cycle.operation_id is not None or not stage.once_started):
            return stage
    return None
