"""`agentctl integrity`: what was tried, on which data, how often it passed, and what luck alone would give."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from agentctl import fmt
from agentctl.cli import render as r
from agentctl.cli.common import JSON_HELP, report_db
from agentctl.cli.errors import handle_errors

if TYPE_CHECKING:
    from agentctl.reports.integrity import DatasetIntegrity, IntegrityReport, PBOFigure, Tally

TALLY_HEADERS = ["tried", "training gate", "backtest gate", "assessed", "on holdout", "confirmed", "by chance"]


@handle_errors
def integrity(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Per dataset and designer: strategies tried, gate passes, confirmations, those expected by chance, PBO, cost."""
    from agentctl.reports import common, integrity

    with report_db() as (settings, conn):
        rep = integrity.integrity(conn, settings)
    if as_json:
        return r.print_json(rep)
    r.echo(r.bold(rep.summary))
    if not rep.by_dataset and not rep.by_designer:
        r.echo(common.NO_CYCLES_HINT)
        return
    _datasets(rep)
    _designers(rep)


def _tally(t: Tally) -> list[object]:
    return [
        t.trials,
        t.training_passed,
        t.backtest_passed,
        t.assessments_passed,
        t.holdout_tested,
        t.confirmations,
        fmt.ratio(t.expected_by_chance),
    ]


def _pbo(p: PBOFigure) -> str:
    return "-" if p.pbo is None else fmt.ratio(p.pbo)


# The per-dataset figures beside the funnel: one (header, cell) entry per column, so a new
# figure (e.g. the Sharpe a dataset's holdout needs to confirm) is one more entry.
DATASET_FIGURES: list[tuple[str, Callable[[DatasetIntegrity], str]]] = [
    ("PBO", lambda d: _pbo(d.pbo)),
    ("strategies in PBO", lambda d: fmt.count(d.pbo.trials)),
    ("holdout years", lambda d: "-" if d.power is None else fmt.number(d.power.holdout_years)),
    ("Sharpe for 50%/80%", lambda d: "-" if d.power is None else d.power.words()),
]


def _datasets(rep: IntegrityReport) -> None:
    if not rep.by_dataset:
        return
    r.echo(
        r.bold("by dataset:") + f" confirmed = passed the sealed final holdout; by chance = strategies on the "
        f"holdout x alpha {fmt.number(rep.confirm_alpha)}"
    )
    rows = [[d.dataset, *_tally(d)] for d in rep.by_dataset]
    rows.append(["all datasets", *_tally(rep.overall)])
    r.table(["dataset", *TALLY_HEADERS], rows, right=tuple(range(1, 1 + len(TALLY_HEADERS))))
    r.echo(
        r.bold("overfitting and power by dataset:")
        + " PBO = probability the best in-sample strategy is below median out of sample;"
        + " Sharpe for 50%/80% = the excess Sharpe a strategy needs for that chance of confirmation"
        + " on the holdout (* = cannot confirm Sharpe 2 at 80%)"
    )
    r.table(
        ["dataset", *(h for h, _ in DATASET_FIGURES)],
        [[d.dataset, *(cell(d) for _, cell in DATASET_FIGURES)] for d in rep.by_dataset],
        right=tuple(range(1, 1 + len(DATASET_FIGURES))),
    )
    for d in rep.by_dataset:
        if d.pbo.pbo is None or d.pbo.note:
            r.echo(f"  PBO {d.dataset}: {d.pbo.note or 'not computed'}")
    r.echo(f"  {rep.overall.pbo_note}")


def _designers(rep: IntegrityReport) -> None:
    if not rep.by_designer:
        return
    r.echo(r.bold("by designer:") + " cost = every cycle it designed, failed ones included")
    # One cell per column, in its order: each table's row is its own (the trigger table's too).
    r.table(
        ["designer", "cycles", "tried", "confirmed", "cost", "per confirmed"],
        [
            [
                d.designer,
                d.cycles,
                d.trials,
                d.confirmations,
                fmt.money(d.cost_usd),
                fmt.money(d.cost_per_confirmation_usd),
            ]
            for d in rep.by_designer
        ],
        right=(1, 2, 3, 4, 5),
    )
