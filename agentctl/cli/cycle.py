"""`agentctl tick`, `run` and `cancel`: moving the research cycle forward."""

from __future__ import annotations

import json
import signal
import sys
from typing import TYPE_CHECKING, Any

import typer

from agentctl import fmt
from agentctl.cli import render
from agentctl.cli.errors import fail, handle_errors
from agentctl.domain import ExitCode

if TYPE_CHECKING:
    from agentctl.runner import CycleSummary


def tick() -> None:
    """Advance the research cycle by one step (run this from cron every minute)."""
    from agentctl.cli.entry import tick as run_tick

    raise typer.Exit(run_tick())


def run(
    cycles: int = typer.Option(1, "--cycles", "-n", min=1, max=10000, help="Stop after this many cycles complete."),
    interval: float = typer.Option(5.0, "--interval", min=0.0, max=3600.0, help="Seconds between ticks."),
    as_json: bool = typer.Option(False, "--json", help="Print the completed cycles' summaries as JSON."),
) -> None:
    """Tick in the foreground until N cycles complete, showing phase, progress and spend."""
    _run(cycles, interval, as_json)


@handle_errors
def _run(cycles: int, interval: float, as_json: bool) -> None:
    from agentctl.lab.universe import check_run_time_settings
    from agentctl.runner import cycle_summary, run_cycles
    from agentctl.settings import get_settings
    from agentctl.store import open_database

    settings = get_settings()
    check_run_time_settings(settings)
    display = _Display(live=not render.plain(sys.stderr) and not as_json)

    def on_tick(state) -> None:
        display.update(state)
        ctrl_c.check()

    try:
        with CtrlC() as ctrl_c:
            ids = run_cycles(settings, cycles, interval, on_tick)
    except KeyboardInterrupt:
        display.close()
        fail(interrupted(settings, display.last), 130)
    finally:
        display.close()
    last = display.last
    if last is not None and last.result.exit_code == ExitCode.NEEDS_PERSON:
        fail(last.result.message or "a tick needs attention", ExitCode.NEEDS_PERSON)
    with open_database(settings, autocommit=True) as conn:
        summaries = [cycle_summary(conn, i) for i in ids]
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") if s else None for s in summaries], indent=2))
    else:
        for s in summaries:
            _print_summary(s)


def interrupted(settings, last) -> str:
    """What Ctrl-C leaves behind, as the database has it (the last tick seen may predate the cycle's end).

    An active cycle stays active (its lab operation keeps running) until a tick or `cancel` ends it.
    """
    from agentctl.store import open_database
    from agentctl.store import reports as store

    try:
        with open_database(settings, autocommit=True) as conn:
            cycle = store.current_cycle(conn)
    except Exception:  # the database is what failed: say what the last tick saw
        return _interrupted_as_seen(last)
    if cycle is None:
        return "interrupted: no cycle is active"
    return _still_active(cycle.id, cycle.phase)


def _interrupted_as_seen(last) -> str:
    r = last.result if last is not None else None
    if r is None or r.cycle_id is None or r.outcome:
        return "interrupted: no cycle was in progress"
    return _still_active(r.cycle_id, r.phase)


def _still_active(cycle_id: int, phase) -> str:
    phase = f" (phase {phase})" if phase else ""
    return (
        f"interrupted: cycle {cycle_id}{phase} is still active and its operation may still be running; "
        "the next tick (cron, or `agentctl run`) carries it on, `agentctl cancel` ends it"
    )


def cancel(as_json: bool = typer.Option(False, "--json", help="Print what was cancelled as JSON.")) -> None:
    """End the active cycle with outcome `cancelled` (its operation is stopped)."""
    _cancel(as_json)


@handle_errors
def _cancel(as_json: bool) -> None:
    from agentctl.settings import get_settings
    from agentctl.tick import cancel_active

    result = cancel_active(get_settings())
    if result.locked_out:
        fail(result.message, result.exit_code)
    if as_json:
        cancelled = result.cycle_id is not None
        body = {"cancelled": cancelled, "cycle_id": result.cycle_id, "outcome": result.outcome if cancelled else None}
        typer.echo(json.dumps(body, indent=2))
        return
    if result.cycle_id is None:
        render.echo("no active cycle: nothing to cancel")
        return
    render.echo(f"cycle {result.cycle_id} cancelled")


