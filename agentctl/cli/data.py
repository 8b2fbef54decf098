"""`agentctl data`: the market data the lab trains and backtests on."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agentctl import fmt
from agentctl.cli import render
from agentctl.cli.common import help_when_bare
from agentctl.cli.errors import fail, handle_errors
from agentctl.domain import ExitCode

app = typer.Typer(help="Market data: list bundled and imported datasets, import your own.")
app.callback(invoke_without_command=True)(help_when_bare)


def _home() -> Path:
    from agentctl.settings import get_settings

    return get_settings().home


@app.command("list")
@handle_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List datasets: span, bars, where the sealed holdout starts, the Sharpe it needs to confirm, source.

    NEED 50%/80%: the annualized excess Sharpe a strategy needs for a 50% and an 80% chance
    of confirmation on the dataset's holdout; `*` marks a holdout that cannot confirm
    Sharpe 2 at 80% (the designers propose on it less often).
    """
    from agentctl.lab.data import list_datasets
    from agentctl.lab.periods import confirmability
    from agentctl.settings import get_settings

    infos = list_datasets(_home())
    need = [confirmability(i, get_settings().gates.confirm_alpha) for i in infos]
    if as_json:
        rows_json = [i.model_dump(mode="json") | n.model_dump() for i, n in zip(infos, need, strict=True)]
        typer.echo(json.dumps(rows_json, indent=2))
        return
    rows = [
        (
            i.symbol,
            i.timeframe,
            fmt.day(i.first_bar),
            fmt.day(i.last_bar),
            str(i.bars),
            fmt.day(i.holdout_start),
            n.words(),
            i.source,
        )
        for i, n in zip(infos, need, strict=True)
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
            C("NEED 50%/80%"),
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
        fail(str(err), ExitCode.NEEDS_PERSON)
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
    from agentctl.lab.data import DatasetUsageError, is_bundled, remove_dataset
    from agentctl.lab.universe import match_dataset

    symbol, slash, timeframe = name.partition("/")
    if not (slash and symbol and timeframe):
        fail(f"{name!r} is not SYMBOL/TIMEFRAME (for example BTCUSD/1h)", ExitCode.USAGE)
    symbol, timeframe = match_dataset(name, _home()) or (symbol, timeframe)
    if is_bundled(symbol, timeframe):
        # Before the cycles check: --force cannot help here, so it must not be suggested.
        fail(
            f"{symbol}/{timeframe} is bundled with agentctl and cannot be removed; "
            "to keep the designers off it, leave it out of AGENTCTL_DATASETS",
            ExitCode.NEEDS_PERSON,
        )
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
        fail(str(err), ExitCode.NEEDS_PERSON)
    render.echo(f"removed {symbol}/{timeframe}")


def _cycles_on(symbol: str, timeframe: str) -> int:
    from agentctl.cli.common import report_db
    from agentctl.store import cycles

    with report_db() as (_settings, conn):
        return cycles.cycles_on_dataset(conn, symbol, timeframe)
