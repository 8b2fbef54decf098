"""Connections to the configured server: embedded by default, or AGENTCTL_DATABASE_URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings


class DatabaseUnavailable(RuntimeError):
    """No connection to the database. `cause` is what failed (libpq's error, the embedded server's, an OSError):
    cli/errors.py decides from it whether the next tick can succeed (exit 75) or a person must act (exit 1)."""

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.cause = cause


def database_url(settings: Settings) -> str:
    """The URL to connect to, starting the embedded server if it is the default and down."""
    if settings.database_url:
        return _normalise(settings.database_url)
    from agentctl.store.embedded import EmbeddedServer, EmbeddedServerError

    try:
        return EmbeddedServer(settings.home).url()
    except EmbeddedServerError as err:
        raise DatabaseUnavailable(f"embedded PostgreSQL: {err}", err) from None
    except OSError as err:
        raise DatabaseUnavailable(f"embedded PostgreSQL in {settings.home}: {err.strerror or err}", err) from None


def _normalise(url: str) -> str:
    # SQLAlchemy-style driver suffixes are accepted for convenience.
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def connect(
    settings: Settings, *, autocommit: bool = False, url: str | None = None
) -> psycopg.Connection[dict[str, Any]]:
    """A new connection with dict rows and the budget time zone (so CURRENT_DATE is the budget day)."""
    import psycopg
    from psycopg.rows import dict_row

    target = url or database_url(settings)
    try:
        return psycopg.connect(
            target,
            autocommit=autocommit,
            row_factory=dict_row,
            connect_timeout=10,
            options=f"-c TimeZone={settings.timezone}",
            application_name="agentctl",
        )
    except psycopg.Error as err:  # OperationalError: no answer or a refusal; ProgrammingError: a malformed URL
        raise DatabaseUnavailable(f"database unreachable: {redact(first_line(err))}", err) from None


def first_line(err: BaseException) -> str:
    """The first line of an error's message (libpq adds hints on the lines after it)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def redact(text: str) -> str:
    """Remove passwords from connection strings that may appear in error text."""
    import re

    text = re.sub(r"(postgres(?:ql)?(?:\+\w+)?://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)
    return re.sub(r"(password=)\S+", r"\1***", text)


def open_database(settings: Settings, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection to a database whose schema is current (pending migrations applied first)."""
    from agentctl.store.migrate import ensure_schema

    url = database_url(settings)
    conn = connect(settings, autocommit=autocommit, url=url)
    try:
        ensure_schema(conn, url)
    except BaseException:
        conn.close()
        raise
    return conn
