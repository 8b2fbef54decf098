"""Cycles: the agent_sessions, agent_triggers and agent_metrics rows (SQL in sql/cycles.sql).

One function per statement. Every phase change is guarded by the phase it expects
and raises `StateMoved` when the row was not there to move: never guess.
Each function joins the caller's transaction when there is one; one marked `@atomic`
opens its own block otherwise (a tick's read must not leave a transaction open).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from agentctl.domain import Blame, Outcome, Phase, StateMoved
from agentctl.store import storable
from agentctl.store.cycle_state import CycleState
from agentctl.store.queries import atomic, load

if TYPE_CHECKING:
    from datetime import datetime

    import psycopg

    from agentctl.settings import Settings
    from agentctl.store.records import BacktestRecord, Cycle, HoldoutRecord, MemoryRow, Metrics, TrainingRecord

_sql = load("cycles")

# pg_advisory_lock key of the tick: "agentctl" packed into a bigint.
TICK_LOCK_KEY = int.from_bytes(b"agentctl", "big") & 0x7FFFFFFFFFFFFFFF


def _json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    # Model output is untrusted: NUL, lone surrogates and 1e309 must not fail the write;
    # a non-finite metric is stored as null (missing), never 'NaN'.
    cleaned = None if value is None else storable.json_value(value, nonfinite_null=True)
    return None if cleaned is None else Jsonb(cleaned, dumps=storable.dumps)


def _record(record: BaseModel) -> Any:
    """A result as its cycle keeps it: the fields it was given (a partial result stays partial)."""
    return _json(record.model_dump(mode="json", exclude_unset=True))


def _moved(row: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """The row a guarded move returned; none means the cycle was not in the phase it expected."""
    if row is None:
        raise StateMoved(what)
    return row


# -- the tick's lock ------------------------------------------------------------------


@atomic
def try_lock(conn: psycopg.Connection[Any]) -> bool:
    """Take the tick's session-level advisory lock if free (it dies with the connection)."""
    return bool(_sql.one(conn, "try_tick_lock", {"key": TICK_LOCK_KEY})["locked"])


def unlock(conn: psycopg.Connection[Any]) -> None:
    _sql.run(conn, "tick_unlock", {"key": TICK_LOCK_KEY})


# -- reading cycles -----------------------------------------------------------------------


@atomic
def active(conn: psycopg.Connection[Any]) -> CycleState | None:
    """Where the cycle in progress (phase other than idle) stands, if there is one: what a tick decides on."""
    row = _sql.maybe(conn, "active_cycle")
    return None if row is None else CycleState.model_validate(row)


# The result records are imported where a whole cycle is read: a tick that polls reads only its state.


@atomic
def get(conn: psycopg.Connection[Any], cycle_id: int) -> Cycle | None:
    from agentctl.store.records import Cycle

    row = _sql.maybe(conn, "cycle_by_id", {"id": cycle_id})
    return None if row is None else Cycle.model_validate(row)


@atomic
def metrics(conn: psycopg.Connection[Any], cycle_id: int) -> Metrics | None:
    from agentctl.store.records import Metrics

    row = _sql.maybe(conn, "metrics_by_cycle", {"id": cycle_id})
    return None if row is None else Metrics.model_validate(row)


@atomic
def completed_since(conn: psycopg.Connection[Any], after_id: int) -> list[int]:
    """Ids of the cycles newer than `after_id` that have completed, oldest first."""
    return [r["id"] for r in _sql.all(conn, "completed_since", {"after_id": after_id})]


@atomic
def max_id(conn: psycopg.Connection[Any]) -> int:
    """The newest cycle id (0 when none)."""
    return int(_sql.one(conn, "max_cycle_id")["id"])


@atomic
def assessment_attempts(conn: psycopg.Connection[Any], cycle_id: int) -> int:
    """How many ticks invoked the assessor on this cycle."""
    return int(_sql.one(conn, "assessment_attempts", {"id": cycle_id})["n"])


@atomic
def strategies_tried(conn: psycopg.Connection[Any]) -> int:
    """Distinct strategies saved so far by any cycle, on every dataset (the one definition of "tried")."""
    return int(_sql.one(conn, "strategies_tried")["n"])


