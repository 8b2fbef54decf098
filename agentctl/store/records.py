"""Typed records read back from the store: each row and JSONB column parsed once, here.

The lab writes complete `TrainingResult` / `BacktestResult` / `HoldoutResult` objects
(`agentctl/results.py`); what comes back from the database is read through the same
models made lenient by `lenient`: the same names and types, every field optional. A gate
that failed may keep partial results, and a row written by an older version must never
wedge a tick or a report. A name that does not exist is an AttributeError (and a type
error), never a silent None.

No lab code, but not light: a tick that is paused or polls reads only `cycle_state.CycleState`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, get_origin

from pydantic import BaseModel, Field, create_model, model_validator

from agentctl.domain import Gate, Outcome
from agentctl.gates import GateVerdict
from agentctl.results import BacktestResult, HoldoutResult, TrainingResult
from agentctl.store.cycle_state import CycleState, Stored, StrategyOf

M = TypeVar("M", bound=BaseModel)


def lenient(model: type[M]) -> type[M]:
    """`model` as read back: each field None when missing (a list or dict empty), validated when present.

    Used as a class decorator over a subclass of a result; the type checker sees the
    result's own (strict) types, so a reader still checks for None where a row may lack one.
    """
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        origin = get_origin(info.annotation) or info.annotation
        annotation: Any = info.annotation
        if origin in (list, dict):
            fields[name] = (annotation, Field(default_factory=origin, description=info.description))
        else:
            fields[name] = (annotation | None, Field(default=None, description=info.description))
    return create_model(model.__name__, __base__=model, __module__=model.__module__, __doc__=model.__doc__, **fields)


@lenient
class TrainingRecord(TrainingResult):
    """A training result as stored on its cycle (`TrainingResult`'s fields, plus the gate's verdict)."""

    gate: GateVerdict | None = None

    @model_validator(mode="before")
    @classmethod
    def _older_rows(cls, data: Any) -> Any:
        # Rows from before walk-forward called the constant guess's accuracy majority_baseline_accuracy.
        if isinstance(data, dict) and "constant_accuracy" not in data and "majority_baseline_accuracy" in data:
            return {**data, "constant_accuracy": data["majority_baseline_accuracy"]}
        return data

    @property
    def majority_baseline_accuracy(self) -> float | None:
        """The name constant_accuracy had before walk-forward, for readers not yet moved to it."""
        return self.constant_accuracy


@lenient
class BacktestRecord(BacktestResult):
    """A backtest result as stored on its cycle (`BacktestResult`'s fields, plus the gate's verdict)."""

    gate: GateVerdict | None = None

    def headline(self) -> dict[str, float | int]:
        """The single numbers (no equity curve, per-fold lists or PBO blocks): what an assessment's metrics hold."""
        out: dict[str, float | int] = {}
        for key, value in self.model_dump(exclude={"equity_curve", "gate", "blocks_start", "blocks_end"}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value
        return out


@lenient
class HoldoutRecord(HoldoutResult):
    """A final holdout result as stored on its cycle (`HoldoutResult`'s fields, plus the gate's verdict)."""

    gate: GateVerdict | None = None


# The record each gate's operation leaves on its cycle.
RECORDS: dict[Gate, type[TrainingRecord] | type[BacktestRecord] | type[HoldoutRecord]] = {
    "training": TrainingRecord,
    "backtest": BacktestRecord,
    "holdout": HoldoutRecord,
}


class AssessmentRecord(Stored):
    """What the assessor saved: its decision, and the metrics agentctl attached (never the model's)."""

    passed: bool | None = None
    verdict: str | None = None
    explanation: str | None = None
    metrics: dict[str, float | int | None] = Field(default_factory=dict)
    strengths: list[str] = Field(default_factory=list)
    weaknesses: list[str] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)


class Cycle(CycleState):
    """One agent_sessions row: a research cycle, with the results and assessment it kept."""

    training_results: TrainingRecord | None = None
    backtest_results: BacktestRecord | None = None
    # The sealed final holdout's one test: read by the tick and by reports of passed
    # assessments only, never by anything that builds a prompt.
    final_holdout_results: HoldoutRecord | None = None
    assessment: AssessmentRecord | None = None
    outcome: Outcome | None = None
    failure_reason: str | None = None


class Metrics(Stored):
    """One agent_metrics row: what a completed cycle came to (the seed table's columns, declared here only)."""

    session_id: int
    cycle_started_at: datetime | None = None
    cycle_completed_at: datetime | None = None
    cycle_duration_seconds: int | None = None
    training_accuracy: Decimal | None = None
    training_final_loss: Decimal | None = None
    training_epochs_completed: int | None = None
    training_early_stopped: bool | None = None
    backtest_sharpe: Decimal | None = None
    backtest_win_rate: Decimal | None = None
    backtest_max_drawdown: Decimal | None = None
    backtest_total_trades: int | None = None
    backtest_profit_factor: Decimal | None = None
    total_tokens_input: int | None = None
    total_tokens_output: int | None = None
    estimated_cost_usd: Decimal | None = None
    outcome: Outcome | None = None
    gate_failed: str | None = None


class MemoryRow(Stored, StrategyOf):
    """A finished cycle as the designer remembers it (research memory).

    Its own list of a cycle's columns, not a CycleState or a Cycle: what a designer reads
    never holds the sealed final holdout's figures, so there is no final_holdout_results to leak.
    """

    id: int
    strategy_name: str | None = None
    strategy_config: dict[str, Any] | None = None
    outcome: Outcome | None = None
    failure_reason: str | None = None
    training_results: TrainingRecord | None = None
    backtest_results: BacktestRecord | None = None
    assessment: AssessmentRecord | None = None
    gate_failed: str | None = None
