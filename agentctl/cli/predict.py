"""`agentctl predict ID PATH`: the position a strategy's model takes on the last bar of your data (reports/predict.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from agentctl.cli import render as r
from agentctl.cli.common import JSON_HELP, report_db
from agentctl.cli.errors import fail, handle_errors, no_such_cycle
from agentctl.domain import ExitCode


@handle_errors
def predict(
    cycle_id: int = typer.Argument(..., metavar="ID", min=1, help="The cycle id."),
    path: Path = typer.Argument(
        ..., metavar="PATH", help="Up-to-date CSV (optionally .gz) or Parquet bars, as `agentctl data import` takes."
    ),
    allow_gaps: bool = typer.Option(False, "--allow-gaps", help="Accept gaps longer than market closures explain."),
    force: bool = typer.Option(
        False, "--force", help="Predict even on bars of another bar size or price scale than the strategy's."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The position (long, short or flat) the strategy's model takes on the last bar of PATH, with its probabilities.

    PATH must hold the strategy's own market at its bar size: other bars are refused (--force overrides).
    """
    from agentctl.lab.data import DatasetError, DatasetUsageError
    from agentctl.lab.features import LabError
    from agentctl.reports.predict import UnfitBars
    from agentctl.reports.predict import predict as decide
    from agentctl.reports.replay import ReplayError

    with report_db() as (settings, conn):
        try:
            p = decide(conn, settings, cycle_id, path, allow_gaps, force)
        except DatasetUsageError as err:
            fail(str(err), ExitCode.USAGE)
        except (DatasetError, ReplayError, LabError, UnfitBars) as err:
            fail(str(err), ExitCode.NEEDS_PERSON)
    if p is None:
        no_such_cycle(cycle_id)
    for problem in p.forced:
        typer.echo(f"agentctl: warning: --force: {problem}", err=True)
    if as_json:
        return r.print_json(p)
    probs = ", ".join(f"P({k}) {v:.4f}" for k, v in p.probabilities.items())
    r.echo(f"cycle {p.cycle}: {p.strategy} ({p.dataset}) on {p.file}, {p.bars} bars")
    r.echo(
        r.bold(f"position: {p.position}") + f" from the bar after {p.last_bar:%Y-%m-%d %H:%M} (decided at its close)"
    )
    r.echo(f"  {probs}; rule: {p.rule}")
    r.echo(f"  model: {p.model.why}")
    if p.note:
        r.echo(r.warn(p.note))