class Trial(BaseModel):
    """A strategy saved on a dataset: where its out-of-fold excess returns are and how they tested, once trained."""

    model_config = ConfigDict(defer_build=True)  # built when a backtest starts, not on every tick

    id: int
    strategy_hash: str
    trial_path: str | None
    excess_t: float | None


@atomic
def dataset_trials(conn: psycopg.Connection[Any], symbol: str, timeframe: str, before: int) -> list[Trial]:
    """Strategies saved on symbol/timeframe by cycles before `before`, oldest first."""
    params = {"symbol": symbol, "timeframe": timeframe, "before": before}
    return [Trial.model_validate(r) for r in _sql.all(conn, "dataset_trials", params)]


@atomic
def trial_sharpes(conn: psycopg.Connection[Any]) -> list[float]:
    """The recorded research Sharpe (annualised) of every trial that reached a backtest."""
    return [float(r["sharpe"]) for r in _sql.all(conn, "trial_sharpes")]


def research_memory(conn: psycopg.Connection[Any], cycle_id: int, limit: int) -> list[MemoryRow]:
    """The last `limit` finished cycles other than this one, newest first."""
    from agentctl.store.records import MemoryRow

    if limit <= 0:
        return []
    with conn.transaction():
        rows = _sql.all(conn, "research_memory", {"cycle_id": cycle_id, "limit": limit})
    return [MemoryRow.model_validate(r) for r in rows]


@atomic
def cycles_on_dataset(conn: psycopg.Connection[Any], symbol: str, timeframe: str) -> int:
    """How many cycles' strategies used this dataset."""
    return int(_sql.one(conn, "cycles_on_dataset", {"symbol": symbol, "timeframe": timeframe})["n"])


@atomic
def without_research_result(conn: psycopg.Connection[Any]) -> int:
    """Finished cycles that saved no strategy or were cancelled (outages, killed ticks)."""
    return int(_sql.one(conn, "without_research_result")["n"])


@atomic
def hash_tried_by(conn: psycopg.Connection[Any], strategy_hash: str, cycle_id: int) -> dict[str, Any] | None:
    """Which other cycle already tried a strategy with this content hash (id, name, outcome)."""
    return _sql.maybe(conn, "hash_tried_by", {"hash": strategy_hash, "cycle_id": cycle_id})


def researched_into_holdout(
    conn: psycopg.Connection[Any], symbol: str, timeframe: str, start: datetime
) -> tuple[int, datetime] | None:
    """The first cycle (id, its holdout start) that researched bars of this dataset from `start` on, if any."""
    row = _sql.maybe(conn, "researched_into_holdout", {"symbol": symbol, "timeframe": timeframe, "start": start})
    return None if row is None else (int(row["id"]), row["holdout_start"])


# -- moving a cycle ----------------------------------------------------------------------------


@atomic
def create(conn: psycopg.Connection[Any]) -> CycleState:
    """A new cycle, designing."""
    return CycleState.model_validate(_sql.one(conn, "create_cycle"))


@atomic
def record_strategy(
    conn: psycopg.Connection[Any], cycle_id: int, *, name: str, config: dict, path: str, strategy_hash: str
) -> bool:
    """Store the saved strategy on a cycle still designing; False if it moved on."""
    params = {"id": cycle_id, "name": name, "config": _json(config), "path": path, "hash": strategy_hash}
    return _sql.maybe(conn, "record_strategy", params) is not None


@atomic
def record_assessment(conn: psycopg.Connection[Any], cycle_id: int, assessment: dict) -> bool:
    """Store the assessment on a cycle still assessing; False if it moved on. The one place it is written."""
    return _sql.maybe(conn, "record_assessment", {"id": cycle_id, "assessment": _json(assessment)}) is not None


@atomic
def start_training(conn: psycopg.Connection[Any], cycle_id: int, operation_id: str) -> None:
    """designing -> training."""
    row = _sql.maybe(conn, "start_training", {"id": cycle_id, "operation_id": operation_id})
    _moved(row, f"cycle {cycle_id} left 'designing' while its strategy was being saved")


