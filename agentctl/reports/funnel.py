"""`agentctl summary`: a day's (or a period's) funnel, why cycles stopped, the nearest misses and what to try.

Cycles started -> passed training -> passed the backtest gate -> passed assessment ->
tested on the final holdout -> confirmed. Each stage says the most common reason the
cycles that stopped there stopped. The nearest misses are read from what each failed
gate stored: its figures (whatever the gate decides on) and its reasons, not from a copy
of the gates' rules, so a gate that changes its statistics changes this report with it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.domain import Money
from agentctl.lab.universe import universe_of
from agentctl.reports.gate_words import GATE_WORDS, METRIC_WORDS
from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings
    from agentctl.store.reports import FunnelCycle

# The figures each gate is decided on, best first by the sign: -1 when lower is better (a p-value).
# A figure the stored result does not carry is skipped, so renamed or new statistics only drop out.
DECIDING = {
    "training": (("excess_p_value", -1), ("accuracy_p_value", -1), ("accuracy", 1)),
    "backtest": (("snooping_p_value", -1), ("deflated_sharpe", 1), ("sharpe", 1)),
    "holdout": (("excess_p_value", -1), ("sharpe_p_value", -1), ("sharpe", 1)),
}


class FunnelStage(BaseModel):
    name: str
    cycles: int  # reached this stage
    stopped: int  # reached the previous stage but not this one
    top_reason: str | None  # the most common reason among those that stopped
    top_reason_cycles: int


class NearMiss(BaseModel):
    gate: str  # training | backtest | holdout
    figure: str  # the stored figure's name, e.g. accuracy_p_value
    value: float
    cycle: int
    strategy: str | None
    reasons: list[str]  # the gate's failing reasons for that cycle, as stored


class Summary(BaseModel):
    since: date
    cycles: int
    active: int
    stages: list[FunnelStage]
    nearest_misses: list[NearMiss]
    spend_usd: Money
    model_calls: int
    confirmed: int
    cost_per_confirmed_usd: Money | None
    advice: list[str]


def _passed(gate: dict[str, Any] | None) -> bool:
    return bool(gate and gate.get("passed"))


def _failing(gate: dict[str, Any] | None) -> list[str]:
    """A failed gate's reasons that failed (a gate also lists the checks it passed)."""
    if not gate or gate.get("passed"):
        return []
    reasons = [str(r) for r in gate.get("reasons") or []]
    return [r for r in reasons if "(passes)" not in r] or reasons


def reason_key(reason: str) -> str:
    """What a gate reason says, without its figures.

    `accuracy 0.512 vs best constant guess 0.534: above it, but not significantly (p = 0.07, ...)`
    -> `accuracy: above it, but not significantly`; `total_trades 6: needs at least 10` -> `trades`.
    """
    head, _, tail = reason.partition(":")
    # The metric is the head up to its first figure: `total_trades 6`, `out-of-fold excess return (Sharpe 0.4)`.
    metric = re.split(r"[(\d]", head, maxsplit=1)[0].strip() if head else reason
    words = METRIC_WORDS.get(metric, metric.replace("_", " "))
    tail = re.sub(r"\b[tp] = -?[\d.e+-]+,?\s*", "", tail)  # a test's own statistics are figures too
    said = re.split(r"[(\d]", tail, maxsplit=1)[0].strip(" ,;")
    if not said or said.startswith(("needs", "at least", "at most", "missing")):
        return words
    return f"{words}: {said}"


OUTCOME_WORDS = {
    "failed_design": "no strategy designed",
    "failed_training": "training did not complete",
    "failed_backtest": "backtest did not complete",
    "failed_assessment": "the assessor did not pass it",
    "cancelled": "cancelled",
    "success": "succeeded before the final holdout existed",
    None: "still running",
}

# (stage name, reached?, the gate whose failure stops a cycle before it)
STAGES: list[tuple[str, Callable[[FunnelCycle], bool], str | None]] = [
    ("started", lambda c: True, None),
    ("passed training", lambda c: _passed(c.training_gate), "training"),
    ("passed backtest gate", lambda c: _passed(c.backtest_gate), "backtest"),
    ("passed assessment", lambda c: bool(c.assessment_passed), None),
    ("holdout tested", lambda c: c.holdout_tested, None),
    ("confirmed", lambda c: c.outcome == "success", "holdout"),
]


