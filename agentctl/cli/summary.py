"""`agentctl summary`: the day's (or a period's) funnel on one screen (reports/funnel.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from agentctl import fmt
from agentctl.cli import render as r
from agentctl.cli.common import JSON_HELP, report_db
from agentctl.cli.errors import handle_errors

if TYPE_CHECKING:
    from datetime import date

    from agentctl.reports.funnel import FunnelStage, Summary


def _since(value: str | None) -> date | None:
    """`--since YYYY-MM-DD`, refused (exit 2) when it is not a real date."""
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


@handle_errors
def summary(
    since: str | None = typer.Option(
        None, "--since", metavar="DATE", help="Cycles started on or after this day (YYYY-MM-DD); today by default."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The day's funnel: how many cycles reached each stage and why the others stopped, nearest misses, spend, what to try.

    Example: agentctl summary --since 2026-01-05
    """
    from agentctl.reports.funnel import summary as build

    day = _since(since)
    with report_db() as (settings, conn):
        rep = build(conn, settings, day)
    if as_json:
        return r.print_json(rep)
    _render(rep)


def _render(s: Summary) -> None:
    active = f", {s.active} still running" if s.active else ""
    r.echo(r.bold(f"since {fmt.day(s.since)}: {fmt.plural(s.cycles, 'cycle')} started{active}"))
    if not s.cycles:
        r.echo("no cycle started in this period: `agentctl cycles` lists earlier ones")
    else:
        width = max(len(st.name) for st in s.stages)
        for i, st in enumerate(s.stages):
            why = f"  {st.stopped} stopped: {_reason(st)}" if i and st.stopped else ""
            r.echo(f"  {st.cycles:>5}  {st.name.ljust(width)}{why}".rstrip())
    if s.nearest_misses:
        r.echo(r.bold("nearest misses:"))
        for m in s.nearest_misses:
            r.echo(f"  {_gate(m.gate)}: best {_figure(m.figure, m.value)}, cycle {m.cycle} ({_name(m.strategy)})")
    per = fmt.money(s.cost_per_confirmed_usd) if s.confirmed else "none confirmed"
    r.echo(
        r.bold("spend:") + f" {fmt.money(s.spend_usd)} on {fmt.plural(s.model_calls, 'model call')}; "
        f"per confirmed strategy: {per}"
    )
    for tip in s.advice:
        r.echo(f"try: {tip}")


def _reason(st: FunnelStage) -> str:
    """The most common reason, and how many of those that stopped it covers when not all."""
    if not st.top_reason:
        return "no reason recorded"
    if st.top_reason_cycles == st.stopped:
        return st.top_reason
    return f"{st.top_reason} ({st.top_reason_cycles} of {st.stopped})"


def _gate(gate: str) -> str:
    from agentctl.reports.gate_words import GATE_WORDS

    return f"{GATE_WORDS.get(gate, gate)} gate"


def _figure(name: str, value: float) -> str:
    """A stored figure in words with its value in the one format of its kind."""
    from agentctl.reports.gate_words import METRIC_WORDS

    words = METRIC_WORDS.get(name, name.replace("_", " "))
    if name.endswith("p_value"):
        return f"{words} {fmt.p_value(value)}"
    if "sharpe" in name:
        return f"{words} {fmt.ratio(value)}"
    if name in ("accuracy", "accuracy_edge", "total_return", "max_drawdown", "win_rate"):
        return f"{words} {fmt.pct(value)}"
    return f"{words} {fmt.number(value)}"


def _name(strategy: str | None) -> str:
    from agentctl.reports.gate_words import short_name

    return short_name(strategy) or "no strategy"
