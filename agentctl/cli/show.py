"""`agentctl show ID`: one cycle in full, its equity curve in the terminal and optionally as a PNG."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from agentctl import fmt
from agentctl.cli import render as r
from agentctl.cli.activity import actions_table, triggers_table
from agentctl.cli.common import JSON_HELP, image_path, report_db
from agentctl.cli.errors import fail, handle_errors, no_such_cycle
from agentctl.domain import ExitCode

TRADES_SHOWN = 10  # the last trades `show` lists without --trades

if TYPE_CHECKING:
    from agentctl.gates import GateVerdict
    from agentctl.reports.cycles import CycleDetail, CycleTrades, EquityChart
    from agentctl.reports.research import Deflated, WalkForward
    from agentctl.store.records import AssessmentRecord, BacktestRecord, TrainingRecord


@handle_errors
def show(
    cycle_id: int = typer.Argument(..., metavar="ID", min=1, help="The cycle id."),
    png: str | None = typer.Option(
        None,
        "--png",
        metavar="PATH",
        callback=image_path,
        help="Also write the equity curve as an image: PATH ends in .png (or .svg, .pdf).",
    ),
    all_trades: bool = typer.Option(False, "--trades", help=f"Every trade, not only the last {TRADES_SHOWN}."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """One cycle in full: parameters, walk-forward results, deflated Sharpe then and now, gates, assessment, final holdout (once the assessment passed), actions, triggers, equity curve, last trades."""
    from agentctl.reports import cycles

    with report_db() as (settings, conn):
        d = cycles.cycle_detail(conn, cycle_id)
        if d is None:
            no_such_cycle(cycle_id)
        if as_json and png is None:
            return r.print_json(d)
        trades = None if as_json else cycles.cycle_trades(conn, cycle_id, settings.home)
        chart = cycles.equity_chart(conn, d, settings.home)
    if png is not None:
        _write_png(d, png, chart)
    if as_json or trades is None:
        return r.print_json(d)
    _render(d, chart)
    _trades(trades, all_trades)
    _audit(d)


def _write_png(d: CycleDetail, png: str, chart: EquityChart) -> None:
    from pathlib import Path

    from agentctl.plot import equity_png

    if not chart.curve:
        fail(f"cycle {d.id} has no equity curve (no backtest result)", ExitCode.NEEDS_PERSON)
    try:
        equity_png(
            chart.curve,
            Path(png),
            title=f"cycle {d.id}: {d.strategy or ''}",
            benchmark=chart.benchmark,
            holdout_from=chart.holdout_from,
        )
    except OSError as err:
        fail(f"cannot write {png}: {err.strerror or err}", ExitCode.NEEDS_PERSON)
    r.echo(f"agentctl: equity curve written to {png}", err=True)


def _render(d: CycleDetail, chart: EquityChart) -> None:
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
    if chart.curve:
        from agentctl.plot import equity_text

        cols = r.width() or 80
        r.echo(
            equity_text(
                chart.curve,
                color=not r.plain(),
                benchmark=chart.benchmark,
                holdout_from=chart.holdout_from,
                width=min(cols, 100) - 2,
            )
        )


def _head(d: CycleDetail) -> None:
    from agentctl.reports.gate_words import failure_once  # the reports package stays out of `--help`

    head = f"cycle {d.id}: {d.strategy or '(no strategy)'}"
    state = f"outcome {d.outcome}" if d.outcome else f"active, phase {d.phase}"
    done = f", completed {fmt.when(d.completed_at)} (took {fmt.duration(d.duration_s)})" if d.completed_at else ""
    r.echo(f"{r.bold(head)}  {state}  started {fmt.when(d.created_at)}{done}")
    failure = failure_once(d.failure_reason, [d.gates.training, d.gates.backtest, d.research.holdout.gate])
    if failure:
        r.echo(f"failure: {failure}")
    if d.hypothesis:
        r.echo(f"hypothesis: {d.hypothesis}")
    if d.config:
        from agentctl.reports.cycles import parameters

        r.echo(r.bold("parameters:"))
        r.table([r.Col("parameter"), r.Col("value", max_width=60)], parameters(d.config))


def _periods(d: CycleDetail) -> None:
    """The dataset's three periods with dates, and what a trade costs."""
    t = d.training
    if t is not None and t.research_start is not None:
        shown = d.research.holdout.results or {}
        end = f" to {fmt.day(str(shown['end']))}" if shown.get("end") else ""
        r.echo(
            r.bold("periods:") + f" research {fmt.day(t.research_start)} to {fmt.day(t.research_end)} "
            f"({t.research_bars} bars), purge gap {t.purge_bars} bars, final holdout from {fmt.day(t.holdout_start)}{end}"
        )
    trading = (d.config or {}).get("trading") or {}
    if trading:
        r.echo(
            r.bold("costs:") + f" fee {fmt.text(trading.get('fee_bps'))} bp and slippage "
            f"{fmt.text(trading.get('slippage_bps'))} bp per side, {fmt.text(trading.get('direction'))}, "
            f"confidence {fmt.text(trading.get('confidence'))}"
        )


