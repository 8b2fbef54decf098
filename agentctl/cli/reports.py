"""Report commands: status, summary, cycles, show, budget, cost, actions, triggers, doctor, metrics.

Thin: open the database, call one function of agentctl.reports, render with
agentctl.cli.render. `--json` prints the report's model as JSON (keys in README
"Reports"); without a TTY or with NO_COLOR the text is plain (no colour, no box drawing).
So every command has the same few lines (open, call, JSON or text) on purpose: typer reads
each command's own signature and docstring for its options and help.
`show` is in cli/show.py, `actions` and `triggers` in cli/activity.py, `budget` in cli/budget.py.
"""

from __future__ import annotations

import sys
from enum import StrEnum

import typer

from agentctl import fmt
from agentctl.cli import render as r
from agentctl.cli.activity import actions, triggers
from agentctl.cli.budget import budget_app
from agentctl.cli.common import JSON_HELP, report_db
from agentctl.cli.compare import compare
from agentctl.cli.errors import handle_errors
from agentctl.cli.export import export
from agentctl.cli.integrity import integrity
from agentctl.cli.predict import predict
from agentctl.cli.show import show
from agentctl.cli.summary import summary
from agentctl.domain import ExitCode, Outcome

SUCCESS_AVERAGE = "cost per confirmed strategy (its own cycle only)"


def register(app: typer.Typer) -> None:
    """Add the report commands and the `budget` sub-app to the top-level app."""
    app.command("status")(status)
    app.command("summary")(summary)
    app.command("cycles")(cycles)
    app.command("show")(show)
    app.add_typer(budget_app, name="budget")
    app.command("cost")(cost)
    app.command("actions")(actions)
    app.command("triggers")(triggers)
    app.command("doctor")(doctor)
    app.command("metrics")(metrics)
    app.command("integrity")(integrity)
    app.command("compare")(compare)
    app.command("export")(export)
    app.command("predict")(predict)


