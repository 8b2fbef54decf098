"""`agentctl show ID`: one cycle in full, its equity curve in the terminal and optionally as a PNG."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

from agentctl.cli import render as r
from agentctl.cli.activity import actions_table, triggers_table
from agentctl.cli.common import JSON_HELP, image_path, report_db
from agentctl.cli.errors import fail, handle_errors
from agentctl.domain import ExitCode
from agentctl.reports.words import failure_once, plain_reasons

if TYPE_CHECKING:
    from agentctl.lab.gates import GateVerdict
    from agentctl.reports import CycleDetail
    from agentctl.reports.research import Deflated, WalkForward
    from agentctl.store.records import AssessmentRecord, BacktestRecord, TrainingRecord


@handle_errors
def show(
    cycle_id: int = typer.Argument(..., metavar="ID", min=1, help="The cycle (session) id."),
    png: str | None = typer.Option(
        None,
        "--png",
        metavar="PATH",
        callback=image_path,
        help="Also write the equity curve as an image: PATH ends in .png (or .svg, .pdf).",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """One cycle in full: strategy, walk-forward results, deflated Sharpe then and now, gates, assessment, final holdout (once the assessment passed), actions, triggers, equity curve."""
    from agentctl import reports

    with report_db() as (settings, conn):
        d = reports.cycle_detail(conn, cycle_id)
    if d is None:
        fail(f"no cycle {cycle_id}: see `agentctl cycles --recent`", ExitCode.USAGE)
    if as_json and png is None:
        return r.print_json(d)
    benchmark = _benchmark(d, settings.home)
    if png is not None:
        _write_png(d, png, benchmark)
    if as_json:
        return r.print_json(d)
    _render(d, benchmark)


def _benchmark(d: CycleDetail, home) -> list[float] | None:
    """Buy and hold over the equity curve's bars, from the dataset (None when it is not here or changed)."""
    from agentctl.reports.cycles import buy_and_hold_curve

    return buy_and_hold_curve(d.config, d.equity_curve, home)


def _write_png(d: CycleDetail, png: str, benchmark: list[float] | None) -> None:
    from pathlib import Path

    from agentctl.plot import equity_png

    if not d.equity_curve:
        fail(f"cycle {d.id} has no equity curve (no backtest result)", ExitCode.NEEDS_PERSON)
    try:
        equity_png(d.equity_curve, Path(png), title=f"cycle {d.id}: {d.strategy or ''}", benchmark=benchmark)
    except OSError as err:
        fail(f"cannot write {png}: {err.strerror or err}", ExitCode.NEEDS_PERSON)
    print(f"agentctl: equity curve written to {png}", file=sys.stderr)


def _render(d: CycleDetail, benchmark: list[float] | None) -> None:
    _head(d)
    _periods(d)
    if d.training:
        _training(d.training)
    _gate("training", d.gates.training)
    if d.backtest:
        _backtest(d.backtest)
    _gate("backtest", d.gates.backtest)
    _research(d)
    if d.assessment:
        _assessment(d.assessment)
    _holdout(d)
    if d.equity_curve:
        from agentctl.plot import equity_text

        r.echo(equity_text(d.equity_curve, color=not r.plain(), benchmark=benchmark))
    _audit(d)


def _head(d: CycleDetail) -> None:
    head = f"cycle {d.id}: {d.strategy or '(no strategy)'}"
    state = f"outcome {d.outcome}" if d.outcome else f"active, phase {d.phase}"
    done = f", completed {r.when(d.completed_at)} (took {r.duration(d.duration_s)})" if d.completed_at else ""
    r.echo(f"{r.bold(head)}  {state}  started {r.when(d.created_at)}{done}")
    failure = failure_once(d.failure_reason, [d.gates.training, d.gates.backtest, d.research.holdout.gate])
    if failure:
        r.echo(f"failure: {failure}")
    if d.hypothesis:
        r.echo(f"hypothesis: {d.hypothesis}")
    if d.config:
        cfg = {k: v for k, v in d.config.items() if k != "hypothesis"}
        r.echo("config:")
        for line in json.dumps(cfg, indent=2, default=str).splitlines():
            r.echo(f"  {line}")


def _day(t) -> str:
    if t is None:
        return "-"
    return t.strftime("%Y-%m-%d") if (t.hour, t.minute) == (0, 0) else t.strftime("%Y-%m-%d %H:%M")


def _signed_pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:+.2f}%"


def _periods(d: CycleDetail) -> None:
    """The dataset's three periods with dates, and what a trade costs."""
    t = d.training
    if t is not None and t.research_start is not None:
        shown = d.research.holdout.results or {}
        end = f" to {str(shown['end'])[:10]}" if shown.get("end") else ""
        r.echo(
            r.bold("periods:") + f" research {_day(t.research_start)} to {_day(t.research_end)} "
            f"({t.research_bars} bars), purge gap {t.purge_bars} bars, final holdout from {_day(t.holdout_start)}{end}"
        )
    trading = (d.config or {}).get("trading") or {}
    if trading:
        r.echo(
            r.bold("costs:") + f" fee {trading.get('fee_bps', '-')} bp and slippage "
            f"{trading.get('slippage_bps', '-')} bp per side, {trading.get('direction', '-')}, "
            f"confidence {trading.get('confidence', '-')}"
        )


