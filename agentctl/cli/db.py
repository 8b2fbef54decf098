"""`agentctl db`: the schema."""

from __future__ import annotations

import json

import typer

from agentctl.cli.errors import handle_errors

app = typer.Typer(help="Database schema: apply and list migrations.", no_args_is_help=True)


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
            typer.echo(f"applied {mid}")
    else:
        typer.echo("schema is current: nothing to apply")


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
    typer.echo(f"database: {where}")
    for s in states:
        when = s.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC") if s.applied_at else "pending"
        typer.echo(f"  {s.id:<32} {when}")
    n = sum(not s.applied for s in states)
    typer.echo(f"{n} pending" if n else "schema is current")