# One line per result (training, backtest): alike in shape, each says its own figures.
def _training(t: TrainingRecord) -> None:
    iterations = fmt.plural(t.iterations, "iteration")
    # Walk-forward training compares with each fold's best constant guess; an older row with its majority baseline.
    label = "majority baseline" if t.folds is None else "best constant guess"
    baseline = f"{label} {fmt.pct(t.majority_baseline_accuracy)}"
    r.echo(
        r.bold("training:") + f" accuracy {fmt.pct(t.accuracy)} ({baseline}), log loss {fmt.number(t.log_loss)}, "
        f"{iterations}{' (early stopped)' if t.early_stopped else ''}, "
        f"{fmt.duration(t.duration_s)}"
    )


def _backtest(b: BacktestRecord) -> None:
    trades = fmt.plural(b.total_trades, "trade")
    r.echo(
        r.bold("backtest:") + f" sharpe {fmt.ratio(b.sharpe)}, sortino {fmt.ratio(b.sortino)}, "
        f"return {fmt.pct(b.total_return)} (buy and hold {fmt.pct(b.buy_and_hold_return)}), "
        f"max drawdown {fmt.pct(b.max_drawdown)}, win rate {fmt.pct(b.win_rate)}, "
        f"{trades}, profit factor {fmt.ratio(b.profit_factor)}"
    )
    r.echo(
        f"  CAGR {fmt.pct(b.cagr)}, Calmar {fmt.ratio(b.calmar)}, exposure {fmt.pct(b.exposure)} of bars, "
        f"average trade {fmt.pct(b.avg_trade_return, signed=True, places=2)}"
    )


def _research(d: CycleDetail) -> None:
    if d.research.walk_forward:
        _walk_forward(d.research.walk_forward)
    if d.research.deflated:
        _deflated(d.research.deflated)


def _walk_forward(w: WalkForward) -> None:
    folds = fmt.plural(len(w.folds), "fold")
    profitable = folds if w.folds_profitable is None else f"{w.folds_profitable} of {folds} profitable"
    r.echo(
        r.bold("walk-forward:") + f" {profitable}; out-of-fold accuracy "
        f"{fmt.pct(w.accuracy)} against the best constant guess {fmt.pct(w.constant_accuracy)}, "
        f"binomial p {fmt.p_value(w.binomial_p)}"
        + (f" on {w.effective_bars} independent bars" if w.effective_bars is not None else "")
    )
    if w.folds:
        r.table(
            ["fold", "sharpe", "return", "accuracy", "constant guess"],
            [
                [
                    f.fold,
                    fmt.ratio(f.sharpe),
                    fmt.pct(f.total_return),
                    fmt.pct(f.accuracy),
                    fmt.pct(f.constant_accuracy),
                ]
                for f in w.folds
            ],
            right=(0, 1, 2, 3, 4),
        )