@handle_errors
def status(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """The active cycle, today's budget, the last tick and anything that needs attention."""
    from agentctl.reports import status

    with report_db() as (settings, conn):
        st = status.status(conn, settings)
    if as_json:
        return r.print_json(st)
    r.echo(r.bold(st.headline))  # what holds first: paused, breaker open, overrun, waiting for a tick
    c = st.active_cycle
    if c is not None:
        r.echo(
            f"{r.bold(f'cycle {c.id}')}  {c.stage} for {fmt.duration(c.seconds_in_phase)}"
            f"  (started {fmt.duration(c.seconds_since_start)} ago)  strategy: {c.strategy or '-'}"
        )
        r.echo(f"  dataset {c.dataset or '-'}  model {c.model or '-'}")
        op = c.operation
        if op is not None:
            # A finished operation says only how it ended ("completed", not "completed 100% completed").
            running = op.status in ("running", "pending")
            pct = "" if op.progress_pct is None or not running else f" {op.progress_pct:.0f}%"
            msg = f" {op.progress_message}" if op.progress_message and op.progress_message != op.status else ""
            hb = f"  heartbeat {fmt.duration(op.heartbeat_age_s)} ago" if op.heartbeat_age_s is not None else ""
            seen = "" if op.source == "operations" else "  (as of the last tick)"
            wait = ": waiting for the next tick" if c.waiting_for_tick else ""
            r.echo(f"  operation {op.id}: {op.status or 'unknown'}{pct}{msg}{wait}{hb}{seen}")
    b = st.budget
    r.echo(
        f"budget {b.date}: {fmt.money(b.used_usd)} of {fmt.money(b.limit_usd)} used, {fmt.money(b.reserved_usd)} reserved, "
        f"{fmt.money(b.remaining_usd)} left; {b.invocations} invocations, "
        f"{b.cycles_started} cycles started, {b.cycles_completed} completed"
    )
    t = st.last_trigger
    if t is not None:
        why = f" ({t.skip_reason})" if t.skip_reason else (" (agent invoked)" if t.agent_invoked else "")
        cyc = f" cycle {t.session_id}" if t.session_id else ""
        r.echo(f"last tick {fmt.duration(t.age_s)} ago ({fmt.when(t.triggered_at)}): {t.trigger_reason}{why}{cyc}")
    for w in st.warnings:
        if w.message not in st.headline:  # the headline already said it
            r.echo(r.warn(w.message))


class CycleSort(StrEnum):
    date = "date"
    sharpe = "sharpe"
    dsr = "dsr"
    ret = "return"
    cost = "cost"


def _dataset(value: str | None) -> tuple[str, str] | None:
    """`--dataset SYMBOL/TF`, refused (exit 2) when it is not one symbol and one timeframe."""
    if value is None:
        return None
    symbol, slash, timeframe = value.partition("/")
    if not slash or not symbol or not timeframe or "/" in timeframe:
        raise typer.BadParameter(f"{value!r} is not SYMBOL/TF, e.g. AAPL/1d (see `agentctl data list`)")
    from agentctl.lab.universe import match_dataset
    from agentctl.settings import get_settings

    # Typed as the user remembers it (nasdaq/1d): the installed dataset's own spelling.
    return match_dataset(value, get_settings().home) or (symbol, timeframe)


@handle_errors
def cycles(
    recent: int = typer.Option(10, "--recent", "-n", min=1, max=10000, help="How many cycles."),
    outcome: Outcome | None = typer.Option(None, "--outcome", help="Only cycles with this outcome."),
    dataset: str | None = typer.Option(None, "--dataset", metavar="SYMBOL/TF", help="Only cycles on this dataset."),
    sort: CycleSort = typer.Option(
        CycleSort.date,
        "--sort",
        help="Order: date (newest first); sharpe, dsr or return (highest first); cost (costliest first).",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Completed cycles: dataset, outcome, Sharpe, deflated Sharpe, return against buy and hold, trades, cost, verdict."""
    from agentctl.reports import common, cycles

    on = _dataset(dataset)
    with report_db() as (_, conn):
        rows = cycles.recent_cycles(conn, recent, outcome.value if outcome else None, sort=sort.value, dataset=on)
    if as_json:
        return r.print_json([row.model_dump(mode="json") for row in rows])
    if not rows:
        wanted = " ".join(w for w in (outcome and f"with outcome {outcome.value}", on and f"on {dataset}") if w)
        r.echo(f"no completed cycles {wanted}" if wanted else common.NO_CYCLES_HINT)
        return
    _cycles_table(rows)


def _cycles_table(rows) -> None:
    C = r.Col
    r.table(
        [
            C("id", right=True),
            C("strategy", max_width=40),
            C("dataset", max_width=12, drop=3),
            C("outcome", max_width=22),
            C("sharpe", right=True),
            C("dsr", right=True, drop=2),
            C("return", right=True, drop=1),
            C("b&h", right=True, drop=2),
            C("maxdd", right=True, drop=4),
            C("trades", right=True, drop=4),
            C("cost", right=True, drop=3),
            C("took", right=True, drop=5),
            C("verdict", max_width=40, drop=6),
        ],
        [
            [
                c.id,
                r.name(c.strategy),
                c.dataset,
                c.outcome,
                fmt.ratio(c.sharpe),
                fmt.ratio(c.deflated_sharpe),
                fmt.pct(c.total_return),
                fmt.pct(c.buy_and_hold_return),
                fmt.pct(c.max_drawdown),
                c.trades,
                fmt.money(c.cost_usd),
                fmt.duration(c.duration_s),
                r.short(c.verdict, 40),
            ]
            for c in rows
        ],
    )


@handle_errors
def cost(
    failures: int = typer.Option(5, "--failures", min=0, max=100, help="How many of the costliest failed cycles."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Cost per confirmed strategy, all spend per confirmation, by model, by phase, costliest failures."""
    from agentctl.reports import common, costs

    with report_db() as (_, conn):
        rep = costs.cost_report(conn, failures)
    if as_json:
        return r.print_json(rep)
    if rep.cycles_completed == 0 and rep.total_spend_usd == 0:
        r.echo(common.NO_CYCLES_HINT)
        return
    r.echo(
        f"{SUCCESS_AVERAGE}: {fmt.money(rep.avg_cost_per_success_usd)} average over {rep.successes} confirmed cycles"
    )
    r.echo(f"all spend: {fmt.money(rep.total_spend_usd)} over {rep.cycles_completed} completed cycles")
    r.echo(f"  per confirmed strategy (failures included): {fmt.money(rep.spend_per_success_usd)} ({rep.successes})")
    r.echo(f"  per promising strategy (assessment passed): {fmt.money(rep.spend_per_promising_usd)} ({rep.promising})")
    if rep.by_outcome:
        r.echo(r.bold("by outcome:"))
        rows = [[o.outcome, o.cycles, fmt.money(o.cost_usd)] for o in rep.by_outcome]
        r.table(["outcome", "cycles", "cost"], rows, right=(1, 2))
    if rep.by_model:
        r.echo(r.bold("by model:"))
        r.table(
            ["model", "calls", "cost"], [[m.name, m.calls, fmt.money(m.cost_usd)] for m in rep.by_model], right=(1, 2)
        )
        r.echo(r.bold("by phase:"))
        r.table(
            ["phase", "calls", "cost"], [[m.name, m.calls, fmt.money(m.cost_usd)] for m in rep.by_phase], right=(1, 2)
        )
    if rep.costliest_failures:
        r.echo(r.bold("costliest failed cycles:"))
        C = r.Col
        r.table(
            [
                C("id", right=True),
                C("strategy", max_width=30),
                C("outcome", max_width=22),
                C("cost", right=True),
                C("reason", max_width=50, drop=1),
            ],
            [
                [f.id, r.name(f.strategy), f.outcome, fmt.money(f.cost_usd), r.short(f.failure_reason, 50)]
                for f in rep.costliest_failures
            ],
        )


@handle_errors
def doctor(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Check database, migrations, data, API key, prices, last tick and stuck operations; exit 1 if any fails."""
    from agentctl.reports import doctor
    from agentctl.settings import get_settings

    rep = doctor.doctor(get_settings())
    if as_json:
        r.print_json(rep)
    else:
        width = max(len(c.name) for c in rep.checks)
        for c in rep.checks:
            r.echo(f"{r.mark(c.ok)}  {c.name.ljust(width)}  {c.detail}")
            if not c.ok and c.fix:
                r.echo(f"      {' ' * width}  fix: {c.fix}")
        _sources(rep)
        r.echo("all good" if rep.ok else "something needs a person (see fix: above)")
    if not rep.ok:
        raise typer.Exit(ExitCode.NEEDS_PERSON)


def _sources(rep) -> None:
    """Where the settings came from: the ones not at their default by name, the rest counted."""
    given = {k: v for k, v in rep.sources.items() if v != "default"}
    r.echo(f"config file: {rep.config_file or 'none'}")
    width = max((len(k) for k in given), default=0)
    for name, source in given.items():
        r.echo(f"  {name.ljust(width)}  {source}")
    r.echo(f"  {len(rep.sources) - len(given)} other settings: default")


@handle_errors
def metrics(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Prometheus text exposition (for node_exporter's textfile collector): spend, limit, cycles, last tick, phase."""
    from agentctl.reports import prometheus

    with report_db() as (settings, conn):
        rep = prometheus.metrics(conn, settings)
    if as_json:
        return r.print_json(rep)
    sys.stdout.write(prometheus.prometheus_text(rep))
