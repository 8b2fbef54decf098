"""One place that turns known failures into one line on stderr and an exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

EXIT_OK = 0
EXIT_NEEDS_PERSON = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL: cron just runs us again next minute

F = TypeVar("F", bound=Callable)


def fail(message: str, code: int) -> None:
    """Print one line to stderr and exit with `code`."""
    import typer

    print(f"agentctl: {message}", file=sys.stderr)
    raise typer.Exit(code)


def classify(err: BaseException) -> tuple[int, str] | None:
    """(exit code, one-line message) for a known failure; None for a bug (let it raise)."""
    from agentctl.domain import StateMoved
    from agentctl.store.connection import DatabaseUnavailable
    from agentctl.store.embedded import EmbeddedServerError
    from agentctl.store.migrate import MigrationError

    if isinstance(err, DatabaseUnavailable):
        return EXIT_TEMPFAIL, str(err)
    if isinstance(err, EmbeddedServerError):
        return EXIT_TEMPFAIL, f"embedded PostgreSQL: {err}"
    if isinstance(err, MigrationError):
        return EXIT_NEEDS_PERSON, str(err)
    if isinstance(err, StateMoved):
        return EXIT_NEEDS_PERSON, f"state moved under us: {err}"
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(err, pydantic.ValidationError):
        return EXIT_NEEDS_PERSON, f"configuration: {_first_config_error(err)}"
    agent = sys.modules.get("agentctl.agent.errors")
    if agent is not None and isinstance(err, agent.AgentUnavailable):
        return EXIT_TEMPFAIL, f"API unavailable: {err}"
    if agent is not None and isinstance(err, agent.AgentMisconfigured):
        return EXIT_NEEDS_PERSON, str(err)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(err, (psycopg.OperationalError, psycopg.InterfaceError)):
        from agentctl.store.connection import redact

        return EXIT_TEMPFAIL, f"database connection lost: {redact(_first_line(err))}"
    return None


def handle_errors(fn: F) -> F:
    """Map the library's typed errors to exit codes (75 transient, 1 needs a person)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            known = classify(err)
            if known is None:
                raise
            fail(known[1], known[0])

    return wrapper  # type: ignore[return-value]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _first_config_error(err) -> str:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"AGENTCTL_{field.upper()}: {msg}" if field != "settings" else msg