def _training(t: TrainingRecord) -> None:
    iterations = "-" if t.iterations is None else t.iterations
    # Walk-forward training compares with each fold's best constant guess; an older row with its majority baseline.
    label = "majority baseline" if t.folds is None else "best constant guess"
    baseline = f"{label} {r.fixed(t.majority_baseline_accuracy, 4)}"
    r.echo(
        r.bold("training:") + f" accuracy {r.fixed(t.accuracy, 4)} ({baseline}), log loss {r.fixed(t.log_loss, 4)}, "
        f"{iterations} iterations{' (early stopped)' if t.early_stopped else ''}, "
        f"{r.duration(t.duration_s)}"
    )


def _backtest(b: BacktestRecord) -> None:
    trades = "-" if b.total_trades is None else b.total_trades
    r.echo(
        r.bold("backtest:") + f" sharpe {r.fixed(b.sharpe)}, sortino {r.fixed(b.sortino)}, "
        f"return {r.pct(b.total_return)} (buy and hold {r.pct(b.buy_and_hold_return)}), "
        f"max drawdown {r.pct(b.max_drawdown)}, win rate {r.pct(b.win_rate)}, "
        f"{trades} trades, profit factor {r.fixed(b.profit_factor)}"
    )
    r.echo(
        f"  CAGR {r.pct(b.cagr)}, Calmar {r.fixed(b.calmar)}, exposure {r.pct(b.exposure)} of bars, "
        f"average trade {_signed_pct(b.avg_trade_return)}"
    )


def _research(d: CycleDetail) -> None:
    if d.research.walk_forward:
        _walk_forward(d.research.walk_forward)
    if d.research.deflated:
        _deflated(d.research.deflated)


def _walk_forward(w: WalkForward) -> None:
    profitable = "-" if w.folds_profitable is None else w.folds_profitable
    r.echo(
        r.bold("walk-forward:") + f" {profitable} of {len(w.folds)} folds profitable; out-of-fold accuracy "
        f"{r.fixed(w.accuracy, 4)} against the best constant guess {r.fixed(w.constant_accuracy, 4)}, "
        f"binomial p {r.fixed(w.binomial_p, 4)}"
        + (f" on {w.effective_bars} independent bars" if w.effective_bars is not None else "")
    )
    if w.folds:
        r.table(
            ["fold", "sharpe", "return", "accuracy", "constant guess"],
            [
                [
                    f.fold,
                    r.fixed(f.sharpe),
                    r.pct(f.total_return),
                    r.fixed(f.accuracy, 4),
                    r.fixed(f.constant_accuracy, 4),
                ]
                for f in w.folds
            ],
            right=(0, 1, 2, 3, 4),
        )


def _tried(n: int | None) -> str:
    return f"{'-' if n is None else n} {'strategy' if n == 1 else 'strategies'} tried"


def _deflated(x: Deflated) -> None:
    then = x.at_test
    line = (
        r.bold("deflated sharpe:") + f" {r.fixed(then.deflated_sharpe, 3)} at the test ({_tried(then.n_trials)}, "
        f"expected best by luck {r.fixed(then.sr0, 4)} per bar)"
    )
    if x.now is not None:
        line += (
            f"; {r.fixed(x.now.deflated_sharpe, 3)} now ({_tried(x.now.n_trials)}, "
            f"expected best by luck {r.fixed(x.now.sr0, 4)} per bar)"
        )
    r.echo(line)
    if x.sr is not None:
        r.echo(
            f"  sharpe {r.fixed(x.sr, 4)} per bar over {x.t} bars, skew {r.fixed(x.skew)}, kurtosis {r.fixed(x.kurtosis)}, "
            f"variance of trials {x.var_trials} ({x.variance_source or 'source not recorded'})"
        )


def _holdout(d: CycleDetail) -> None:
    h = d.research.holdout
    if h.results is None:
        r.echo(h.line)
        return
    res = h.results
    trades = res.get("total_trades", "-")
    r.echo(
        r.bold("final holdout:") + f" sharpe {r.fixed(res.get('sharpe'))} (p {r.fixed(res.get('sharpe_p_value'), 4)}), "
        f"return {r.pct(res.get('total_return'))} (buy and hold {r.pct(res.get('buy_and_hold_return'))}), "
        f"max drawdown {r.pct(res.get('max_drawdown'))}, {trades} trades, {res.get('bars', '-')} bars"
    )
    _gate("final holdout", h.gate)


def _gate(name: str, gate: GateVerdict | None) -> None:
    if gate is None:
        return
    if gate.passed:
        r.echo(f"  {name} gate: passed")
    else:
        r.echo(f"  {name} gate: FAILED: {plain_reasons(gate)}")


def _assessment(a: AssessmentRecord) -> None:
    r.echo(
        r.bold("assessment:") + f" {'passed' if a.passed else 'not passed'}" + (f": {a.verdict}" if a.verdict else "")
    )
    if a.explanation:
        r.echo(f"  {a.explanation}")
    for label, items in (("strength", a.strengths), ("weakness", a.weaknesses), ("suggestion", a.suggestions)):
        for item in items:
            r.echo(f"  {label}: {item}")


def _audit(d: CycleDetail) -> None:
    tot = d.totals
    r.echo(
        r.bold("actions:") + f" {tot.actions} ({tot.model_calls} model calls), tokens in {tot.tokens_input:,} "
        f"out {tot.tokens_output:,} cache write {tot.tokens_cache_write:,} read {tot.tokens_cache_read:,}, "
        f"cost {r.usd(tot.cost_usd)}"
    )
    if d.actions:
        actions_table(d.actions, with_cycle=False)
        if d.actions_shown < tot.actions:
            r.echo(f"  ... {tot.actions - d.actions_shown} more: `agentctl actions {d.id} --limit {tot.actions}`")
    r.echo(r.bold("triggers:") + f" {len(d.triggers)}")
    if d.triggers:
        triggers_table(d.triggers)