@atomic
def start_backtest(
    conn: psycopg.Connection[Any], cycle_id: int, operation_id: str, training_results: TrainingRecord
) -> None:
    """training -> backtesting, keeping the training results."""
    params = {"id": cycle_id, "operation_id": operation_id, "training_results": _record(training_results)}
    row = _sql.maybe(conn, "start_backtest", params)
    _moved(row, f"cycle {cycle_id} left 'training' while its backtest was starting")


@atomic
def start_assessing(conn: psycopg.Connection[Any], cycle_id: int, backtest_results: BacktestRecord) -> None:
    """backtesting -> assessing, keeping the backtest results."""
    row = _sql.maybe(conn, "start_assessing", {"id": cycle_id, "backtest_results": _record(backtest_results)})
    _moved(row, f"cycle {cycle_id} left 'backtesting' before its assessment")


@atomic
def start_holdout(conn: psycopg.Connection[Any], cycle_id: int, operation_id: str) -> None:
    """assessing, assessment passed -> its one test on the sealed final holdout (phase stays assessing)."""
    row = _sql.maybe(conn, "start_holdout", {"id": cycle_id, "operation_id": operation_id})
    _moved(row, f"cycle {cycle_id} left 'assessing' (or already started its final holdout test)")


def record_results(
    conn: psycopg.Connection[Any], cycle_id: int, phase: Phase, kept: TrainingRecord | BacktestRecord | HoldoutRecord
) -> None:
    """Results a cycle keeps when it ends (a failing gate's explain the failure)."""
    from agentctl.store.records import BacktestRecord, HoldoutRecord, TrainingRecord

    columns = {
        TrainingRecord: "training_results",
        BacktestRecord: "backtest_results",
        HoldoutRecord: "final_holdout_results",
    }
    params = {"id": cycle_id, "phase": phase.value} | {column: None for column in columns.values()}
    params[columns[type(kept)]] = _record(kept)
    _sql.run(conn, "record_results", params)


@atomic
def complete(
    conn: psycopg.Connection[Any],
    cycle_id: int,
    phase: Phase,
    outcome: Outcome,
    failure_reason: str | None,
    blame: Blame | None = None,
) -> Cycle:
    """Any phase -> idle with its outcome (and, for a failure, whose doing it was)."""
    from agentctl.store.records import Cycle

    reason = storable.text(failure_reason)
    params = {"id": cycle_id, "phase": phase.value, "outcome": outcome.value, "failure_reason": reason}
    params["failure_blame"] = None if blame is None else blame.value
    row = _sql.maybe(conn, "complete_cycle", params)
    return Cycle.model_validate(_moved(row, f"cycle {cycle_id} left {phase.value!r} while it was being completed"))


# -- what a cycle cost and came to ---------------------------------------------------------


class CycleCosts(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built when a cycle ends, not on every tick

    tokens_input: int
    tokens_output: int
    cost_usd: Decimal


@atomic
def costs(conn: psycopg.Connection[Any], cycle_id: int) -> CycleCosts:
    """Tokens and dollars of every action of the cycle."""
    return CycleCosts.model_validate(_sql.one(conn, "cycle_costs", {"id": cycle_id}))


def insert_metrics(conn: psycopg.Connection[Any], metrics: Metrics) -> None:
    _sql.run(conn, "insert_metrics", metrics.model_dump() | {"outcome": metrics.outcome and metrics.outcome.value})


# -- triggers ----------------------------------------------------------------------------------


def insert_trigger(
    conn: psycopg.Connection[Any],
    *,
    reason: str,
    cycle_id: int | None,
    context: dict[str, Any],
    agent_invoked: bool,
    skip_reason: str | None,
    used: Decimal,
    remaining: Decimal,
) -> None:
    """One agent_triggers row: why this tick did what it did."""
    params = {"reason": reason, "session_id": cycle_id, "context": _json(context), "agent_invoked": agent_invoked}
    params |= {"skip_reason": skip_reason, "used": used, "remaining": remaining}
    _sql.run(conn, "insert_trigger", params)


def baseline_seed(conn: psycopg.Connection[Any], settings: Settings) -> int:
    """The offline baseline's seed: AGENTCTL_BASELINE_SEED when given, else this installation's own."""
    if "baseline_seed" in settings.model_fields_set:
        return settings.baseline_seed
    with conn.transaction():
        row = _sql.maybe(conn, "installation_seed")
    return int(row["baseline_seed"]) if row else settings.baseline_seed
