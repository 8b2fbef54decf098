"""Where a cycle stands: the agent_sessions columns a tick decides its next step on.

Light on purpose: a tick that is paused or polls a running operation reads only this,
so it never creates the result records (`store/records.py` and `results.py`), which
cost about a tenth of an idle tick. `records.Cycle` is this plus what the cycle kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from agentctl.domain import Phase


class Stored(BaseModel):
    """A row as read back from the store: columns it does not name are ignored."""

    # Each record's validator is built when it first reads a row: a tick that polls reads only a CycleState.
    model_config = ConfigDict(extra="ignore", protected_namespaces=(), defer_build=True)


class DatasetRecord(Stored):
    symbol: str | None = None
    timeframe: str | None = None


class ModelRecord(Stored):
    family: str | None = None


class StrategyRecord(Stored):
    """The saved strategy's identity as stored (the full config is validated by the lab when it runs)."""

    name: str | None = None
    hypothesis: str | None = None
    dataset: DatasetRecord = Field(default_factory=DatasetRecord)
    model: ModelRecord = Field(default_factory=ModelRecord)


class StrategyOf:
    """A row that holds a cycle's strategy_config: its `strategy`, read leniently (CycleState, records.MemoryRow)."""

    if TYPE_CHECKING:
        strategy_config: dict[str, Any] | None  # each row declares the column in its own place

    @property
    def strategy(self) -> StrategyRecord | None:
        """The strategy config's identity (dataset, model family, hypothesis), read leniently."""
        return None if self.strategy_config is None else StrategyRecord.model_validate(self.strategy_config)


class CycleState(Stored, StrategyOf):
    """One agent_sessions row up to its operations: its phase, strategy and lab operations, not its results."""

    id: int
    phase: Phase
    created_at: datetime
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    strategy_name: str | None = None
    strategy_config: dict[str, Any] | None = None
    strategy_file_path: str | None = None
    strategy_hash: str | None = None
    training_operation_id: str | None = None
    backtest_operation_id: str | None = None
    holdout_operation_id: str | None = None

    @property
    def operation_id(self) -> str | None:
        """The lab operation of the phase the cycle is in (training, backtesting, or the final holdout's test)."""
        by_phase = {
            Phase.TRAINING: self.training_operation_id,
            Phase.BACKTESTING: self.backtest_operation_id,
            Phase.ASSESSING: self.holdout_operation_id,
        }
        return by_phase.get(self.phase)
