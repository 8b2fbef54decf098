"""What the report commands share: the database they open and the --json help."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

JSON_HELP = "Print the report as JSON (stable keys, see README)."


@contextmanager
def report_db() -> Iterator[tuple[Settings, psycopg.Connection[Any]]]:
    """The settings and an autocommit connection: each report query reads its own snapshot."""
    from agentctl.settings import get_settings
    from agentctl.store import open_database

    settings = get_settings()
    with open_database(settings, autocommit=True) as conn:
        yield settings, conn
