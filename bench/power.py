"""Discovery power: when a series really holds an edge, does the research protocol find and confirm it?

    .venv/bin/python -m bench.power [--quick] [--kinds K,..] [--strengths S,..] [--seeds N]
        [--cycles K] [--series NAME,..] [--noise NAME,..|none] [--jobs J] [--write] [--json FILE]

Edges of known strength (bench/planted.py: momentum, mean reversion over 5 bars, a 20-bar
oscillator, 2-bar-lag momentum) are planted in the bodies of synthetic series shaped like
the bundled datasets and like a 20-year daily series (5,040 business days, 1 % daily vol,
a 4-year holdout). Each edge's coefficient is calibrated by bisection so that the ORACLE,
which holds sign(true drift of the next bar) (flat when |drift| <= a threshold chosen to
maximise its Sharpe after costs), earns the target Sharpe after the project's costs (fee
1 bp + slippage 1 bp per fill, the engine `lab.backtest.simulate`, Sharpe as the lab
annualises it) on one 300,000-bar series. The oracle's own probability of confirmation is
measured over 400 independent series of the deployment's shape, by the same holdout score
and `confirmation_gate` strategies are confirmed by: that is the limit any strategy faces.

A deployment is one series (a planted edge or a noise universe), its own temporary
AGENTCTL_HOME holding only that series, its own designer seed, K cycles in sequence with the
trials growing as in the tick. `design` and `run_cycle` are the two seams the lab's search and
gates change; everything else only measures. Deployments run in a process pool (--jobs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import null_discovery as nd
from bench import planted
from bench import power_report as report_
from bench.oracle import ORACLE_SERIES, calibration, oracle_confirmation, oracle_holdout, research_per_year

STRENGTHS = (0.5, 1.0, 1.5, 2.0)
DAILY = "daily20y"
BUNDLED = tuple(f"{s}/{t}" for s, t in nd.DATASETS)


# -- shapes ------------------------------------------------------------------------------------


def shape_for(series: str) -> planted.Shape:
    """The shape of a named series: a bundled dataset's ("SP500/1d") or N years of daily bars ("daily20y")."""
    from agentctl.lab.data import load_ohlcv

    daily = re.fullmatch(r"daily(\d+)y", series)
    if daily:  # N years of business days at 1 % daily vol, SP500's gap split, wicks and volume
        return planted.daily_shape(shape_for("SP500/1d"), bars=252 * int(daily[1]), sigma=0.01)
    symbol, timeframe = series.split("/")
    return planted.shape_of(load_ohlcv(symbol, timeframe, None), series, timeframe)


# -- one deployment ----------------------------------------------------------------------------


@dataclass(kw_only=True)
class CycleOutcome(nd.Outcome):
    """One cycle of a deployment: null_discovery's Outcome plus the stage reached and its gates' figures."""

    cycle: int
    stage: str = (
        "failed_design"  # domain.Outcome's names; "not_confirmed" is the tick's failed_assessment after a holdout
    )
    strategy: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


@dataclass
class Deployment:
    """One universe of one series: what the tick's database would hold, in memory."""

    home: Path
    datasets: list[tuple[str, str, int]]  # the designer's list: (symbol, timeframe, bars)
    designer_seed: str
    tried: set[str] = field(default_factory=set)  # hashes of every strategy saved (cycles.strategies_tried)
    trial_sharpes: list[float] = field(default_factory=list)  # research Sharpes recorded (cycles.trial_sharpes)
    objectives: dict[str, float | None] = field(default_factory=dict)  # hash -> training's excess t (dataset_trials)
    search: str = "tpe"  # the baseline's sampler (AGENTCTL_SEARCH); "random" is the ablation
    gates: dict[str, Any] = field(default_factory=dict)  # GateThresholds overrides: the gates' ablations
    trial_paths: list[str] = field(default_factory=list)  # every trained strategy's excess returns: the family
    history: list[CycleOutcome] = field(default_factory=list)  # earlier cycles, for a designer that learns


def design(dep: Deployment, cycle: int) -> Any:
    """The designer: the baseline's own search (`baseline.proposal`), fed this deployment's research results."""
    from agentctl.agent import search
    from agentctl.agent.baseline import proposal
    from agentctl.lab.strategy import strategy_hash, validate_strategy

    datasets = [(symbol, timeframe, 1.0) for symbol, timeframe, _ in dep.datasets]
    found = proposal(dep.home, datasets, f"{dep.designer_seed}:{cycle}", lambda s, t: dep.objectives, dep.search, cycle)
    if isinstance(found, str):
        return None
    config = validate_strategy(found["config"], dep.home).config
    if config is not None:
        ds = config.dataset
        search.remember(dep.home, ds.symbol, ds.timeframe, strategy_hash(config), found["params"])
    return config


