"""`agentctl export ID DIR`: one strategy's files to reproduce or deploy it (reports/export.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from agentctl.cli import render as r
from agentctl.cli.common import JSON_HELP, report_db
from agentctl.cli.errors import fail, handle_errors, no_such_cycle
from agentctl.domain import ExitCode


@handle_errors
def export(
    cycle_id: int = typer.Argument(..., metavar="ID", min=1, help="The cycle id."),
    directory: Path = typer.Argument(..., metavar="DIR", help="Where to write; must not exist or be empty."),
    force: bool = typer.Option(False, "--force", help="Write into DIR even if it is not empty (files are replaced)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Write one strategy's config, model, metrics, equity, trades and a summary into DIR."""
    from agentctl.reports.export import ExportRefused
    from agentctl.reports.export import export as write
    from agentctl.reports.replay import ReplayError

    with report_db() as (settings, conn):
        try:
            out = write(conn, settings, cycle_id, directory, force)
        except ExportRefused as err:
            fail(str(err), ExitCode.USAGE)
        except ReplayError as err:
            fail(str(err), ExitCode.NEEDS_PERSON)
        except OSError as err:
            fail(f"cannot write {directory}: {err.strerror or err}", ExitCode.NEEDS_PERSON)
    if out is None:
        no_such_cycle(cycle_id)
    if as_json:
        return r.print_json(out)
    r.echo(f"cycle {out.cycle}: {out.strategy} exported to {out.directory}")
    r.echo(f"  model: {out.model.why}")
    for e in out.equity:
        r.echo(f"  {e.file}: equity, drawdown and buy and hold, {e.holds} ({e.rows} rows)")
    for t in out.trades:
        same = "matches the stored figures" if t.matches_stored else "DIFFERS from the stored figures"
        r.echo(f"  {t.file}: {t.trades} trades of the {t.backtest}, {t.source}; {same}")
    r.echo(f"  final holdout: {out.holdout.replace('_', ' ')}")
    r.echo(f"  files: {', '.join(out.files)}")
    for note in out.notes:
        r.echo(f"agentctl: {note}", err=True)
