"""`agentctl data`: the market data the lab trains and backtests on."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agentctl import fmt
from agentctl.cli import render
from agentctl.cli.common import help_when_bare
from agentctl.cli.errors import fail
from agentctl.domain import ExitCode

app = typer.Typer(help="Market data: list bundled and imported datasets, import your own.")
app.callback(invoke_without_command=True)(help_when_bare)


def _home() -> Path:
    from agentctl.settings import get_settings

    return get_settings().home


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List datasets: symbol, timeframe, first and last bar, bars, where the backtest holdout starts, source."""
    from agentctl.lab.data import list_datasets

    infos = list_datasets(_home())
    if as_json:
        typer.echo(json.dumps([i.model_dump(mode="json") for i in infos], indent=2))
        return
    rows = [
        (
            i.symbol,
            i.timeframe,
            fmt.day(i.first_bar),
            fmt.day(i.last_bar),
            str(i.bars),
            fmt.day(i.holdout_start),
            i.source,
        )
        for i in infos
    ]
    C = render.Col
    render.table(
        [
            C("SYMBOL", max_width=12),
            C("TF"),
            C("FIRST BAR"),
            C("LAST BAR"),
            C("BARS"),
            C("HOLDOUT FROM", drop=1),
            C("SOURCE", max_width=60, drop=2),
        ],
        rows,
    )


@app.command("import")
def import_(
    path: Path = typer.Argument(
        ...,
        help="CSV (optionally .gz) or Parquet file with timestamp, open, high, low, close[, volume]; timestamps without a zone are UTC.",
    ),
    symbol: str = typer.Option(..., "--symbol", help="Name to store it under, e.g. BTCUSD."),
    timeframe: str = typer.Option(..., "--timeframe", help="Bar size: a number and m, h, d or w, e.g. 1h."),
    allow_gaps: bool = typer.Option(False, "--allow-gaps", help="Accept gaps longer than market closures explain."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite an imported dataset of the same name."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Validate an OHLCV file and add it to the datasets; a bad row is named with the rule it breaks."""
    from agentctl.lab.data import DatasetError, DatasetUsageError, import_dataset

    try:
        info = import_dataset(path, symbol, timeframe, _home(), allow_gaps=allow_gaps, replace=replace)
    except DatasetUsageError as err:
        fail(str(err), ExitCode.USAGE)
    except DatasetError as err:
        fail(f"{path.name}: {err}" if str(err).startswith("row ") else str(err), ExitCode.NEEDS_PERSON)
    if as_json:
        typer.echo(info.model_dump_json(indent=2))
        return
    render.echo(
        f"imported {info.symbol}/{info.timeframe}: {info.bars} bars, {fmt.day(info.first_bar)} to {fmt.day(info.last_bar)}; "
        f"the sealed final holdout starts at {fmt.day(info.holdout_start)}"
    )


@app.command("remove")
def remove(
    name: str = typer.Argument(..., metavar="SYMBOL/TIMEFRAME", help="The imported dataset, e.g. BTCUSD/1h."),
    force: bool = typer.Option(False, "--force", help="Remove it even though cycles used it."),
) -> None:
    """Delete an imported dataset; bundled ones stay, and one that cycles used needs --force."""
    from agentctl.lab.data import DatasetUsageError, remove_dataset

    symbol, slash, timeframe = name.partition("/")
    if not (slash and symbol and timeframe):
        fail(f"{name!r} is not SYMBOL/TIMEFRAME (for example BTCUSD/1h)", ExitCode.USAGE)
    if not force:
        used = _cycles_on(symbol, timeframe)
        if used:
            fail(
                f"{used} cycle(s) used {name}: removing it leaves them unreproducible; pass --force to remove it anyway",
                ExitCode.USAGE,
            )
    try:
        remove_dataset(symbol, timeframe, _home())
    except DatasetUsageError as err:
        fail(str(err), ExitCode.USAGE)
    render.echo(f"removed {name}")


def _cycles_on(symbol: str, timeframe: str) -> int:
    from agentctl.cli.common import report_db
    from agentctl.store import cycles

    with report_db() as (_settings, conn):
        return cycles.cycles_on_dataset(conn, symbol, timeframe)