def _verdict(out: CycleOutcome, verdict: Any, result: Any, names: Sequence[str]) -> bool:
    out.reasons += verdict.reasons
    for name in names:
        value = getattr(result, name, None)
        out.figures[f"{verdict.gate}.{name}"] = value if not isinstance(value, float) else round(value, 5)
    return bool(verdict.passed)


TRAINING_FIGURES = ("excess_sharpe", "excess_t", "excess_p_value", "accuracy", "constant_accuracy")
BACKTEST_FIGURES = ("sharpe", "excess_sharpe", "snooping_p_value", "snooping_trials", "effective_trials")
BACKTEST_FIGURES += ("deflated_sharpe", "max_drawdown", "buy_and_hold_drawdown", "total_trades")
HOLDOUT_FIGURES = ("excess_sharpe", "excess_p_value", "sharpe", "total_trades")


def run_cycle(dep: Deployment, cycle: int) -> CycleOutcome:
    """One research cycle in the tick's order: design -> train -> gates -> backtest -> judge -> holdout -> confirm."""
    from agentctl.lab.features import LabError
    from agentctl.lab.strategy import strategy_hash
    from agentctl.lab.training import DEFAULT_FOLDS, train

    config = design(dep, cycle)
    out = CycleOutcome(dataset=dep.datasets[0][0], cycle=cycle)
    if config is None:
        return out
    chash = strategy_hash(config)
    dep.tried.add(chash)  # saved: it counts as a trial whatever becomes of it
    dep.objectives[chash] = None  # until it trains
    out.strategy, model = config.name, dep.home / "models" / f"c{cycle}.joblib"
    try:
        tr = train(config, dep.home, model, folds=DEFAULT_FOLDS)
        out.trained, out.stage = True, "failed_training_gate"
        dep.objectives[chash] = tr.excess_t
        earlier = list(dep.trial_paths)
        dep.trial_paths.append(str(tr.trial_path))
        _research(dep, config, out, tr, model, earlier)
    except LabError as exc:
        out.error = f"{out.stage}: {exc}"
        out.stage = "failed_training" if not out.trained else out.stage
    finally:
        model.unlink(missing_ok=True)
    return out


def _research(dep: Deployment, config: Any, out: CycleOutcome, tr: Any, model: Path, earlier: list[str]) -> None:
    """The gates after training, as the tick runs them: backtest among the dataset's trials, judge, holdout."""
    from agentctl.agent.baseline import judge
    from agentctl.gates import GateThresholds
    from agentctl.lab.backtest import run_backtest
    from agentctl.lab.gates import backtest_gate, confirmation_gate, training_gate
    from agentctl.lab.holdout import run_holdout

    gates = GateThresholds(**dep.gates)
    out.training_passed = _verdict(out, training_gate(tr, gates), tr, TRAINING_FIGURES)
    if not out.training_passed:
        return
    out.stage = "failed_backtest"
    bt = run_backtest(config, model, dep.home, len(dep.tried), list(dep.trial_sharpes), earlier)
    dep.trial_sharpes.append(bt.sharpe)
    out.backtest_ran, out.sharpe, out.deflated_sharpe, out.n_trials = True, bt.sharpe, bt.deflated_sharpe, bt.n_trials
    out.snooping_trials = bt.snooping_trials
    out.backtest_passed = _verdict(out, backtest_gate(bt, gates), bt, BACKTEST_FIGURES)
    out.stage = "failed_backtest_gate" if not out.backtest_passed else "failed_assessment"
    out.assessed_passed = out.backtest_passed and bool(judge(bt.model_dump(mode="json"), gates)["passed"])
    if not out.assessed_passed:
        return
    out.holdout_tested, out.stage = True, "not_confirmed"
    h = run_holdout(config, dep.home)
    out.holdout_sharpe, out.holdout_p = h.excess_sharpe, h.excess_p_value
    out.confirmed = _verdict(out, confirmation_gate(h, gates), h, HOLDOUT_FIGURES)
    out.holdout_any = out.confirmed
    out.stage = "success" if out.confirmed else out.stage


@dataclass
class Spec:
    """What one deployment runs: a planted edge (kind, strength) or a noise universe (strength None)."""

    kind: str
    strength: float | None
    series: str
    seed: int
    cycles: int
    cal: dict | None = None  # the edge's calibration (c, threshold, per_year)
    stop_at_first: bool = False  # an edge's deployment ends at its first confirmation (--stop-at-first)
    search: str = "tpe"
    gates: dict[str, Any] = field(default_factory=dict)

    @property
    def cell(self) -> str:
        return report_.cell_name(asdict(self))