def _why(c: FunnelCycle, gate: str | None) -> str:
    failing = _failing(getattr(c, f"{gate}_gate")) if gate else []
    if failing:
        return f"{GATE_WORDS.get(gate or '', gate)} gate: {reason_key(failing[0])}"
    return OUTCOME_WORDS.get(c.outcome, (c.outcome or "").replace("_", " "))


def _stages(rows: list[FunnelCycle]) -> list[FunnelStage]:
    out: list[FunnelStage] = []
    alive = rows
    for name, reached, gate in STAGES:
        now = [c for c in alive if reached(c)]
        why = Counter(_why(c, gate) for c in alive if not reached(c))
        top = why.most_common(1)[0] if why else (None, 0)
        out.append(
            FunnelStage(
                name=name, cycles=len(now), stopped=len(alive) - len(now), top_reason=top[0], top_reason_cycles=top[1]
            )
        )
        alive = now
    return out


def _nearest(rows: list[FunnelCycle]) -> list[NearMiss]:
    """Per gate, among the cycles it failed, the best value of the first deciding figure they all carry."""
    misses = []
    for gate, figures in DECIDING.items():
        failed = [c for c in rows if getattr(c, f"{gate}_gate") and not _passed(getattr(c, f"{gate}_gate"))]
        for figure, sign in figures:
            have = [
                (float(v), c)
                for c in failed
                if isinstance(v := (getattr(c, f"{gate}_figures") or {}).get(figure), int | float)
            ]
            if have:
                value, best = max(have, key=lambda vc: sign * vc[0])
                misses.append(
                    NearMiss(
                        gate=gate,
                        figure=figure,
                        value=value,
                        cycle=best.id,
                        strategy=best.strategy_name,
                        reasons=_failing(getattr(best, f"{gate}_gate")),
                    )
                )
                break
    return misses


def _confirmable(settings: Settings) -> list[tuple[str, float]]:
    """The excess Sharpe each dataset of the universe needs for an 80% chance of confirmation on its holdout."""
    from agentctl.lab.data import list_datasets
    from agentctl.lab.periods import confirmability

    universe = universe_of(settings)
    return [
        (f"{d.symbol}/{d.timeframe}", confirmability(d, settings.gates.confirm_alpha).sharpe_for_80)
        for d in list_datasets(settings.home)
        if universe is None or (d.symbol, d.timeframe) in universe
    ]


def _advice(stages: list[FunnelStage], misses: list[NearMiss], active: int, settings: Settings) -> list[str]:
    """What to try, from where the cycles stopped; each line only when the figures say so."""
    tips = []
    ended = stages[0].cycles - active
    worst = max(stages[1:], key=lambda s: s.stopped)
    if ended > 0 and worst.stopped and worst.top_reason:
        share = "every cycle" if worst.stopped >= ended else f"{worst.stopped} of {ended} cycles"
        tips.append(f"{share} stopped before '{worst.name}', most often: {worst.top_reason}")
    if any(m.gate == "training" for m in misses) and stages[1].cycles == 0 and ended > 0:
        tips.append(
            "no strategy's out-of-fold trades beat their market exposure significantly: try another "
            "feature family, a longer label horizon or a daily timeframe"
        )
    needed = _confirmable(settings)
    if needed:
        floor = min(v for _, v in needed)
        tips.append(f"no dataset in your universe can confirm (80% chance) below Sharpe {floor:.1f}")
    return tips


def summary(conn: psycopg.Connection[Any], settings: Settings, since: date | None = None) -> Summary:
    """The funnel of the cycles started on or after `since` (today, the budget day, by default)."""
    day = since or store.clock(conn).today
    rows = store.funnel_cycles(conn, day)
    spend = store.funnel_spend(conn, day)
    stages = _stages(rows)
    misses = _nearest(rows)
    confirmed = stages[-1].cycles
    active = sum(1 for c in rows if c.outcome is None)
    return Summary(
        since=day,
        cycles=len(rows),
        active=active,
        stages=stages,
        nearest_misses=misses,
        spend_usd=spend.spend_usd,
        model_calls=spend.calls,
        confirmed=confirmed,
        cost_per_confirmed_usd=spend.spend_usd / confirmed if confirmed else None,
        advice=_advice(stages, misses, active, settings),
    )
