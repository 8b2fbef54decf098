"""Report commands: status, cycles, show, budget, cost, actions, triggers, doctor, metrics.

Thin: open the database, call one function of agentctl.reports, render. `--json`
prints the report's model as JSON (keys in README "Reports"); without a TTY or
with NO_COLOR the text is plain (no colour, no box drawing).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import typer

from agentctl.cli.errors import EXIT_NEEDS_PERSON, EXIT_USAGE, fail, handle_errors
from agentctl.domain import Outcome

JSON_HELP = "Print the report as JSON (stable keys, see README)."


def register(app: typer.Typer) -> None:
    """Add the report commands and the `budget` sub-app to the top-level app."""
    app.command("status")(status)
    app.command("cycles")(cycles)
    app.command("show")(show)
    app.add_typer(budget_app, name="budget")
    app.command("cost")(cost)
    app.command("actions")(actions)
    app.command("triggers")(triggers)
    app.command("doctor")(doctor)
    app.command("metrics")(metrics)


# -- rendering helpers ---------------------------------------------------------------------------


def plain() -> bool:
    """Plain text: no TTY on stdout, or NO_COLOR set (any value, per no-color.org)."""
    return "NO_COLOR" in os.environ or not sys.stdout.isatty()


def _echo(text: str = "") -> None:
    typer.echo(text)


def _json(model: Any) -> None:
    data = model.model_dump(mode="json") if hasattr(model, "model_dump") else model
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> None:
    cells = [[_cell(c) for c in r] for r in rows]
    if plain():
        widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

        def line(vals):
            out = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(vals, widths, strict=False))]
            return "  ".join(out).rstrip()

        _echo(line(headers))
        for r in cells:
            _echo(line(r))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if i in right else "left", overflow="fold")
    for r in cells:
        t.add_row(*r)
    Console().print(t)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, datetime):
        return _when(v)
    return str(v)


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _usd(v: float | None, places: int = 4) -> str:
    return "-" if v is None else f"${v:,.{places}f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def _f(v: float | None, places: int = 2) -> str:
    return "-" if v is None else f"{v:.{places}f}"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def _bold(text: str) -> str:
    return text if plain() else typer.style(text, bold=True)


def _warn(text: str) -> str:
    return f"warning: {text}" if plain() else typer.style(f"warning: {text}", fg="yellow")


@contextmanager
def _db() -> Iterator[Any]:
    from agentctl.settings import get_settings
    from agentctl.store import open_database

    settings = get_settings()
    with open_database(settings, autocommit=True) as conn:
        yield settings, conn


# -- status ----------------------------------------------------------------------------------------


@handle_errors
def status(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """The active cycle, today's budget, the last tick and anything that needs attention."""
    from agentctl import reports

    with _db() as (settings, conn):
        st = reports.status(conn, settings)
    if as_json:
        return _json(st)
    c = st.active_cycle
    if c is None:
        _echo("no active cycle: the next tick starts one" if st.last_trigger else reports.NO_CYCLES_HINT)
    else:
        _echo(
            f"{_bold(f'cycle {c.id}')}  {c.phase} for {_dur(c.seconds_in_phase)}"
            f"  (started {_dur(c.seconds_since_start)} ago)  strategy: {c.strategy or '-'}"
        )
        op = c.operation
        if op is not None:
            pct = "" if op.progress_pct is None else f" {op.progress_pct:.0f}%"
            msg = f" {op.progress_message}" if op.progress_message else ""
            hb = f"  heartbeat {_dur(op.heartbeat_age_s)} ago" if op.heartbeat_age_s is not None else ""
            seen = "" if op.source == "operations" else "  (as of the last tick)"
            _echo(f"  operation {op.id}: {op.status or 'unknown'}{pct}{msg}{hb}{seen}")
    b = st.budget
    _echo(
        f"budget {b.date}: {_usd(b.used_usd)} of {_usd(b.limit_usd, 2)} used, {_usd(b.reserved_usd)} reserved, "
        f"{_usd(b.remaining_usd)} left; {b.invocations} invocations, "
        f"{b.cycles_started} cycles started, {b.cycles_completed} completed"
    )
    t = st.last_trigger
    if t is not None:
        why = f" ({t.skip_reason})" if t.skip_reason else (" (agent invoked)" if t.agent_invoked else "")
        cyc = f" cycle {t.session_id}" if t.session_id else ""
        _echo(f"last tick {_dur(t.age_s)} ago ({_when(t.triggered_at)}): {t.trigger_reason}{why}{cyc}")
    for w in st.warnings:
        _echo(_warn(w.message))


