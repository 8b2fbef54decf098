"""The stage table says what follows each lab stage, the final holdout included."""

from __future__ import annotations

from datetime import UTC, datetime

from agentctl.domain import Outcome, Phase
from agentctl.store.records import Cycle
from agentctl.tick.stages import BACKTEST, HOLDOUT, STAGES, TRAINING, stage_of


def cycle(phase: Phase, **ops: str) -> Cycle:
    return Cycle(id=1, phase=phase, created_at=datetime(2026, 1, 2, tzinfo=UTC), **ops)


def test_each_stage_leads_to_the_next_and_the_holdout_to_success():
    assert [(s.phase, s.passed) for s in STAGES] == [
        (Phase.TRAINING, Phase.BACKTESTING),
        (Phase.BACKTESTING, Phase.ASSESSING),
        (Phase.ASSESSING, Outcome.SUCCESS),
    ]
    # A passed stage's next phase is the phase of the next row (the assessor sits between the last two).
    assert TRAINING.passed is BACKTEST.phase and BACKTEST.passed is HOLDOUT.phase


def test_the_stage_a_cycle_waits_on():
    assert stage_of(cycle(Phase.TRAINING)) is TRAINING  # no operation recorded: polled, and it fails
    assert stage_of(cycle(Phase.BACKTESTING, backtest_operation_id="b")) is BACKTEST
    assert stage_of(cycle(Phase.ASSESSING)) is None  # the assessor's turn
    assert stage_of(cycle(Phase.ASSESSING, holdout_operation_id="h")) is HOLDOUT
    assert stage_of(cycle(Phase.DESIGNING)) is None and stage_of(cycle(Phase.IDLE)) is None