class CtrlC:
    """Ctrl-C during `run`: raised where it lands, and remembered until the tick ends.

    Python drops a KeyboardInterrupt raised inside a finalizer (say, a collected
    connection's __del__), so a Ctrl-C landing there would leave `run` ticking on.
    A run started with SIGINT ignored (nohup, `&` in a script) keeps ignoring it.
    """

    def __init__(self) -> None:
        self.seen = False
        self._before: Any = None

    def __enter__(self) -> CtrlC:
        self._before = signal.getsignal(signal.SIGINT)
        if self._before is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._before is not None:  # None: set outside Python; then it stays as we found it
            signal.signal(signal.SIGINT, self._before)

    def _handle(self, signum: int, frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C came, even if the raise where it landed was lost."""
        if self.seen:
            raise KeyboardInterrupt


class _Display:
    """Live progress on a terminal; one plain line per tick otherwise (stderr: it is progress, not output)."""

    def __init__(self, live: bool):
        self.last = None
        self._progress = None
        if live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[spend]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._task = self._progress.add_task("starting", total=100, spend="")
            self._progress.start()

    def update(self, state) -> None:
        self.last = state
        r = state.result
        spend = f"{fmt.money(state.spent_usd)} of {fmt.money(state.limit_usd)} today"
        if self._progress is None:
            render.echo(f"tick {state.tick}: {r.line()} · cycles {state.completed}/{state.target} · {spend}", err=True)
            return
        pct = float(r.progress.get("progress_pct") or 0) if r.progress else (100.0 if r.outcome else 0.0)
        desc = f"cycle {r.cycle_id or '-'} {r.outcome or r.phase or r.trigger_reason or ''}"
        self._progress.update(self._task, description=desc, completed=pct, spend=spend)
        self._progress.console.print(f"tick {state.tick}: {r.line()}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _print_summary(s: CycleSummary | None) -> None:
    if s is None:
        return
    lines = [f"cycle {s.id}: {s.strategy or '(no strategy)'} -> {s.outcome}"]
    if s.dataset:
        d = s.dataset
        lines.append(f"  dataset     {d.get('symbol')} {d.get('timeframe')} · model {s.model}")
    if s.hypothesis:
        lines.append(f"  hypothesis  {s.hypothesis}")
    from agentctl.reports.gate_words import GATE_WORDS, failure_once, plain_reasons

    # Each gate's reasons once, in words; the failure reason then names the gate rather than repeat them.
    for name, g in s.gates.items():
        if g:
            lines.append(
                f"  {GATE_WORDS.get(name, name)} gate {'passed' if g.passed else 'FAILED'}: {plain_reasons(g)}"
            )
    if s.training:
        t = s.training
        lines.append(
            f"  training    out-of-fold accuracy {fmt.pct(t['accuracy'])} vs best constant guess"
            f" {fmt.pct(t['constant_accuracy'])} (p {fmt.p_value(t['accuracy_p_value'])})"
            f" · log loss {fmt.number(t['log_loss'])}"
        )
    if s.backtest:
        b = s.backtest
        lines.append(
            f"  backtest    Sharpe {fmt.ratio(b['sharpe'])} · return {fmt.pct(b['total_return'])}"
            f" (buy & hold {fmt.pct(b['buy_and_hold_return'])}) · max DD {fmt.pct(b['max_drawdown'])}"
            f" · win {fmt.pct(b['win_rate'])} · trades {fmt.count(b['total_trades'])}"
        )
    if s.verdict:
        lines.append(f"  assessment  {'passed' if s.assessment_passed else 'not passed'}: {s.verdict}")
    failure = failure_once(s.failure_reason, s.gates.values(), where="above")
    if failure:
        lines.append(f"  reason      {failure}")
    lines.append(f"  cost        {fmt.money(s.cost_usd or 0)} · {fmt.duration(s.duration_s or 0)}")
    render.echo("\n".join(lines))