def _tried(n: int | None) -> str:
    return f"{fmt.plural(n, 'strategy', 'strategies')} tried"


def _deflated(x: Deflated) -> None:
    then = x.at_test
    line = (
        r.bold("deflated sharpe:") + f" {fmt.ratio(then.deflated_sharpe)} at the test ({_tried(then.n_trials)}, "
        f"expected best by luck {fmt.number(then.sr0)} per bar)"
    )
    if x.now is not None:
        line += (
            f"; {fmt.ratio(x.now.deflated_sharpe)} now ({_tried(x.now.n_trials)}, "
            f"expected best by luck {fmt.number(x.now.sr0)} per bar)"
        )
    r.echo(line)
    if x.sr is not None:
        r.echo(
            f"  sharpe {fmt.number(x.sr)} per bar over {x.t} bars, skew {fmt.ratio(x.skew)}, kurtosis {fmt.ratio(x.kurtosis)}, "
            f"variance of trials {fmt.number(x.var_trials)} ({x.variance_source or 'source not recorded'})"
        )


def _holdout(d: CycleDetail) -> None:
    h = d.research.holdout
    if h.results is None:
        r.echo(h.line)
        return
    res = h.results
    trades = fmt.plural(res.get("total_trades"), "trade")
    r.echo(
        r.bold("final holdout:")
        + f" sharpe {fmt.ratio(res.get('sharpe'))} (p {fmt.p_value(res.get('sharpe_p_value'))}), "
        f"return {fmt.pct(res.get('total_return'))} (buy and hold {fmt.pct(res.get('buy_and_hold_return'))}), "
        f"max drawdown {fmt.pct(res.get('max_drawdown'))}, {trades}, {fmt.plural(res.get('bars'), 'bar')}"
    )
    _gate("final holdout", h.gate)
    if h.tested_on_dataset is not None:
        from agentctl.reports.research import tested_line

        ds = (d.config or {}).get("dataset") or {}
        name = f"{ds.get('symbol')}/{ds.get('timeframe')}" if ds else None
        r.echo(f"  {tested_line(name, h.tested_on_dataset, h.confirmed_on_dataset or 0)}")


def _gate(name: str, gate: GateVerdict | None) -> None:
    if gate is None:
        return
    from agentctl.reports.gate_words import plain_reasons

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
        f"cost {fmt.money(tot.cost_usd)}"
    )
    if d.actions:
        actions_table(d.actions, with_cycle=False)
        if d.actions_shown < tot.actions:
            r.echo(f"  ... {tot.actions - d.actions_shown} more: `agentctl actions {d.id} --limit {tot.actions}`")
    r.echo(r.bold("triggers:") + f" {len(d.triggers)}")
    if d.triggers:
        triggers_table(d.triggers)


def _trades(t: CycleTrades, every: bool) -> None:
    """The last trades of each backtest recomputed (every one with --trades), or why there are none."""
    for what, rows in (("research backtest", t.research), ("final holdout", t.holdout)):
        if rows is None:
            continue
        shown = rows if every else rows[-TRADES_SHOWN:]
        more = "" if len(shown) == len(rows) else f", the last {len(shown)} (all: --trades)"
        r.echo(r.bold("trades:") + f" {fmt.plural(len(rows), 'trade')} in the {what}{more}")
        if shown:
            r.table(
                [
                    r.Col("#", right=True),
                    r.Col("side"),
                    r.Col("entry"),
                    r.Col("exit"),
                    r.Col("bars", right=True, drop=1),
                    r.Col("return", right=True),
                ],
                [
                    [
                        x.trade,
                        x.direction,
                        fmt.day(x.entry_time),
                        fmt.day(x.exit_time),
                        x.bars_held,
                        fmt.pct(x.net_return, signed=True, places=2),
                    ]
                    for x in shown
                ],
            )
    for note in t.notes:
        r.echo(note)
