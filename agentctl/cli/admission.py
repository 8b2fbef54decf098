"""`agentctl pause` and `agentctl resume`: stop and restart new cycles, kept in the database cron reads."""

from __future__ import annotations

import typer

from agentctl.cli import render
from agentctl.cli.common import report_db
from agentctl.cli.errors import handle_errors


@handle_errors
def pause(
    note: str = typer.Option("", "--note", "-n", help="Why, for whoever reads `agentctl status` next."),
) -> None:
    """Start no new cycles until `agentctl resume` (a cycle in progress still finishes)."""
    from agentctl.store import admission

    with report_db() as (_, conn):
        when = admission.pause(conn, note.strip() or None)
    render.echo(f"paused at {when.isoformat(timespec='seconds')}: no new cycle starts until `agentctl resume`")


@handle_errors
def resume() -> None:
    """Start cycles again: clears a pause, closes the circuit breaker, lifts a budget overrun's pause."""
    from agentctl.store import admission

    with report_db() as (settings, conn):
        before = admission.state(conn)
        when = admission.resume(conn)
    lifted = []
    if before.paused_at is not None:
        lifted.append("the pause")
    if before.overrun_at is not None:
        lifted.append(f"the budget overrun of {before.overrun_date} (${before.overrun_usd} over its reservations)")
    what = ", ".join(lifted) if lifted else "nothing was paused"
    render.echo(f"resumed at {when.isoformat(timespec='seconds')}: {what}; the circuit breaker is closed")
    if settings.paused:
        render.echo("agentctl: AGENTCTL_PAUSED is still set: the tick starts no new cycle until it is unset", err=True)
