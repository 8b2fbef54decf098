"""One place that turns known failures into one line on stderr and an exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from agentctl.domain import ExitCode

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> NoReturn:
    """Print one line to stderr and exit with `code`."""
    import typer

    print(f"agentctl: {message}", file=sys.stderr)
    raise typer.Exit(code)


def classify(err: BaseException) -> tuple[ExitCode, str] | None:
    """(exit code, one-line message) for a known failure; None for a bug (let it raise)."""
    from agentctl.domain import StateMoved
    from agentctl.store.connection import DatabaseUnavailable
    from agentctl.store.embedded import EmbeddedServerError
    from agentctl.store.migrate import MigrationError

    if isinstance(err, DatabaseUnavailable):
        return ExitCode.TEMPFAIL, str(err)
    if isinstance(err, EmbeddedServerError):
        return ExitCode.TEMPFAIL, f"embedded PostgreSQL: {err}"
    if isinstance(err, MigrationError):
        return ExitCode.NEEDS_PERSON, str(err)
    if isinstance(err, StateMoved):
        return ExitCode.NEEDS_PERSON, f"state moved under us: {err}"
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(err, pydantic.ValidationError):
        if err.title != "Settings":
            return ExitCode.NEEDS_PERSON, f"a stored {err.title} row does not read: {_first_error(err)}"
        return ExitCode.NEEDS_PERSON, f"configuration: {_first_config_error(err)}"
    agent = sys.modules.get("agentctl.agent.errors")
    if agent is not None and isinstance(err, agent.AgentUnavailable):
        return ExitCode.TEMPFAIL, f"API unavailable: {err}"
    if agent is not None and isinstance(err, agent.AgentMisconfigured):
        return ExitCode.NEEDS_PERSON, str(err)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(err, (psycopg.OperationalError, psycopg.InterfaceError)):
        from agentctl.store.connection import redact

        return ExitCode.TEMPFAIL, f"database connection lost: {redact(_first_line(err))}"
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

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps fn's signature; mypy sees only the wrapper's


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _first_error(err: Any) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "row"
    return f"{where}: {first.get('msg', 'invalid')}"


def _first_config_error(err: Any) -> str:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"AGENTCTL_{field.upper()}: {msg}" if field != "settings" else msg
