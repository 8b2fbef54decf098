"""`agentctl actions` and `agentctl triggers`, and their tables (`show` uses them too)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from agentctl import fmt
from agentctl.cli import render as r
from agentctl.cli.common import JSON_HELP, report_db
from agentctl.cli.errors import handle_errors, no_such_cycle

if TYPE_CHECKING:
    from agentctl.store.reports import ActionLine, TriggerLine


@handle_errors
def actions(
    cycle_id: int | None = typer.Argument(None, metavar="[ID]", min=1, help="Only this cycle's actions."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=100000, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The audit trail of model and tool calls: tokens, cost, latency, errors."""
    from agentctl.reports import activity, cycles

    with report_db() as (_, conn):
        if cycle_id is not None and not cycles.cycle_exists(conn, cycle_id):
            no_such_cycle(cycle_id)
        rows = activity.recent_actions(conn, cycle_id, limit)
    if as_json:
        return r.print_json([row.model_dump(mode="json") for row in rows])
    if not rows:
        r.echo(
            f"cycle {cycle_id} has no actions yet"
            if cycle_id
            else "no actions yet: the agent records one per model or tool call; run `agentctl tick`"
        )
        return
    actions_table(rows)


@handle_errors
def triggers(
    today: bool = typer.Option(False, "--today", help="Only today's (budget day) ticks, with counts by decision."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=100000, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """What each tick saw and decided: reason, agent invoked or why not, budget at the time."""
    from agentctl.reports import activity, common

    with report_db() as (_, conn):
        rep = activity.recent_triggers(conn, limit, today)
    if as_json:
        return r.print_json(rep)
    if not rep.triggers:
        r.echo("no tick today yet" if today else common.NO_TICK_HINT)
        if today:
            r.echo("  (run `agentctl tick`, or check that the crontab line is installed)")
        return
    triggers_table(rep.triggers)
    if rep.counts_today:
        counts = ", ".join(
            f"{c.count} {c.trigger_reason}"
            + (f"/{c.skip_reason}" if c.skip_reason else "/invoked" if c.agent_invoked else "")
            for c in rep.counts_today
        )
        r.echo(r.bold("today:") + " " + counts)


def actions_table(rows: Sequence[ActionLine], *, with_cycle: bool = True) -> None:
    """Actions: tokens, cache writes/reads, cost, latency, ok or the error (the cycle column unless one cycle's)."""
    C = r.Col
    headers = (
        [C("id", right=True), C("time", drop=2)]
        + ([C("cycle", right=True, drop=3)] if with_cycle else [])
        + [
            C("tool", max_width=20),
            C("model", max_width=20, drop=2),
            C("in", right=True, drop=3),
            C("out", right=True, drop=3),
            C("cache w/r", right=True, drop=5),
            C("cost", right=True),
            C("ms", right=True, drop=4),
            C("result", max_width=40),
        ]
    )
    body: list[list[Any]] = []
    for a in rows:
        cache = (
            "-"
            if a.tokens_cache_write is None and a.tokens_cache_read is None
            else f"{a.tokens_cache_write or 0}/{a.tokens_cache_read or 0}"
        )
        result = "ok" if a.success else f"error: {r.short(a.error_message, 40) or '?'}"
        body.append(
            [a.id, a.action_at]
            + ([a.session_id] if with_cycle else [])
            + [
                a.tool_name,
                a.model,
                a.tokens_input,
                a.tokens_output,
                cache,
                fmt.money(a.cost_usd),
                a.latency_ms,
                result,
            ]
        )
    r.table(headers, body)


def triggers_table(rows: Sequence[TriggerLine]) -> None:
    """Triggers: reason, cycle, agent invoked, skip reason, the budget then."""
    C = r.Col
    r.table(
        [
            C("id", right=True),
            C("time"),
            # The reasons stay whole (they are what a reader looks for); the budget columns give way.
            C("reason"),
            C("cycle", right=True),
            C("agent", drop=2),
            C("skip reason"),
            C("used", right=True, drop=3),
            C("left", right=True, drop=1),
        ],
        # One cell per column above, in its order: each table's row is its own (integrity's too).
        [
            [
                t.id,
                t.triggered_at,
                t.trigger_reason,
                t.session_id,
                t.agent_invoked,
                t.skip_reason,
                fmt.money(t.budget_used_today_usd),
                fmt.money(t.budget_remaining_usd),
            ]
            for t in rows
        ],
    )
