"""`agentctl budget`: today's budget and the last days; `budget set AMOUNT` changes a limit."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import typer

from agentctl import fmt
from agentctl.cli import render as r
from agentctl.cli.common import JSON_HELP, report_db
from agentctl.cli.errors import handle_errors

MAX_DAILY_LIMIT_USD = Decimal("10000")  # a sane upper bound for `budget set`
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

budget_app = typer.Typer(
    help="Today's budget and the last days; `budget set AMOUNT` changes a limit.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def parse_amount(text: str) -> Decimal:
    """A daily limit from the command line: positive, at most cents, at most MAX_DAILY_LIMIT_USD."""
    raw = text.strip()
    try:
        value = Decimal(raw.lstrip("$"))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount in dollars (e.g. 10 or 2.50)") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite amount")
    if value <= 0:
        raise ValueError(f"{text} is not positive: the limit is dollars per day (AGENTCTL_PAUSED=1 stops new cycles)")
    if value > MAX_DAILY_LIMIT_USD:
        raise ValueError(f"{text} is above the ${MAX_DAILY_LIMIT_USD} daily maximum")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{text} has more than cents: use at most 2 decimal places")
    return value.quantize(Decimal("0.01"))


def parse_day(text: str, today: date | None = None) -> date:
    """A YYYY-MM-DD date that exists and is not in the past."""
    raw = text.strip()
    if not _DAY.match(raw):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{text} is not a real date") from None
    if today is not None and day < today:
        raise ValueError(f"{text} is in the past: only today's or a later day's limit can change")
    return day


@budget_app.callback(invoke_without_command=True)
@handle_errors
def budget(
    ctx: typer.Context,
    days: int = typer.Option(7, "--days", "-d", min=1, max=3660, help="How many days, today included."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Today's budget and the last N days (limit, used, remaining, invocations, cycles), spend drawn as bars."""
    if ctx.invoked_subcommand is not None:
        return
    from agentctl.plot import bar
    from agentctl.reports import common, costs

    with report_db() as (settings, conn):
        rep = costs.budget_report(conn, settings, days)
    if as_json:
        return r.print_json(rep)
    t = rep.today
    r.echo(
        f"today {t.date}: {fmt.money(t.used_usd)} of {fmt.money(t.limit_usd)} used, {fmt.money(t.reserved_usd)} reserved, "
        f"{fmt.money(t.remaining_usd)} left"
    )
    r.echo(f"default limit for new days {fmt.money(rep.default_limit_usd)}: {rep.default_limit_source}")
    if not t.exists:
        r.echo("no tick has opened today yet: " + common.NO_TICK_HINT.split(": ", 1)[1])
    scale = float(max([d.limit_usd for d in rep.days] + [d.used_usd for d in rep.days] + [Decimal(0)]))
    C = r.Col
    r.table(
        [
            C("date"),
            C("limit", right=True),
            C("used", right=True),
            C("left", right=True),
            C("invocations", right=True, drop=2),
            C("cycles", right=True, drop=3),
            C("spend", drop=1),
        ],
        [
            [
                d.date,
                fmt.money(d.limit_usd),
                fmt.money(d.used_usd),
                fmt.money(d.remaining_usd),
                d.invocations,
                f"{d.cycles_completed}/{d.cycles_started}",
                bar(float(d.used_usd), scale, 30 if r.plain() else 20, "#" if r.plain() else "█"),
            ]
            for d in rep.days
        ],
    )
    r.echo("(cycles: completed/started; bars: spend against the largest limit shown)")
    if rep.scheduled:
        r.echo(r.bold("scheduled limits:") + " (set ahead with `agentctl budget set AMOUNT --date YYYY-MM-DD`)")
        r.table([C("date"), C("limit", right=True)], [[s.date, fmt.money(s.limit_usd)] for s in rep.scheduled])


def _amount(value: str) -> str:
    try:
        return str(parse_amount(value))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_day(value).isoformat()
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


@budget_app.command("set", context_settings={"ignore_unknown_options": True})
@handle_errors
def budget_set(
    amount: str = typer.Argument(
        ..., metavar="AMOUNT", callback=_amount, help="Daily limit in USD: positive, at most cents (e.g. 10 or 2.50)."
    ),
    day: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", callback=_day, help="Change this day's limit instead of today's."
    ),
    default: bool = typer.Option(False, "--default", help="Set the limit for days not yet created instead."),
    as_json: bool = typer.Option(False, "--json", help="Print the change as JSON."),
) -> None:
    """Change today's (or --date's) daily limit, or with --default the limit for new days."""
    from agentctl.store.budget import Budget

    if default and day is not None:
        raise typer.BadParameter("--date and --default do not go together", param_hint="'--date'")
    with report_db() as (settings, conn):
        try:
            when = date.fromisoformat(day) if day else None
            ch = Budget(settings).change(conn, Decimal(amount), day=when, default=default)
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="'--date'") from None
    if as_json:
        return r.print_json(ch)
    old = fmt.money(ch.old_limit_usd) if ch.old_limit_usd is not None else "the default"
    if ch.scope == "default":
        r.echo(f"default limit for new days: {old} -> {fmt.money(ch.new_limit_usd)}")
        from agentctl.settings import given_as, setting_sources

        if setting_sources().get("default_budget_usd", "default") != "default":
            r.echo(r.warn(f"{given_as('default_budget_usd')} is ignored from now on: the database's default wins"))
        return
    r.echo(f"limit for {ch.date}: {old} -> {fmt.money(ch.new_limit_usd)} ({fmt.money(ch.used_usd)} already used)")
    if ch.used_usd is not None and ch.used_usd >= ch.new_limit_usd:
        r.echo(r.warn("already spent at least the new limit: no more model calls that day"))
