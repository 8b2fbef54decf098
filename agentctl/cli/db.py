"""`agentctl db`: the schema, and the embedded server's lifecycle."""

from __future__ import annotations

import json

import typer

from agentctl.cli import render
from agentctl.cli.common import help_when_bare
from agentctl.cli.errors import fail, handle_errors
from agentctl.domain import ExitCode

app = typer.Typer(help="The database: apply and list migrations, stop and start the embedded server.")
app.callback(invoke_without_command=True)(help_when_bare)


@app.command("upgrade")
@handle_errors
def upgrade() -> None:
    """Apply pending migrations (safe to run any time; a second run changes nothing)."""
    from agentctl.settings import get_settings
    from agentctl.store import database_url
    from agentctl.store.migrate import upgrade as do_upgrade

    applied = do_upgrade(database_url(get_settings()))
    if applied:
        for mid in applied:
            render.echo(f"applied {mid}")
    else:
        render.echo("schema is current: nothing to apply")


@app.command("status")
@handle_errors
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List migrations, applied and pending."""
    from agentctl.settings import get_settings
    from agentctl.store import database_url
    from agentctl.store.migrate import status as do_status

    settings = get_settings()
    states = do_status(database_url(settings))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "database": "embedded" if settings.embedded else "external",
                    "migrations": [
                        {
                            "id": s.id,
                            "applied": s.applied,
                            "applied_at": s.applied_at.isoformat() if s.applied_at else None,
                        }
                        for s in states
                    ],
                },
                indent=2,
            )
        )
        return
    where = f"embedded ({settings.home / 'pgdata'})" if settings.embedded else "AGENTCTL_DATABASE_URL"
    render.echo(f"database: {where}")
    for s in states:
        when = s.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC") if s.applied_at else "pending"
        render.echo(f"  {s.id:<32} {when}")
    n = sum(not s.applied for s in states)
    render.echo(f"{n} pending" if n else "schema is current")


def _embedded():
    from agentctl.settings import get_settings
    from agentctl.store.embedded import EmbeddedServer

    settings = get_settings()
    if not settings.embedded:
        fail(
            "AGENTCTL_DATABASE_URL is set: agentctl does not run that server, so it neither stops nor starts it",
            ExitCode.NEEDS_PERSON,
        )
    return EmbeddedServer(settings.home)


@app.command("stop")
@handle_errors
def stop() -> None:
    """Stop the embedded PostgreSQL server of this data directory (no other server is touched).

    Ticks started meanwhile start it again; pause cron first (`crontab -e`) to keep it stopped.
    """
    server = _embedded()
    stopped = server.stop()
    if stopped is None:
        render.echo(f"embedded PostgreSQL in {server.pgdata} is not running")
        return
    render.echo(f"embedded PostgreSQL stopped (pid {stopped.pid}, {server.pgdata})")


@app.command("start")
@handle_errors
def start() -> None:
    """Start the embedded PostgreSQL server (any command that needs it starts it too)."""
    server = _embedded()
    running = server.running()
    if running is not None:
        render.echo(f"embedded PostgreSQL is already running (pid {running.pid}, {server.pgdata})")
        return
    running = server.start()
    render.echo(f"embedded PostgreSQL started (pid {running.pid}, {server.pgdata}, log {server.logfile})")
