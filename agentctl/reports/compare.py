"""`agentctl compare ID ID ...`: strategies side by side.

Only what differs in their configs (dataset, features, label, model, trading rules,
fees) is shown; then the research figures, the gates, the assessment and the outcome.
A cycle's final holdout figures appear only when its assessment passed (reports/research.py
`holdout`); any other cycle's stay sealed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentctl.gates import GateVerdict
from agentctl.reports.common import num
from agentctl.reports.research import Holdout, holdout
from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.store.records import Cycle

MIN_CYCLES, MAX_CYCLES = 2, 6


class CompareError(ValueError):
    """The cycles asked for cannot be compared (too few, too many, repeated or unknown)."""


class ResearchFigures(BaseModel):
    sharpe: float | None
    deflated_sharpe: float | None
    total_return: float | None
    buy_and_hold_return: float | None
    max_drawdown: float | None
    trades: int | None
    folds_profitable: int | None
    folds: int | None


class Side(BaseModel):
    id: int
    strategy: str | None
    dataset: str | None
    phase: str
    outcome: str | None
    research: ResearchFigures
    gates: dict[str, GateVerdict | None]  # training, backtest
    assessment_passed: bool | None
    verdict: str | None
    holdout: Holdout  # figures only when the assessment passed, else sealed


class Difference(BaseModel):
    key: str  # e.g. model.family, trading.fee_bps, features
    values: list[str | None]  # one per cycle, in the order asked


class Comparison(BaseModel):
    ids: list[int]
    differences: list[Difference]
    same: list[str]  # config keys equal in every cycle
    cycles: list[Side]


def _text(v: Any) -> str:
    """A config value as a person writes it (37, not 37.0; yes, not True)."""
    from agentctl import fmt

    return fmt.text(v)


def _feature(f: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={_text(v)}" for k, v in (f.get("params") or {}).items())
    return f"{f.get('function')}({params})"


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in sorted(value.items()):
            _flatten(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = _text(value)


def flat_config(config: dict[str, Any] | None) -> dict[str, str]:
    """A strategy config as comparable key -> text: dataset, features, then label, model and trading rules."""
    cfg = config or {}
    out: dict[str, str] = {}
    ds = cfg.get("dataset") or {}
    if ds:
        out["dataset"] = f"{ds.get('symbol')}/{ds.get('timeframe')}"
    if cfg.get("features"):
        out["features"] = ", ".join(sorted(_feature(f) for f in cfg["features"]))
    for section in ("label", "model", "trading"):
        if section in cfg:
            _flatten(section, cfg[section], out)
    return out


def _side(c: Cycle) -> Side:
    bt, tr, a = c.backtest_results, c.training_results, c.assessment
    ds = (c.strategy_config or {}).get("dataset") or {}
    return Side(
        id=c.id,
        strategy=c.strategy_name,
        dataset=f"{ds.get('symbol')}/{ds.get('timeframe')}" if ds else None,
        phase=c.phase.value,
        outcome=c.outcome.value if c.outcome else None,
        research=ResearchFigures(
            sharpe=num(bt.sharpe) if bt else None,
            deflated_sharpe=num(bt.deflated_sharpe) if bt else None,
            total_return=num(bt.total_return, 6) if bt else None,
            buy_and_hold_return=num(bt.buy_and_hold_return, 6) if bt else None,
            max_drawdown=num(bt.max_drawdown, 6) if bt else None,
            trades=bt.total_trades if bt else None,
            folds_profitable=bt.folds_profitable if bt else None,
            folds=bt.folds if bt else None,
        ),
        gates={"training": tr.gate if tr else None, "backtest": bt.gate if bt else None},
        assessment_passed=a.passed if a else None,
        verdict=a.verdict if a else None,
        holdout=holdout(c),
    )


def compare(conn: psycopg.Connection[Any], ids: list[int]) -> Comparison:
    """The cycles `ids` side by side; CompareError when they cannot be compared."""
    if not MIN_CYCLES <= len(ids) <= MAX_CYCLES:
        raise CompareError(f"compare takes {MIN_CYCLES} to {MAX_CYCLES} cycles, got {len(ids)}")
    if len(set(ids)) != len(ids):
        raise CompareError("a cycle is named twice: name each once")
    found = [store.cycle(conn, i) for i in ids]
    missing = [i for i, c in zip(ids, found, strict=True) if c is None]
    if missing:
        raise CompareError(f"no cycle {missing[0]}: see `agentctl cycles --recent`")
    cycles = [c for c in found if c is not None]
    flats = [flat_config(c.strategy_config) for c in cycles]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    differences = [
        Difference(key=k, values=[f.get(k) for f in flats]) for k in keys if len({f.get(k) for f in flats}) > 1
    ]
    return Comparison(
        ids=ids,
        differences=differences,
        same=[k for k in keys if len({f.get(k) for f in flats}) == 1],
        cycles=[_side(c) for c in cycles],
    )
