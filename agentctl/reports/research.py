"""What `agentctl show` adds for a sceptical reader: walk-forward figures, the deflated Sharpe then and now, the holdout.

The deflated Sharpe a backtest stored was computed against the strategies tried
when it ran; every strategy tried since raises the bar the best of them would clear
by luck, so the report recomputes it with today's count (the same count: strategies
saved on every dataset). The sealed final
holdout's figures are shown only for a cycle whose assessment passed: for any other
they were never meant to be looked at, and the report says so rather than showing them.

Every stored field is read leniently: a row written before these figures existed
shows what it has and None for the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from agentctl.gates import GateVerdict
from agentctl.reports.common import num
from agentctl.store.records import BacktestRecord, TrainingRecord

if TYPE_CHECKING:
    import psycopg

    from agentctl.store.records import Cycle

SEALED = "final holdout: sealed (the assessment did not pass)"
NOT_TESTED = "final holdout: not tested yet"


class Fold(BaseModel):
    """One walk-forward fold, out of sample: its bars were predicted by a model fitted only on earlier bars."""

    fold: int  # 1 is the earliest
    sharpe: float | None  # annualized
    total_return: float | None
    accuracy: float | None
    constant_accuracy: float | None  # the fold's best constant guess (its training majority class)


class WalkForward(BaseModel):
    folds: list[Fold]
    folds_profitable: int | None
    accuracy: float | None  # out of fold, over every scored research bar
    constant_accuracy: float | None  # the best constant guess's accuracy on the same bars
    binomial_p: float | None  # one-sided: accuracy no better than the best constant guess
    effective_bars: int | None  # the binomial test's trials: out-of-fold bars / label horizon


class DeflatedAt(BaseModel):
    """The deflated Sharpe against `n_trials` strategies tried on the dataset."""

    n_trials: int | None
    sr0: float | None  # per bar: the best of n_trials unskilled strategies' expected Sharpe
    deflated_sharpe: float | None


class Deflated(BaseModel):
    sr: float | None  # per bar (not annualised)
    t: int | None  # returns it was estimated on
    skew: float | None
    kurtosis: float | None  # not excess: normal = 3
    var_trials: float | None
    variance_source: str | None
    at_test: DeflatedAt
    now: DeflatedAt | None  # None when the stored figures cannot be recomputed (a row from before they were stored)


class Holdout(BaseModel):
    state: Literal["shown", "sealed", "not_tested"]
    line: str  # what `show` prints when the figures are not shown
    gate: GateVerdict | None  # only when shown
    results: dict[str, Any] | None  # the stored figures without the equity curve, only when shown
    # How many strategies were tested on this dataset's holdout so far, this one included, and confirmed.
    tested_on_dataset: int | None = None
    confirmed_on_dataset: int | None = None


class Research(BaseModel):
    walk_forward: WalkForward | None
    deflated: Deflated | None
    holdout: Holdout


def _nth(values: list[float], i: int) -> float | None:
    return num(values[i]) if i < len(values) else None


def walk_forward(training: TrainingRecord | None, backtest: BacktestRecord | None) -> WalkForward | None:
    """The walk-forward figures the training and the research backtest stored; None when there are none."""
    tr = training or TrainingRecord.model_validate({})
    bt = backtest or BacktestRecord.model_validate({})
    acc = bt.fold_accuracy or tr.fold_accuracy
    n = max(len(bt.fold_sharpe), len(bt.fold_return), len(acc), len(tr.fold_constant_accuracy))
    folds = [
        Fold(
            fold=i + 1,
            sharpe=_nth(bt.fold_sharpe, i),
            total_return=_nth(bt.fold_return, i),
            accuracy=_nth(acc, i),
            constant_accuracy=_nth(tr.fold_constant_accuracy, i),
        )
        for i in range(n)
    ]
    # A row from before walk-forward evaluation has an accuracy and a majority baseline, no folds and no test.
    if n == 0 and bt.folds_profitable is None and tr.accuracy_p_value is None:
        return None
    return WalkForward(
        folds=folds,
        folds_profitable=bt.folds_profitable,
        accuracy=num(tr.accuracy),
        constant_accuracy=num(tr.constant_accuracy),
        binomial_p=num(tr.accuracy_p_value, 6),
        effective_bars=tr.effective_bars,
    )


def deflated(conn: psycopg.Connection[Any], cycle: Cycle) -> Deflated | None:
    """The deflated Sharpe as stored at the test, and recomputed with the strategies tried today."""
    bt = cycle.backtest_results
    if bt is None:
        return None
    d = Deflated(
        sr=num(bt.sr, 6),
        t=bt.t,
        skew=num(bt.skew),
        kurtosis=num(bt.kurtosis),
        var_trials=num(bt.var_trials, 8),
        variance_source=bt.variance_source,
        at_test=DeflatedAt(n_trials=bt.n_trials, sr0=num(bt.sr0, 6), deflated_sharpe=num(bt.deflated_sharpe)),
        now=None,
    )
    if bt.sr is None or bt.t is None or bt.skew is None or bt.kurtosis is None or bt.var_trials is None:
        return d  # stored before the deflated Sharpe kept its inputs: nothing to recompute from
    from agentctl.lab import stats
    from agentctl.store import cycles

    n_now = cycles.strategies_tried(conn)  # counted as the backtest counted n_trials: every dataset
    sr0 = stats.expected_max_sharpe(n_now, bt.var_trials)
    dsr = stats.probabilistic_sharpe(bt.sr, sr0, bt.t, bt.skew, bt.kurtosis)
    d.now = DeflatedAt(n_trials=n_now, sr0=num(sr0, 6), deflated_sharpe=num(dsr))
    return d


def holdout(cycle: Cycle) -> Holdout:
    """The final holdout's figures, only when the assessment passed; otherwise why they stay sealed."""
    if not (cycle.assessment is not None and cycle.assessment.passed):
        return Holdout(state="sealed", line=SEALED, gate=None, results=None)
    record = cycle.final_holdout_results
    if record is None:
        return Holdout(state="not_tested", line=NOT_TESTED, gate=None, results=None)
    results = record.model_dump(mode="json", exclude_unset=True, exclude={"equity_curve", "gate"})
    return Holdout(state="shown", line="", gate=record.gate, results=results)


def holdout_tests(conn: psycopg.Connection[Any], cycle: Cycle) -> tuple[int, int]:
    """(strategies tested on the cycle's dataset's sealed holdout, of them confirmed), every cycle so far."""
    from agentctl.store import reports as store

    ds = (cycle.strategy_config or {}).get("dataset") or {}
    here = (ds.get("symbol"), ds.get("timeframe"))
    tally = next((d for d in store.integrity_datasets(conn) if (d.symbol, d.timeframe) == here), None)
    return (tally.holdout_tested, tally.confirmations) if tally else (0, 0)


def tested_line(dataset: str | None, tested: int, confirmed: int) -> str:
    """How often the dataset's holdout was used: each test is one more chance of a confirmation by luck."""
    return (
        f"holdout tests on {dataset or 'this dataset'} so far: {tested}, {confirmed} confirmed "
        "(what chance explains: agentctl integrity)"
    )


def research(conn: psycopg.Connection[Any], cycle: Cycle) -> Research:
    """A cycle's research figures for `show`; a shown holdout says how many were tested on it."""
    shown = holdout(cycle)
    if shown.state == "shown":
        shown.tested_on_dataset, shown.confirmed_on_dataset = holdout_tests(conn, cycle)
    return Research(
        walk_forward=walk_forward(cycle.training_results, cycle.backtest_results),
        deflated=deflated(conn, cycle),
        holdout=shown,
    )