def make_series(spec: Spec, shape: planted.Shape) -> planted.Series:
    seed = zlib.crc32(f"{spec.kind}:{spec.strength}:{spec.series}:{spec.seed}".encode())
    if spec.strength is None:
        return planted.noise(spec.kind, shape, seed, research_per_year(shape, 0))
    return planted.planted(planted.EDGES[spec.kind], spec.cal["c"], shape, seed)


def deploy(spec: Spec) -> dict[str, Any]:
    """One deployment in its own temporary home; returns its cycles and the oracle on its own holdout."""
    from agentctl.lab.data import import_dataset
    from agentctl.lab.gates import confirmation_gate

    started = time.perf_counter()
    shape = shape_for(spec.series)
    series = make_series(spec, shape)
    home = Path(tempfile.mkdtemp(prefix="agentctl-power-"))
    before = os.environ.get("AGENTCTL_HOME")
    os.environ["AGENTCTL_HOME"] = str(home)  # nothing should read it, but nothing may read another home
    try:
        csv = home / "series.csv"
        series.bars.rename_axis("timestamp").to_csv(csv)
        symbol = "PL_" + "".join(ch for ch in spec.kind.upper() if ch.isalnum())[:20]
        info = import_dataset(csv, symbol, shape.timeframe, home, allow_gaps=True, replace=True)
        csv.unlink()
        (home / "models").mkdir()
        dep = Deployment(
            home, [(info.symbol, info.timeframe, info.bars)], f"{spec.seed}", search=spec.search, gates=spec.gates
        )
        for cycle in range(1, spec.cycles + 1):
            dep.history.append(run_cycle(dep, cycle))
            if spec.stop_at_first and spec.strength is not None and dep.history[-1].confirmed:
                break  # per-deployment power counts the first confirmation; later cycles change nothing
        oracle = None
        if spec.strength is not None:
            held = oracle_holdout(series, planted.EDGES[spec.kind], spec.cal, shape.timeframe)
            oracle = confirmation_gate(held).passed
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if before is None:
            os.environ.pop("AGENTCTL_HOME", None)
        else:
            os.environ["AGENTCTL_HOME"] = before
    return {
        "spec": asdict(spec),
        "cycles": [asdict(o) for o in dep.history],
        "oracle_confirmed": oracle,
        "seconds": time.perf_counter() - started,
    }


def run_all(specs: Sequence[Spec], processes: int) -> list[dict[str, Any]]:
    """Every deployment, in a pool of `processes`, with progress and an ETA on stderr."""
    started, out = time.perf_counter(), []
    total = sum(s.cycles for s in specs)

    def report(result: dict) -> None:
        out.append(result)
        done = sum(r["spec"]["cycles"] for r in out)  # a deployment stopped early counts whole
        eta = (time.perf_counter() - started) / done * (total - done)
        wins = sum(c["confirmed"] for c in result["cycles"])
        cell = report_.cell_name(result["spec"])
        nd._log(
            f"[{len(out)}/{len(specs)}] {cell} seed {result['spec']['seed']}: {wins} confirmed, "
            f"{result['seconds']:.0f} s; eta {eta / 60:.1f} min"
        )

    if processes <= 1:
        for s in specs:
            report(deploy(s))
        return out
    with ProcessPoolExecutor(processes) as pool:
        for fut in as_completed([pool.submit(deploy, s) for s in specs]):
            report(fut.result())
    return out


# -- the plan ----------------------------------------------------------------------------------


def plan(args: argparse.Namespace) -> tuple[list[Spec], dict[str, dict]]:
    """The deployments to run and, per planted cell, its calibration and the oracle's confirmation probability."""
    specs, cells = [], {}
    ablation = (args.search, args.gates)
    for series in args.series:
        shape = shape_for(series)
        daily = series not in BUNDLED
        for kind in args.kinds:
            for strength in args.strengths if daily else args.bundled_strengths:
                cal = calibration(kind, strength, shape)
                spec = Spec(kind, strength, series, 0, args.cycles, cal)
                if args.oracle_series:
                    started = time.perf_counter()
                    cal = {**cal, **oracle_confirmation(kind, cal, shape, args.oracle_series)}
                    nd._log(
                        f"oracle {spec.cell}: confirmed on {cal['confirmed']} of {cal['series']} holdouts "
                        f"({time.perf_counter() - started:.0f} s)"
                    )
                cells[spec.cell] = cal
                seeds = args.seeds if daily else args.bundled_seeds
                specs += [
                    Spec(kind, strength, series, s, args.cycles, spec.cal, args.stop_at_first, *ablation)
                    for s in range(args.first_seed, args.first_seed + seeds)
                ]
    for kind in args.noise:
        first = args.first_seed
        specs += [
            Spec(kind, None, DAILY, s, args.cycles, None, False, *ablation)
            for s in range(first, first + args.noise_seeds)
        ]
    return specs, cells


