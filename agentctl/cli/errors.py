"""One place that turns known failures into one line on stderr and an exit code."""

from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

import typer

EXIT_OK = 0
EXIT_NEEDS_PERSON = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL: cron just runs us again next minute

F = TypeVar("F", bound=Callable)


def fail(message: str, code: int) -> None:
    """Print one line to stderr and exit with `code`."""
    print(f"agentctl: {message}", file=sys.stderr)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Map the library's typed errors to exit codes (75 transient, 1 needs a person)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from agentctl.db.connection import DatabaseUnavailable
        from agentctl.db.embedded import EmbeddedServerError
        from agentctl.db.migrate import MigrationError
        from pydantic import ValidationError

        from agentctl.domain import StateMoved

        try:
            return fn(*args, **kwargs)
        except DatabaseUnavailable as err:
            fail(str(err), EXIT_TEMPFAIL)
        except EmbeddedServerError as err:
            fail(f"embedded PostgreSQL: {err}", EXIT_TEMPFAIL)
        except MigrationError as err:
            fail(str(err), EXIT_NEEDS_PERSON)
        except StateMoved as err:
            fail(f"state moved under us: {err}", EXIT_NEEDS_PERSON)
        except ValidationError as err:
            fail(f"configuration: {_first_config_error(err)}", EXIT_NEEDS_PERSON)
        except Exception as err:
            agent_errors = _agent_errors()
            if agent_errors and isinstance(err, agent_errors[0]):
                fail(f"API unavailable: {err}", EXIT_TEMPFAIL)
            if agent_errors and isinstance(err, agent_errors[1]):
                fail(str(err), EXIT_NEEDS_PERSON)
            if isinstance(err, _transient_db_errors()):
                fail(f"database connection lost: {_first_line(err)}", EXIT_TEMPFAIL)
            raise

    return wrapper  # type: ignore[return-value]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _agent_errors():
    mod = sys.modules.get("agentctl.agent.errors")
    return (mod.AgentUnavailable, mod.AgentMisconfigured) if mod else ()


def _first_config_error(err) -> str:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"AGENTCTL_{field.upper()}: {msg}" if field != "settings" else msg


def _transient_db_errors() -> tuple[type[BaseException], ...]:
    # psycopg is already imported by the time a command talks to the database.
    mod = sys.modules.get("psycopg")
    if mod is None:
        return ()
    return (mod.OperationalError, mod.InterfaceError)
