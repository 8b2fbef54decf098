"""Typed records read back from the store: each row and JSONB column parsed once, here.

The lab writes complete `TrainingResult` / `BacktestResult` / `HoldoutResult` objects; what comes
back from the database is read through the models below, whose fields are the
same names, all optional: a gate that failed may keep partial results, and a
row written by an older version must never wedge a tick or a report. A name
that does not exist is an AttributeError (and a type error), never a silent None.

Light on purpose: the poll-only tick reads these (pydantic only, no lab code).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentctl.domain import Outcome, Phase
from agentctl.lab.gates import GateVerdict


class _Stored(BaseModel):
    # Each record's validator is built when it first reads a row: a tick that polls reads only a Cycle.
    model_config = ConfigDict(extra="ignore", protected_namespaces=(), defer_build=True)


class TrainingRecord(_Stored):
    """A training result as stored on its cycle (`TrainingResult`'s fields, plus the gate's verdict)."""

    accuracy: float | None = None
    constant_accuracy: float | None = None
    accuracy_p_value: float | None = None
    oof_bars: int | None = None
    oof_correct: int | None = None
    effective_bars: int | None = None
    log_loss: float | None = None
    excess_sharpe: float | None = None
    excess_t: float | None = None
    excess_p_value: float | None = None
    exposure_net: float | None = None
    oof_trades: int | None = None
    trial_path: str | None = None
    train_accuracy: float | None = None
    folds: int | None = None
    fold_accuracy: list[float] = Field(default_factory=list)
    fold_constant_accuracy: list[float] = Field(default_factory=list)
    fold_constant_class: list[str] = Field(default_factory=list)
    iterations: int | None = None
    early_stopped: bool | None = None
    class_balance: dict[str, float] = Field(default_factory=dict)
    prediction_balance: dict[str, float] = Field(default_factory=dict)
    classes: list[str] = Field(default_factory=list)
    research_start: datetime | None = None
    oof_start: datetime | None = None
    research_end: datetime | None = None
    research_bars: int | None = None
    purge_bars: int | None = None
    holdout_start: datetime | None = None
    feature_columns: list[str] = Field(default_factory=list)
    model_family: str | None = None
    model_path: str | None = None
    strategy_hash: str | None = None
    duration_s: float | None = None
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


class _Performance(_Stored):
    """What any simulated trading reports (research backtest and final holdout alike)."""

    sharpe: float | None = None
    sortino: float | None = None
    calmar: float | None = None
    total_return: float | None = None
    cagr: float | None = None
    max_drawdown: float | None = None
    win_rate: float | None = None
    total_trades: int | None = None
    profit_factor: float | None = None
    exposure: float | None = None
    buy_and_hold_return: float | None = None
    bars: int | None = None
    bars_per_year: float | None = None
    start: datetime | None = None
    end: datetime | None = None
    avg_trade_return: float | None = None
    equity_curve: list[tuple[datetime, float]] = Field(default_factory=list)
    exposure_net: float | None = None
    excess_sharpe: float | None = None
    excess_t: float | None = None
    excess_p_value: float | None = None
    buy_and_hold_drawdown: float | None = None


class BacktestRecord(_Performance):
    """A backtest result as stored on its cycle (`BacktestResult`'s fields, plus the gate's verdict)."""

    deflated_sharpe: float | None = None
    n_trials: int | None = None
    sr: float | None = None
    sr0: float | None = None
    skew: float | None = None
    kurtosis: float | None = None
    t: int | None = None
    var_trials: float | None = None
    variance_source: str | None = None
    folds: int | None = None
    fold_sharpe: list[float] = Field(default_factory=list)
    fold_return: list[float] = Field(default_factory=list)
    fold_accuracy: list[float] = Field(default_factory=list)
    folds_profitable: int | None = None
    blocks: list[list[float]] = Field(default_factory=list)
    blocks_start: int | None = None
    blocks_end: int | None = None
    snooping_p_value: float | None = None
    snooping_trials: int | None = None
    effective_trials: float | None = None
    duration_s: float | None = None
    gate: GateVerdict | None = None

    def headline(self) -> dict[str, float | int]:
        """The single numbers (no equity curve, per-fold lists or PBO blocks): what an assessment's metrics hold."""
        out: dict[str, float | int] = {}
        for key, value in self.model_dump(exclude={"equity_curve", "gate", "blocks_start", "blocks_end"}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value
        return out


class HoldoutRecord(_Performance):
    """A final holdout result as stored on its cycle (`HoldoutResult`'s fields, plus the gate's verdict)."""

    sharpe_p_value: float | None = None
    duration_s: float | None = None
    gate: GateVerdict | None = None


class AssessmentRecord(_Stored):
    """What the assessor saved: its decision, and the metrics agentctl attached (never the model's)."""

    passed: bool | None = None
    verdict: str | None = None
    explanation: str | None = None
    metrics: dict[str, float | int | None] = Field(default_factory=dict)
    strengths: list[str] = Field(default_factory=list)
    weaknesses: list[str] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)


class DatasetRecord(_Stored):
    symbol: str | None = None
    timeframe: str | None = None


class ModelRecord(_Stored):
    family: str | None = None


class StrategyRecord(_Stored):
    """The saved strategy's identity as stored (the full config is validated by the lab when it runs)."""

    name: str | None = None
    hypothesis: str | None = None
    dataset: DatasetRecord = Field(default_factory=DatasetRecord)
    model: ModelRecord = Field(default_factory=ModelRecord)


class Cycle(_Stored):
    """One agent_sessions row: a research cycle."""

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
    training_results: TrainingRecord | None = None
    backtest_results: BacktestRecord | None = None
    # The sealed final holdout's one test: read by the tick and by reports of passed
    # assessments only, never by anything that builds a prompt.
    final_holdout_results: dict[str, Any] | None = None
    assessment: AssessmentRecord | None = None
    outcome: Outcome | None = None
    failure_reason: str | None = None

    @property
    def strategy(self) -> StrategyRecord | None:
        """The strategy config's identity (dataset, model family, hypothesis), read leniently."""
        return None if self.strategy_config is None else StrategyRecord.model_validate(self.strategy_config)

    @property
    def operation_id(self) -> str | None:
        """The lab operation of the phase the cycle is in (training, backtesting, or the final holdout's test)."""
        by_phase = {
            Phase.TRAINING: self.training_operation_id,
            Phase.BACKTESTING: self.backtest_operation_id,
            Phase.ASSESSING: self.holdout_operation_id,
        }
        return by_phase.get(self.phase)


class Metrics(_Stored):
    """One agent_metrics row: what a completed cycle came to."""

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


class MemoryRow(_Stored):
    """A finished cycle as the designer remembers it (research memory)."""

    id: int
    strategy_name: str | None = None
    strategy_config: dict[str, Any] | None = None
    outcome: Outcome | None = None
    failure_reason: str | None = None
    training_results: TrainingRecord | None = None
    backtest_results: BacktestRecord | None = None
    assessment: AssessmentRecord | None = None
    gate_failed: str | None = None

    @property
    def strategy(self) -> StrategyRecord | None:
        return None if self.strategy_config is None else StrategyRecord.model_validate(self.strategy_config)