# -- cycles ----------------------------------------------------------------------------------------


@handle_errors
def cycles(
    recent: int = typer.Option(10, "--recent", "-n", min=1, max=10000, help="How many recent cycles."),
    outcome: Outcome | None = typer.Option(None, "--outcome", help="Only cycles with this outcome."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Recent completed cycles: strategy, outcome, Sharpe, win rate, drawdown, trades, cost, duration, verdict."""
    from agentctl import reports

    with _db() as (_, conn):
        rows = reports.recent_cycles(conn, recent, outcome.value if outcome else None)
    if as_json:
        return _json([r.model_dump(mode="json") for r in rows])
    if not rows:
        _echo(f"no completed cycles with outcome {outcome.value}" if outcome else reports.NO_CYCLES_HINT)
        return
    _table(
        ["id", "strategy", "outcome", "sharpe", "win", "maxdd", "trades", "cost", "took", "verdict"],
        [
            [
                r.id,
                r.strategy,
                r.outcome,
                _f(r.sharpe),
                _pct(r.win_rate),
                _pct(r.max_drawdown),
                r.trades,
                _usd(r.cost_usd),
                _dur(r.duration_s),
                _short(r.verdict, 40),
            ]
            for r in rows
        ],
        right=(0, 3, 4, 5, 6, 7, 8),
    )


def _short(text: str | None, n: int) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# -- show ------------------------------------------------------------------------------------------


@handle_errors
def show(
    cycle_id: int = typer.Argument(..., metavar="ID", min=1, help="The cycle (session) id."),
    png: str | None = typer.Option(None, "--png", metavar="PATH", help="Also write the equity curve as a PNG image."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """One cycle in full: strategy, results, gates, assessment, actions, triggers and its equity curve."""
    from pathlib import Path

    from agentctl import reports

    with _db() as (_, conn):
        d = reports.cycle_detail(conn, cycle_id)
    if d is None:
        fail(f"no cycle {cycle_id}: see `agentctl cycles --recent`", EXIT_USAGE)
    if png is not None:
        if not d.equity_curve:
            fail(f"cycle {cycle_id} has no equity curve (no backtest result)", EXIT_NEEDS_PERSON)
        from agentctl.plot import equity_png

        try:
            equity_png(d.equity_curve, Path(png), title=f"cycle {d.id}: {d.strategy or ''}")
        except OSError as err:
            fail(f"cannot write {png}: {err.strerror or err}", EXIT_NEEDS_PERSON)
        print(f"agentctl: equity curve written to {png}", file=sys.stderr)
    if as_json:
        return _json(d)
    _render_detail(d)


def _render_detail(d) -> None:
    head = f"cycle {d.id}: {d.strategy or '(no strategy)'}"
    state = f"outcome {d.outcome}" if d.outcome else f"active, phase {d.phase}"
    _echo(
        f"{_bold(head)}  {state}  started {_when(d.created_at)}"
        + (f", completed {_when(d.completed_at)} (took {_dur(d.duration_s)})" if d.completed_at else "")
    )
    if d.failure_reason:
        _echo(f"failure: {d.failure_reason}")
    if d.hypothesis:
        _echo(f"hypothesis: {d.hypothesis}")
    if d.config:
        cfg = {k: v for k, v in d.config.items() if k != "hypothesis"}
        _echo("config:")
        for line in json.dumps(cfg, indent=2, default=str).splitlines():
            _echo(f"  {line}")
    if d.training:
        t = d.training
        _echo(
            _bold("training:") + f" accuracy {_f(t.get('accuracy'), 4)} (majority baseline "
            f"{_f(t.get('majority_baseline_accuracy'), 4)}), log loss {_f(t.get('log_loss'), 4)}, "
            f"{t.get('iterations', '-')} iterations{' (early stopped)' if t.get('early_stopped') else ''}, "
            f"{_dur(t.get('duration_s'))}"
        )
    _gate("training", d.gates.get("training"))
    if d.backtest:
        b = d.backtest
        _echo(
            _bold("backtest:") + f" sharpe {_f(b.get('sharpe'))}, sortino {_f(b.get('sortino'))}, "
            f"return {_pct(b.get('total_return'))} (buy and hold {_pct(b.get('buy_and_hold_return'))}), "
            f"max drawdown {_pct(b.get('max_drawdown'))}, win rate {_pct(b.get('win_rate'))}, "
            f"{b.get('total_trades', '-')} trades, profit factor {_f(b.get('profit_factor'))}, "
            f"deflated sharpe {_f(b.get('deflated_sharpe'), 3)}"
        )
    _gate("backtest", d.gates.get("backtest"))
    a = d.assessment
    if a:
        passed = a.get("passed")
        _echo(
            _bold("assessment:")
            + f" {'passed' if passed else 'not passed'}"
            + (f": {a.get('verdict')}" if a.get("verdict") else "")
        )
        if a.get("explanation"):
            _echo(f"  {a['explanation']}")
        for key in ("strengths", "weaknesses", "suggestions"):
            for item in a.get(key) or []:
                _echo(f"  {key[:-1] if key != 'weaknesses' else 'weakness'}: {item}")
    if d.equity_curve:
        from agentctl.plot import equity_text

        _echo(equity_text(d.equity_curve, color=not plain()))
    tot = d.totals
    _echo(
        _bold("actions:") + f" {tot.actions} ({tot.model_calls} model calls), tokens in {tot.tokens_input:,} "
        f"out {tot.tokens_output:,} cache write {tot.tokens_cache_write:,} read {tot.tokens_cache_read:,}, "
        f"cost {_usd(tot.cost_usd)}"
    )
    if d.actions:
        _actions_table(d.actions, with_cycle=False)
        if d.actions_shown < tot.actions:
            _echo(f"  ... {tot.actions - d.actions_shown} more: `agentctl actions {d.id} --limit {tot.actions}`")
    _echo(_bold("triggers:") + f" {len(d.triggers)}")
    if d.triggers:
        _triggers_table(d.triggers)


def _gate(name: str, gate: dict | None) -> None:
    if not gate:
        return
    if gate.get("passed"):
        _echo(f"  {name} gate: passed")
    else:
        _echo(f"  {name} gate: FAILED: {'; '.join(gate.get('reasons') or []) or 'no reason recorded'}")


def _actions_table(rows, *, with_cycle: bool = True) -> None:
    headers = (
        ["id", "time"]
        + (["cycle"] if with_cycle else [])
        + ["tool", "model", "in", "out", "cache w/r", "cost", "ms", "result"]
    )
    body = []
    for a in rows:
        cache = (
            "-"
            if a.tokens_cache_write is None and a.tokens_cache_read is None
            else f"{a.tokens_cache_write or 0}/{a.tokens_cache_read or 0}"
        )
        result = "ok" if a.success else f"error: {_short(a.error_message, 40) or '?'}"
        body.append(
            [a.id, a.action_at]
            + ([a.session_id] if with_cycle else [])
            + [a.tool_name, a.model, a.tokens_input, a.tokens_output, cache, _usd(a.cost_usd), a.latency_ms, result]
        )
    off = 1 if with_cycle else 0
    _table(headers, body, right=(0, *range(2, 2 + off), *range(4 + off, 9 + off)))


def _triggers_table(rows) -> None:
    _table(
        ["id", "time", "reason", "cycle", "agent", "skip reason", "used", "left"],
        [
            [
                t.id,
                t.triggered_at,
                t.trigger_reason,
                t.session_id,
                t.agent_invoked,
                t.skip_reason,
                _usd(t.budget_used_today_usd),
                _usd(t.budget_remaining_usd),
            ]
            for t in rows
        ],
        right=(0, 3, 6, 7),
    )


# -- budget ----------------------------------------------------------------------------------------

budget_app = typer.Typer(
    help="Today's budget and the last days; `budget set AMOUNT` changes a limit.",
    invoke_without_command=True,
    no_args_is_help=False,
)


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
    from agentctl import reports
    from agentctl.plot import bar

    with _db() as (settings, conn):
        rep = reports.budget_report(conn, settings, days)
    if as_json:
        return _json(rep)
    t = rep.today
    _echo(
        f"today {t.date}: {_usd(t.used_usd)} of {_usd(t.limit_usd, 2)} used, {_usd(t.reserved_usd)} reserved, "
        f"{_usd(t.remaining_usd)} left (default limit for new days {_usd(rep.default_limit_usd, 2)})"
    )
    if not t.exists:
        _echo("no tick has opened today yet: " + reports.NO_TICK_HINT.split(": ", 1)[1])
    scale = max([d.limit_usd for d in rep.days] + [d.used_usd for d in rep.days] + [0.0])
    _table(
        ["date", "limit", "used", "left", "invocations", "cycles", "spend"],
        [
            [
                d.date,
                _usd(d.limit_usd, 2),
                _usd(d.used_usd),
                _usd(d.remaining_usd),
                d.invocations,
                f"{d.cycles_completed}/{d.cycles_started}",
                bar(d.used_usd, scale, 30, "#" if plain() else "█"),
            ]
            for d in rep.days
        ],
        right=(1, 2, 3, 4, 5),
    )
    _echo("(cycles: completed/started; bars: spend against the largest limit shown)")


def _amount(value: str) -> str:
    from agentctl.reports import parse_amount

    try:
        return str(parse_amount(value))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    from agentctl.reports import parse_day

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
    from datetime import date
    from decimal import Decimal

    from agentctl import reports

    if default and day is not None:
        raise typer.BadParameter("--date and --default do not go together", param_hint="'--date'")
    with _db() as (settings, conn):
        try:
            ch = reports.set_budget(
                conn, settings, Decimal(amount), day=date.fromisoformat(day) if day else None, default=default
            )
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="'--date'") from None
    if as_json:
        return _json(ch)
    old = _usd(ch.old_limit_usd, 2) if ch.old_limit_usd is not None else "the default"
    if ch.scope == "default":
        _echo(f"default limit for new days: {old} -> {_usd(ch.new_limit_usd, 2)}")
        return
    _echo(f"limit for {ch.date}: {old} -> {_usd(ch.new_limit_usd, 2)} ({_usd(ch.used_usd)} already used)")
    if ch.used_usd is not None and ch.used_usd >= ch.new_limit_usd:
        _echo(_warn("already spent at least the new limit: no more model calls that day"))


# -- cost ------------------------------------------------------------------------------------------


@handle_errors
def cost(
    failures: int = typer.Option(5, "--failures", min=0, max=100, help="How many of the costliest failed cycles."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Cost per successful strategy, all spend per success, by model, by phase, costliest failures."""
    from agentctl import reports

    with _db() as (_, conn):
        rep = reports.cost_report(conn, failures)
    if as_json:
        return _json(rep)
    if rep.cycles_completed == 0 and rep.total_spend_usd == 0:
        _echo(reports.NO_CYCLES_HINT)
        return
    _echo(
        f"cost per successful strategy (seed query): {_usd(rep.avg_cost_per_success_usd)} average "
        f"over {rep.successes} successful cycles"
    )
    _echo(f"all spend: {_usd(rep.total_spend_usd)} over {rep.cycles_completed} completed cycles")
    _echo(f"  per successful cycle (failures included): {_usd(rep.spend_per_success_usd)} ({rep.successes})")
    _echo(f"  per promising strategy (assessment passed): {_usd(rep.spend_per_promising_usd)} ({rep.promising})")
    if rep.by_outcome:
        _echo(_bold("by outcome:"))
        _table(
            ["outcome", "cycles", "cost"],
            [[o.outcome, o.cycles, _usd(o.cost_usd)] for o in rep.by_outcome],
            right=(1, 2),
        )
    if rep.by_model:
        _echo(_bold("by model:"))
        _table(["model", "calls", "cost"], [[m.name, m.calls, _usd(m.cost_usd)] for m in rep.by_model], right=(1, 2))
        _echo(_bold("by phase:"))
        _table(["phase", "calls", "cost"], [[m.name, m.calls, _usd(m.cost_usd)] for m in rep.by_phase], right=(1, 2))
    if rep.costliest_failures:
        _echo(_bold("costliest failed cycles:"))
        _table(
            ["id", "strategy", "outcome", "cost", "reason"],
            [
                [f.id, f.strategy, f.outcome, _usd(f.cost_usd), _short(f.failure_reason, 50)]
                for f in rep.costliest_failures
            ],
            right=(0, 3),
        )


# -- audit trail -----------------------------------------------------------------------------------


@handle_errors
def actions(
    cycle_id: int | None = typer.Argument(None, metavar="[ID]", min=1, help="Only this cycle's actions."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=100000, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The audit trail of model and tool calls: tokens, cost, latency, errors."""
    from agentctl import reports

    with _db() as (_, conn):
        if cycle_id is not None and not reports.session_exists(conn, cycle_id):
            fail(f"no cycle {cycle_id}: see `agentctl cycles --recent`", EXIT_USAGE)
        rows = reports.recent_actions(conn, cycle_id, limit)
    if as_json:
        return _json([r.model_dump(mode="json") for r in rows])
    if not rows:
        _echo(
            f"cycle {cycle_id} has no actions yet"
            if cycle_id
            else "no actions yet: the agent records one per model or tool call; run `agentctl tick`"
        )
        return
    _actions_table(rows)


@handle_errors
def triggers(
    today: bool = typer.Option(False, "--today", help="Only today's (budget day) ticks, with counts by decision."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=100000, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """What each tick saw and decided: reason, agent invoked or why not, budget at the time."""
    from agentctl import reports

    with _db() as (_, conn):
        rep = reports.recent_triggers(conn, limit, today)
    if as_json:
        return _json(rep)
    if not rep.triggers:
        _echo("no tick today yet" if today else reports.NO_TICK_HINT)
        if today:
            _echo("  (run `agentctl tick`, or check that the crontab line is installed)")
        return
    _triggers_table(rep.triggers)
    if rep.counts_today:
        _echo(
            _bold("today:")
            + " "
            + ", ".join(
                f"{c.count} {c.trigger_reason}"
                + (f"/{c.skip_reason}" if c.skip_reason else "/invoked" if c.agent_invoked else "")
                for c in rep.counts_today
            )
        )


# -- doctor, metrics -------------------------------------------------------------------------------


@handle_errors
def doctor(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Check database, migrations, data, API key, prices, last tick and stuck operations; exit 1 if any fails."""
    from agentctl import reports
    from agentctl.settings import get_settings

    rep = reports.doctor(get_settings())
    if as_json:
        _json(rep)
    else:
        width = max(len(c.name) for c in rep.checks)
        for c in rep.checks:
            mark = "ok  " if c.ok else "FAIL"
            if not plain():
                mark = typer.style(mark, fg="green" if c.ok else "red", bold=not c.ok)
            _echo(f"{mark}  {c.name.ljust(width)}  {c.detail}")
            if not c.ok and c.fix:
                _echo(f"      {' ' * width}  fix: {c.fix}")
        _echo("all good" if rep.ok else "something needs a person (see fix: above)")
    if not rep.ok:
        raise typer.Exit(EXIT_NEEDS_PERSON)


@handle_errors
def metrics(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Prometheus text exposition (for node_exporter's textfile collector): spend, limit, cycles, last tick, phase."""
    from agentctl import reports

    with _db() as (settings, conn):
        rep = reports.metrics(conn, settings)
    if as_json:
        return _json(rep)
    sys.stdout.write(reports.prometheus_text(rep))
