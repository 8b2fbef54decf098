"""One place that turns known failures into one line on stderr and an exit code.

Database failures are split here, and only here: the server answering "no" (unknown
role or database, wrong password, no permission, a malformed URL) needs a person
(exit 1, cron mails it); no answer yet (refused, no socket, starting up, too many
connections) is transient (exit 75, the next tick tries again).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from agentctl.domain import ExitCode

F = TypeVar("F", bound=Callable[..., Any])

# SQLSTATE classes and codes of a refusal that waiting will not change.
PERMANENT_SQLSTATES = ("28", "3D", "3F", "42501")
# libpq reports a refused connection without an SQLSTATE: the server's words are all there is.
PERMANENT_MESSAGES = (
    "does not exist",  # role or database
    "password authentication failed",
    "no pg_hba.conf entry",
    "permission denied",
    "password supplied",  # "fe_sendauth: no password supplied"
)
# A URL libpq cannot parse.
MALFORMED_URL_MESSAGES = ('missing "="', "invalid ", "unrecognized", "connection info string")


def fail(message: str, code: int) -> NoReturn:
    """Print one line to stderr and exit with `code`."""
    import typer

    from agentctl.cli import render

    render.echo(f"agentctl: {message}", err=True)
    raise typer.Exit(code)


def no_such_cycle(cycle_id: int) -> NoReturn:
    """A well-formed id naming no cycle: bad input (exit 1), not bad usage (exit 2)."""
    fail(f"no cycle {cycle_id}: see `agentctl cycles --recent`", ExitCode.NEEDS_PERSON)


def classify(err: BaseException) -> tuple[ExitCode, str] | None:
    """(exit code, one-line message) for a known failure; None for a bug (let it raise)."""
    from agentctl.domain import StateMoved
    from agentctl.settings import ConfigError
    from agentctl.store.connection import DatabaseUnavailable
    from agentctl.store.embedded import EmbeddedServerError
    from agentctl.store.migrate import MigrationError

    if isinstance(err, ConfigError):
        return ExitCode.NEEDS_PERSON, str(err)
    if isinstance(err, DatabaseUnavailable):
        return _database(err.cause, str(err))
    if isinstance(err, EmbeddedServerError):
        return _database(err, f"embedded PostgreSQL: {err}")
    if isinstance(err, MigrationError):
        return ExitCode.NEEDS_PERSON, str(err)
    if isinstance(err, StateMoved):
        return ExitCode.NEEDS_PERSON, f"state moved under us: {err}"
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(err, pydantic.ValidationError):
        if err.title != "Settings":
            return ExitCode.NEEDS_PERSON, f"a stored {err.title} row does not read: {_first_error(err)}"
        return ExitCode.NEEDS_PERSON, f"configuration: {_first_config_error(err)}"
    data = sys.modules.get("agentctl.lab.data")
    if data is not None and isinstance(err, data.DatasetError):
        return ExitCode.NEEDS_PERSON, str(err)
    agent = sys.modules.get("agentctl.agent.errors")
    if agent is not None and isinstance(err, agent.AgentUnavailable):
        return ExitCode.TEMPFAIL, f"API unavailable: {err}"
    if agent is not None and isinstance(err, agent.AgentMisconfigured):
        return ExitCode.NEEDS_PERSON, str(err)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(err, psycopg.Error) and _is_database_failure(err, psycopg):
        from agentctl.store.connection import first_line, redact

        return _database(err, f"database connection lost: {redact(first_line(err))}")
    return None


def _is_database_failure(err: Any, psycopg: Any) -> bool:
    # Lost connections, and refusals by privilege; other SQL errors are bugs and must show their trace.
    if isinstance(err, (psycopg.OperationalError, psycopg.InterfaceError)):
        return True
    return _permanent_state(getattr(err, "sqlstate", None))


def _permanent_state(state: str | None) -> bool:
    return bool(state) and any(str(state).startswith(p) for p in PERMANENT_SQLSTATES)


def _database(cause: BaseException | None, message: str) -> tuple[ExitCode, str]:
    """Exit 1 with the fix when the database said no or the URL is malformed; exit 75 when it may answer later."""
    from agentctl.store.connection import first_line, redact
    from agentctl.store.embedded import EmbeddedServerMisconfigured

    if isinstance(cause, EmbeddedServerMisconfigured):
        return ExitCode.NEEDS_PERSON, f"embedded PostgreSQL: {cause}"
    if isinstance(cause, PermissionError):
        return ExitCode.NEEDS_PERSON, f"{message}: fix the permissions or set AGENTCTL_HOME"
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(cause, psycopg.Error):
        return ExitCode.TEMPFAIL, message
    text = redact(first_line(cause))
    said = text.split("FATAL:", 1)[-1].strip().removeprefix("connection is bad: ").removeprefix("connection failed: ")
    where = _named("database_url")
    unparsed = isinstance(cause, psycopg.ProgrammingError) and cause.sqlstate is None
    if unparsed or ("FATAL:" not in text and any(m in text for m in MALFORMED_URL_MESSAGES)):
        return ExitCode.NEEDS_PERSON, (
            f"the database URL ({where}) is not usable: {said}: "
            "write it as postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME"
        )
    if _permanent_state(cause.sqlstate) or any(m in said for m in PERMANENT_MESSAGES):
        return ExitCode.NEEDS_PERSON, f"the database refused the connection: {said}: fix the database URL ({where})"
    return ExitCode.TEMPFAIL, message


def _named(field: str) -> str:
    """A setting named the way the user gave it (AGENTCTL_X, or x in FILE); never raises (it reports an error)."""
    try:
        from agentctl.settings import given_as

        return given_as(field)
    except Exception:  # the config file itself may be what is broken: name the variable instead
        return f"AGENTCTL_{field.upper().replace('.', '__')}"


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


def _first_error(err: Any) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "row"
    return f"{where}: {first.get('msg', 'invalid')}"


def _first_config_error(err: Any) -> str:
    """The first invalid setting, named the way it was given (variable or file key), and why."""
    first = err.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ()))
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if not field:
        return msg
    return f"{_named(field)}: {msg}"
