"""`agentctl cycles` and `agentctl show`: recent completed cycles, and one cycle in full."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, field_serializer

from agentctl.domain import Outcome, Phase
from agentctl.gates import GateVerdict
from agentctl.reports.common import num
from agentctl.reports.research import Research, research
from agentctl.store import reports as store
from agentctl.store.records import AssessmentRecord, BacktestRecord, TrainingRecord

if TYPE_CHECKING:
    import psycopg

    from agentctl.store.records import Metrics

TRIGGERS_SHOWN = 500  # a cycle's triggers in `show`: one per minute is over 8 hours of ticks


def recent_cycles(
    conn: psycopg.Connection[Any],
    limit: int = 10,
    outcome: str | None = None,
    *,
    sort: str = "date",
    dataset: tuple[str, str] | None = None,
) -> list[store.CycleRow]:
    """Completed cycles, newest first or by `sort` (highest figure first), optionally of one outcome and one dataset."""
    return store.recent_cycles(conn, limit, outcome, sort=sort, dataset=dataset)


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
    totals: store.ActionTotals
    actions: list[store.ActionLine]
    actions_shown: int
    triggers: list[store.TriggerLine]

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
    # `show`'s own names (its JSON keys: strategy, hypothesis, duration_s, ...) for the cycle's columns.
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
        totals=totals,
        actions=actions,
        actions_shown=len(actions),
        triggers=store.cycle_triggers(conn, cycle_id, TRIGGERS_SHOWN),
    )


def cycle_exists(conn: psycopg.Connection[Any], cycle_id: int) -> bool:
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


def parameters(config: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A strategy's settings as (parameter, value) rows: one per feature, the rest by section (not a JSON dump)."""
    from agentctl import fmt

    rows: list[tuple[str, str]] = []
    for section, value in (config or {}).items():
        if section in ("hypothesis", "name"):
            continue
        if section == "dataset" and isinstance(value, dict):
            rows.append(("dataset", f"{value.get('symbol')}/{value.get('timeframe')}"))
        elif section == "features" and isinstance(value, list):
            for i, f in enumerate(value, 1):
                params = fmt.text(f.get("params") or {}) if isinstance(f, dict) else ""
                name = f.get("function", "?") if isinstance(f, dict) else fmt.text(f)
                rows.append((f"feature {i}", f"{name}({params})" if params else str(name)))
        elif isinstance(value, dict):
            rows += [(f"{section} {k.replace('_', ' ')}", fmt.text(v)) for k, v in value.items()]
        else:
            rows.append((section, fmt.text(value)))
    return rows


class TradeRow(BaseModel):
    trade: int
    direction: str  # long | short
    entry_time: datetime
    entry_price: float
    exit_time: datetime
    exit_price: float
    bars_held: int
    net_return: float  # after fees and slippage


class CycleTrades(BaseModel):
    """A cycle's trades, recomputed (backtests do not store them); None where they cannot be, with why in notes."""

    research: list[TradeRow] | None
    holdout: list[TradeRow] | None  # only for a cycle whose final holdout may be shown
    notes: list[str]


def cycle_trades(conn: psycopg.Connection[Any], cycle_id: int, home: Path) -> CycleTrades:
    from agentctl.reports.replay import cycle_replays, trades

    c = store.cycle(conn, cycle_id)
    trained = c is not None and c.training_results is not None and c.training_results.model_path is not None
    if c is None or not c.strategy_config or c.backtest_results is None or not trained:
        return CycleTrades(research=None, holdout=None, notes=[])  # nothing was traded: nothing to recompute
    rep = cycle_replays(c, home, holdout_shown=research(conn, c).holdout.state == "shown")

    def rows(replay: Any) -> list[TradeRow] | None:
        if replay is None:
            return None
        return [
            TradeRow(**{k: v for k, v in t.items() if k != "return"}, net_return=t["return"]) for t in trades(replay)
        ]

    return CycleTrades(research=rows(rep.research), holdout=rows(rep.holdout), notes=rep.notes)


class EquityChart(BaseModel):
    """What `show` draws: the research curve, then the final holdout's (when it may be shown) from where it ended."""

    curve: list[tuple[str, float]]
    benchmark: list[float] | None  # buy and hold over the same bars
    holdout_from: str | None  # the first bar of the final holdout on the chart


def equity_chart(conn: psycopg.Connection[Any], d: CycleDetail, home: Path) -> EquityChart:
    """The chart of `show`; the final holdout's curve only for a cycle whose holdout may be shown."""
    curve = list(d.equity_curve)
    holdout_from = None
    tail: list[Any] = []
    if d.research.holdout.state == "shown":
        c = store.cycle(conn, d.id)
        h = c.final_holdout_results if c else None
        tail = h.model_dump(mode="json", include={"equity_curve"})["equity_curve"] if h else []
    if curve and tail:
        # The holdout's curve starts again at 1.0: chained to the research curve's last value, one line reads on.
        last = curve[-1][1]
        holdout_from = str(tail[0][0])
        curve += [(str(t), last * float(v)) for t, v in tail]
    return EquityChart(curve=curve, benchmark=buy_and_hold_curve(d.config, curve, home), holdout_from=holdout_from)
