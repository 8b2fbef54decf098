"""What the report commands share: the database they open and the --json help."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

JSON_HELP = "Print the report as JSON (stable keys, see README)."


def help_when_bare(ctx: typer.Context) -> None:
    """A group run without a command (`agentctl db`): its help, exit 0 (asking for help is not an error)."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


@contextmanager
def report_db() -> Iterator[tuple[Settings, psycopg.Connection[Any]]]:
    """The settings and an autocommit connection: each report query reads its own snapshot."""
    from agentctl.settings import get_settings
    from agentctl.store import open_database

    settings = get_settings()
    with open_database(settings, autocommit=True) as conn:
        yield settings, conn


def image_path(value: str | None) -> str | None:
    """`--png PATH`: a .png, .svg or .pdf file name, refused (exit 2) before any work is done."""
    if value is None:
        return None
    from agentctl.plot import image_format

    try:
        image_format(value)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    return value