# -- main --------------------------------------------------------------------------------------


def _names(text: str) -> list[str]:
    return [x for x in (s.strip() for s in text.split(",")) if x and x != "none"]


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="Sharpe 1.0 and 1.5, 20-year series, 2 seeds, 25 cycles")
    ap.add_argument("--kinds", type=_names, default=list(planted.EDGES), help="planted edges (comma-separated)")
    ap.add_argument("--strengths", type=lambda s: [float(x) for x in _names(s)], help="oracle Sharpes, 20-year series")
    ap.add_argument(
        "--bundled-strengths",
        type=lambda s: [float(x) for x in _names(s)],
        default=[1.0, 2.0],
        help="oracle Sharpes on bundled-shaped series",
    )
    ap.add_argument("--seeds", type=int, help="deployments per cell on the 20-year series (4; quick 2)")
    ap.add_argument("--bundled-seeds", type=int, default=2, help="deployments per cell on bundled-shaped series")
    ap.add_argument("--cycles", type=int, help="cycles per deployment (50; quick 25)")
    ap.add_argument("--series", type=_names, help=f"{DAILY} and/or {', '.join(BUNDLED)} (quick: {DAILY})")
    ap.add_argument("--noise", type=_names, default=list(planted.NOISE), help="noise universes, or none")
    ap.add_argument("--noise-seeds", type=int, help="deployments per noise universe (8; quick 2)")
    ap.add_argument("--first-seed", type=int, default=1, help="to add deployments to an earlier run")
    ap.add_argument("--search", choices=("tpe", "random"), default="tpe", help="the baseline's sampler (ablation)")
    ap.add_argument("--gates", type=json.loads, default={}, help="GateThresholds overrides, JSON (ablation)")
    ap.add_argument("--oracle-series", type=int, default=ORACLE_SERIES, help="series for the oracle's limit")
    ap.add_argument("--jobs", type=int, default=2, help="deployment processes (1 when the load is high)")
    ap.add_argument("--stop-at-first", action="store_true", help="end an edge's deployment at its first confirmation")
    ap.add_argument("--write", action="store_true", help="replace the block in BENCHMARKS.md's ## Discovery power")
    ap.add_argument("--json", type=Path, help="write every deployment, cycle and calibration to this file")
    args = ap.parse_args(argv)
    quick = args.quick
    args.strengths = args.strengths or ([1.0, 1.5] if quick else list(STRENGTHS))
    args.seeds = args.seeds or (2 if quick else 4)
    args.cycles = args.cycles or (25 if quick else 50)
    args.series = args.series or ([DAILY] if quick else [DAILY, *BUNDLED])
    args.noise_seeds = args.noise_seeds or (2 if quick else 8)
    unknown = [k for k in args.kinds if k not in planted.EDGES] + [k for k in args.noise if k not in planted.NOISE]
    unknown += [s for s in args.series if not re.fullmatch(r"daily\d+y", s) and s not in BUNDLED]
    if unknown:
        ap.error(f"unknown kind, universe or series: {', '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    started, load_before = time.perf_counter(), os.getloadavg()
    specs, cells = plan(args)
    processes = max(1, args.jobs)  # power is not timed: other load slows it, it does not skew it
    nd._log(f"{len(specs)} deployments, {sum(s.cycles for s in specs)} cycles, {processes} process(es)")
    results = run_all(specs, processes)
    wall = time.perf_counter() - started
    cycles = [c for r in results for c in r["cycles"]]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    footer = (
        f"{'--quick: ' if args.quick else ''}{len(results)} deployments, {len(cycles)} cycles; "
        f"{wall / 60:.1f} min wall on {os.cpu_count()} cores, {processes} process(es), "
        f"{sum(r['seconds'] for r in results) / max(1, len(cycles)):.1f} s per cycle; load average "
        f"{load_before[0]:.1f} at the start, {load} (1, 5, 15 min) at the end."
    )
    text = report_.report(results, cells, footer)
    print(text)
    if args.write:
        report_.write_block(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": vars(args) | {"json": str(args.json)}, "cells": cells, "deployments": results, "wall_s": wall},
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
