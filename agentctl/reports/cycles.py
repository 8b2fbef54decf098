"""`agentctl cycles` and `agentctl show`: recent completed cycles, and one cycle in full."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, field_serializer

from agentctl.domain import Outcome, Phase
from agentctl.lab.gates import GateVerdict
from agentctl.reports.common import ActionRow, TriggerRow, num, usd, usd_or_none
from agentctl.reports.research import Research, research
from agentctl.store import reports as store
from agentctl.store.records import AssessmentRecord, BacktestRecord, TrainingRecord

if TYPE_CHECKING:
    import psycopg

    from agentctl.store.records import Metrics

TRIGGERS_SHOWN = 500  # a cycle's triggers in `show`: one per minute is over 8 hours of ticks


class CycleRow(BaseModel):
    id: int
    strategy: str | None
    dataset: str | None  # SYMBOL/TF
    outcome: str | None
    sharpe: float | None
    deflated_sharpe: float | None
    total_return: float | None  # the research backtest's
    buy_and_hold_return: float | None  # over the same bars
    win_rate: float | None
    max_drawdown: float | None
    trades: int | None
    cost_usd: float | None
    duration_s: int | None
    verdict: str | None
    completed_at: datetime | None


def recent_cycles(
    conn: psycopg.Connection[Any],
    limit: int = 10,
    outcome: str | None = None,
    *,
    sort: str = "date",
    dataset: tuple[str, str] | None = None,
) -> list[CycleRow]:
    """Completed cycles, newest first or best first by `sort`, optionally of one outcome and one dataset."""
    return [
        CycleRow(
            id=r.id,
            strategy=r.strategy_name,
            dataset=f"{r.symbol}/{r.timeframe}" if r.symbol else None,
            outcome=r.outcome,
            sharpe=num(r.backtest_sharpe),
            deflated_sharpe=num(r.deflated_sharpe, 4),
            total_return=num(r.total_return, 6),
            buy_and_hold_return=num(r.buy_and_hold_return, 6),
            win_rate=num(r.backtest_win_rate),
            max_drawdown=num(r.backtest_max_drawdown),
            trades=r.backtest_total_trades,
            cost_usd=usd_or_none(r.estimated_cost_usd),
            duration_s=r.cycle_duration_seconds,
            verdict=r.verdict,
            completed_at=r.completed_at,
        )
        for r in store.recent_cycles(conn, limit, outcome, sort=sort, dataset=dataset)
    ]


class ActionTotals(BaseModel):
    actions: int
    model_calls: int
    tokens_input: int
    tokens_output: int
    tokens_cache_write: int
    tokens_cache_read: int
    cost_usd: float


class Gates(BaseModel):
    training: GateVerdict | None
    backtest: GateVerdict | None


class CycleDetail(BaseModel):
    id: int
    phase: Phase
    outcome: Outcome | None
    failure_reason: str | None
    strategy: str | None
    strategy_file_path: str | None
    hypothesis: str | None
    config: dict[str, Any] | None
    created_at: datetime | None
    completed_at: datetime | None
    duration_s: float | None
    training_operation_id: str | None
    backtest_operation_id: str | None
    training: TrainingRecord | None  # in JSON: the stored fields, without the gate
    backtest: BacktestRecord | None  # in JSON: the stored fields, without the gate and the equity curve
    gates: Gates
    assessment: AssessmentRecord | None  # in JSON: the stored fields
    # Walk-forward figures, the deflated Sharpe at the test and now, and the final holdout (sealed unless passed).
    research: Research
    metrics: dict[str, Any] | None  # the agent_metrics row
    equity_curve: list[tuple[str, float]]  # [[iso time, equity], ...]
    totals: ActionTotals
    actions: list[ActionRow]
    actions_shown: int
    triggers: list[TriggerRow]

    @field_serializer("training", "backtest", "assessment")
    def _as_stored(self, record: BaseModel | None) -> dict[str, Any] | None:
        """Only what was stored: the record's defaults for missing fields are not the cycle's data."""
        if record is None:
            return None
        return record.model_dump(mode="json", exclude_unset=True, exclude={"gate", "equity_curve"})


def _metrics(m: Metrics | None) -> dict[str, Any] | None:
    """The agent_metrics row without its keys, decimals as numbers."""
    if m is None:
        return None
    row = m.model_dump(exclude={"session_id"})
    return {k: (num(v, 6) if isinstance(v, Decimal) else v) for k, v in row.items()}


def cycle_detail(conn: psycopg.Connection[Any], cycle_id: int, action_limit: int = 200) -> CycleDetail | None:
    """One cycle in full; None when there is no such cycle."""
    c = store.cycle(conn, cycle_id)
    if c is None:
        return None
    totals = store.cycle_action_totals(conn, cycle_id)
    actions = store.cycle_actions(conn, cycle_id, action_limit)
    bt = c.backtest_results
    strategy = c.strategy
    return CycleDetail(
        id=c.id,
        phase=c.phase,
        outcome=c.outcome,
        failure_reason=c.failure_reason,
        strategy=c.strategy_name,
        strategy_file_path=c.strategy_file_path,
        hypothesis=strategy.hypothesis if strategy else None,
        config=c.strategy_config,
        created_at=c.created_at,
        completed_at=c.completed_at,
        duration_s=(c.completed_at - c.created_at).total_seconds() if c.completed_at else None,
        training_operation_id=c.training_operation_id,
        backtest_operation_id=c.backtest_operation_id,
        training=c.training_results,
        backtest=bt,
        gates=Gates(training=c.training_results.gate if c.training_results else None, backtest=bt.gate if bt else None),
        assessment=c.assessment,
        research=research(conn, c),
        metrics=_metrics(store.cycle_metrics(conn, cycle_id)),
        equity_curve=[(t.isoformat(), float(v)) for t, v in bt.equity_curve] if bt else [],
        totals=ActionTotals(**{**totals.model_dump(), "cost_usd": usd(totals.cost_usd)}),
        actions=[ActionRow.of(a) for a in actions],
        actions_shown=len(actions),
        triggers=[TriggerRow.of(t) for t in store.cycle_triggers(conn, cycle_id, TRIGGERS_SHOWN)],
    )


def session_exists(conn: psycopg.Connection[Any], cycle_id: int) -> bool:
    return store.cycle(conn, cycle_id) is not None


def buy_and_hold_curve(config: dict[str, Any] | None, curve: list[tuple[str, float]], home: Path) -> list[float] | None:
    """Buy and hold over the equity curve's bars, starting at 1.0; None without the dataset or when it changed."""
    from agentctl.lab.data import DatasetError, load_ohlcv
    from agentctl.plot import buy_and_hold, points

    dataset = (config or {}).get("dataset") or {}
    if not curve or not dataset.get("symbol") or not dataset.get("timeframe"):
        return None
    try:
        df = load_ohlcv(str(dataset["symbol"]), str(dataset["timeframe"]), home)
    except DatasetError:
        return None
    return buy_and_hold(points(curve)[0], df["close"])
