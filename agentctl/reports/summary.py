"""The summary.md of an export: what was tried, how often, on which data, and what it came to.

How often matters as much as what: a strategy is one of every strategy tried (the
deflated Sharpe's trial count), and a reader weighs its figures by that count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentctl import fmt
from agentctl.reports.gate_words import plain_reason
from agentctl.reports.research import holdout, holdout_tests, tested_line
from agentctl.store import reports as store

if TYPE_CHECKING:
    import psycopg

    from agentctl.gates import GateVerdict
    from agentctl.lab.strategy import StrategyConfig
    from agentctl.store.records import Cycle


def tried_line(conn: psycopg.Connection[Any], cycle: Cycle, config: StrategyConfig) -> str:
    """How many strategies were tried: at the test (all datasets), now, and on this dataset."""
    from agentctl.store import cycles

    bt = cycle.backtest_results
    at_test = bt.n_trials if bt is not None else None
    now = cycles.strategies_tried(conn)
    ds = config.dataset
    here = next(
        (d.trials for d in store.integrity_datasets(conn) if (d.symbol, d.timeframe) == (ds.symbol, ds.timeframe)), 0
    )
    then = f"one of {at_test} strategies tried (all datasets) when its backtest ran; " if at_test else ""
    return f"{then}{now} tried now, {here} of them on {ds.symbol}/{ds.timeframe}"


def periods_line(cycle: Cycle) -> str:
    tr = cycle.training_results
    if tr is None or tr.research_start is None:
        return "not recorded (training did not complete)"
    h = cycle.final_holdout_results
    end = f" to {fmt.day(h.end)}" if holdout(cycle).state == "shown" and h and h.end else ""
    return (
        f"research {fmt.day(tr.research_start)} to {fmt.day(tr.research_end)} ({tr.research_bars} bars), "
        f"purge gap {tr.purge_bars} bars, sealed final holdout from {fmt.day(tr.holdout_start)}{end}"
    )


def _gate(name: str, g: GateVerdict | None) -> list[str]:
    if g is None:
        return []
    return [f"- {name} gate: {'passed' if g.passed else 'FAILED'}", *[f"  - {plain_reason(r)}" for r in g.reasons]]


def _strategy(config: StrategyConfig) -> list[str]:
    t, lab = config.trading, config.label
    features = ", ".join(f"{f.function}({fmt.text(f.params)})" for f in config.features)
    model = fmt.text(config.model.model_dump())
    return [
        f"- features: {features}",
        f"- label: {fmt.text(lab.classes)}, {lab.horizon} bar(s) ahead, threshold {fmt.number(lab.threshold)}",
        f"- model: {model}",
        f"- trading: {t.direction}, enter at confidence {fmt.number(t.confidence)}, fee {fmt.number(t.fee_bps)} bp and slippage "
        f"{fmt.number(t.slippage_bps)} bp per side",
    ]


def _research(cycle: Cycle) -> list[str]:
    bt = cycle.backtest_results
    lines = ["", "## Research (walk-forward, out of fold)", ""]
    if bt is None:
        return [*lines, "no research backtest"]
    folds = f"{bt.folds_profitable} of {bt.folds}" if bt.folds else "-"
    lines += [
        f"- sharpe {fmt.ratio(bt.sharpe)}, deflated sharpe {fmt.ratio(bt.deflated_sharpe)}",
        f"- return {fmt.pct(bt.total_return)} (buy and hold {fmt.pct(bt.buy_and_hold_return)}), "
        f"max drawdown {fmt.pct(bt.max_drawdown)}",
        f"- {fmt.plural(bt.total_trades, 'trade')}, win rate {fmt.pct(bt.win_rate)}, folds profitable {folds}",
    ]
    lines += _gate("training", cycle.training_results.gate if cycle.training_results else None)
    lines += _gate("backtest", bt.gate)
    a = cycle.assessment
    if a is not None:
        lines.append(f"- assessment: {'passed' if a.passed else 'not passed'}{f': {a.verdict}' if a.verdict else ''}")
    return lines


def _holdout(conn: psycopg.Connection[Any], cycle: Cycle, dataset: str) -> list[str]:
    h = holdout(cycle)
    lines = ["", "## Final holdout", ""]
    if h.results is None:
        return [*lines, h.line]
    tested, confirmed = holdout_tests(conn, cycle)
    res = h.results
    lines.append(
        f"- sharpe {fmt.ratio(res.get('sharpe'))} (p {fmt.p_value(res.get('sharpe_p_value'))}), return "
        f"{fmt.pct(res.get('total_return'))} (buy and hold {fmt.pct(res.get('buy_and_hold_return'))}), "
        f"max drawdown {fmt.pct(res.get('max_drawdown'))}, {fmt.plural(res.get('total_trades'), 'trade')}"
    )
    return [*lines, *_gate("final holdout", h.gate), f"- {tested_line(dataset, tested, confirmed)}"]


def summary_markdown(conn: psycopg.Connection[Any], cycle: Cycle, config: StrategyConfig, files: list[str]) -> str:
    """The summary.md text; `files` are the lines of its Files section, one per file written."""
    ds = config.dataset
    lines = [
        f"# {config.name} (cycle {cycle.id})",
        "",
        config.hypothesis,
        "",
        f"- dataset: {ds.symbol}/{ds.timeframe}",
        f"- periods: {periods_line(cycle)}",
        f"- tried: {tried_line(conn, cycle, config)}",
        f"- outcome: {cycle.outcome or 'still running'}",
        *_strategy(config),
        *_research(cycle),
        *_holdout(conn, cycle, f"{ds.symbol}/{ds.timeframe}"),
        "",
        "## Files",
        "",
        *files,
    ]
    return "\n".join(lines) + "\n"
