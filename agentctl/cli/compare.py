"""`agentctl compare ID ID ...`: two to six strategies side by side (reports/compare.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from agentctl import fmt
from agentctl.cli import render as r
from agentctl.cli.common import JSON_HELP, report_db
from agentctl.cli.errors import fail, handle_errors
from agentctl.domain import ExitCode

if TYPE_CHECKING:
    from agentctl.gates import GateVerdict
    from agentctl.reports.compare import Comparison, Difference, Side


@handle_errors
def compare(
    cycle_ids: list[int] = typer.Argument(..., metavar="ID ID ...", help="Two to six cycle ids."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Strategies side by side: config differences, research figures, gates, assessment, outcome, final holdout (once the assessment passed)."""
    from agentctl.reports.compare import CompareError
    from agentctl.reports.compare import compare as build

    with report_db() as (_, conn):
        try:
            cmp = build(conn, cycle_ids)
        except CompareError as err:
            # A cycle id naming no cycle is bad input (1); a wrong count or a repeat is bad usage (2).
            fail(str(err), ExitCode.NEEDS_PERSON if str(err).startswith("no cycle") else ExitCode.USAGE)
    if as_json:
        return r.print_json(cmp)
    _render(cmp)


def _gate(g: GateVerdict | None) -> str:
    return "-" if g is None else "passed" if g.passed else "FAILED"


def _holdout(s: Side) -> list[str]:
    res = s.holdout.results
    if res is None:
        state = {"sealed": "sealed", "not_tested": "not tested"}.get(s.holdout.state, s.holdout.state)
        return [state, state, state]
    return [fmt.ratio(res.get("sharpe")), fmt.pct(res.get("total_return")), _gate(s.holdout.gate)]


def _rows(cmp: Comparison) -> list[list[object]]:
    sides = cmp.cycles
    rows: list[list[object]] = [["strategy", *[r.name(s.strategy) for s in sides]]]
    rows += [[d.key, *d.values] for d in cmp.differences if _short(d)]
    figures = [
        ("sharpe", lambda s: fmt.ratio(s.research.sharpe)),
        ("deflated sharpe", lambda s: fmt.ratio(s.research.deflated_sharpe)),
        ("return", lambda s: fmt.pct(s.research.total_return)),
        ("buy and hold", lambda s: fmt.pct(s.research.buy_and_hold_return)),
        ("max drawdown", lambda s: fmt.pct(s.research.max_drawdown)),
        ("trades", lambda s: s.research.trades),
        (
            "folds profitable",
            lambda s: f"{s.research.folds_profitable}/{s.research.folds}" if s.research.folds else "-",
        ),
        ("training gate", lambda s: _gate(s.gates.get("training"))),
        ("backtest gate", lambda s: _gate(s.gates.get("backtest"))),
        (
            "assessment",
            lambda s: "-" if s.assessment_passed is None else "passed" if s.assessment_passed else "not passed",
        ),
        ("outcome", lambda s: s.outcome or f"active ({s.phase})"),
    ]
    rows += [[name, *[fn(s) for s in sides]] for name, fn in figures]
    holdouts = [_holdout(s) for s in sides]
    for k, name in enumerate(("holdout sharpe", "holdout return", "holdout gate")):
        rows.append([name, *[h[k] for h in holdouts]])
    return rows


SIDE_BY_SIDE = 16  # a difference whose every value is this short stays in the table


def _short(d: Difference) -> bool:
    return all(len(v or "-") <= SIDE_BY_SIDE for v in d.values)


def _render(cmp: Comparison) -> None:
    from agentctl.reports.gate_words import plain_reasons

    C = r.Col
    # The names of the rows stay whole; the cycles' cells give way on a narrow terminal.
    cols = [C(""), *[C(f"cycle {s.id}", max_width=24) for s in cmp.cycles]]
    r.table(cols, _rows(cmp))
    # A difference too long for a column (a feature list) is listed in full, one cycle a line.
    for d in cmp.differences:
        if not _short(d):
            r.echo(r.bold(f"{d.key}:"))
            for s, value in zip(cmp.cycles, d.values, strict=True):
                r.echo(f"  cycle {s.id}: {value or '-'}")
    if cmp.same:
        r.echo(f"same in every cycle: {', '.join(cmp.same)}")
    # Each failed gate's reasons once, under the table.
    for s in cmp.cycles:
        for g in (*s.gates.values(), s.holdout.gate):
            if g is not None and not g.passed:
                r.echo(f"cycle {s.id} {g.gate} gate: {plain_reasons(g)}")
