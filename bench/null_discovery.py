"""Null discovery: does noise pass the research protocol? Baseline strategies on random walks and on real data.

    .venv/bin/python -m bench.null_discovery [--strategies N] [--seed S] [--jobs J] [--write]

Several hundred strategies from the baseline designer (`agent.baseline.propose`, seeded,
each validated with `lab.strategy.validate_strategy`, a hash already drawn drawn again as
the designer does) run through the real lab code, stage by stage as the tick runs them:
`train` → `training_gate` → `run_backtest` → `backtest_gate` → the baseline's `judge`
(its `passed`) → `run_holdout` on the sealed final holdout → `confirmation_gate`.

Two universes, each its own "database" with its own trial count, side by side:
- noise: for each bundled dataset (SP500/1d, NASDAQ/1d, AAPL/1d, AAPL/1h), a random walk with
  the same timestamps, bar count and per-bar standard deviation of log close returns, no drift,
  imported with `data.import_dataset` into a temporary AGENTCTL_HOME as RW_<symbol>;
- real: the bundled datasets themselves.
The strategies are paired: strategy k is the same config in both universes, on the dataset's
noise twin in the first.

The trials grow as in the tick: the k-th strategy of a universe is backtested with the
data-snooping family of every strategy trained on its dataset so far, itself included (their
out-of-fold excess returns), and with n_trials = k and the earlier research Sharpes for the
deflated Sharpe it reports. Training and the holdout do not depend on the trials, so they may
run in a process pool (--jobs); backtests and gates then run in strategy order.

The `--holdout-all` diagnostic (on by default) also runs the final holdout of every trained
strategy, whatever its gates said, to measure the confirmation gate's own false-positive rate
on noise (it should be about confirm_alpha); the protocol's figures count a holdout test only
after a passed assessment, as the tick does. `run_holdout` depends only on the config and the
data (models are seeded), so the protocol's test reuses that result.

The pipeline functions here are also what tests/lab/test_null_discovery.py runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
DATASETS = (("SP500", "1d"), ("NASDAQ", "1d"), ("AAPL", "1d"), ("AAPL", "1h"))
NOISE_PREFIX = "RW_"
Z95 = 1.959963984540054


# -- noise datasets ----------------------------------------------------------------------------


def random_walk(real: Any, seed: int) -> Any:
    """A driftless random walk with `real`'s timestamps, bar count and per-bar volatility of log returns.

    Close-to-close log returns are Gaussian with exactly the standard deviation (ddof=1) of
    `real`'s, split into an overnight gap (open = previous close times exp(gap)) and a body
    (close = open times exp(body)) in the proportion of `real`'s gap and body variances.
    High and low bracket open and close by exponential wicks of `real`'s mean wick lengths;
    the volume is `real`'s.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    o, h, l, c = (np.log(real[k].to_numpy()) for k in ("open", "high", "low", "close"))
    n = len(c)
    sigma = float(np.std(np.diff(c), ddof=1))
    gap_var, body_var = float(np.var(o[1:] - c[:-1])), float(np.var(c - o))
    gap_share = min(0.9, gap_var / (gap_var + body_var)) if gap_var + body_var > 0 else 0.0
    gap = rng.normal(0.0, math.sqrt(gap_share), n)
    body = rng.normal(0.0, math.sqrt(1 - gap_share), n)
    gap[0] = 0.0
    step = gap + body
    scale = sigma / float(np.std(step[1:], ddof=1))  # the realised volatility is exactly real's
    gap, body = gap * scale, body * scale
    log_close = o[0] + np.cumsum(gap + body)
    log_open = log_close - body
    top, bottom = np.maximum(log_open, log_close), np.minimum(log_open, log_close)
    up = float(np.mean(h - np.maximum(o, c)))
    down = float(np.mean(np.minimum(o, c) - l))
    out = pd.DataFrame(
        {
            "open": np.exp(log_open),
            "high": np.exp(top + rng.exponential(up, n) if up > 0 else top),
            "low": np.exp(bottom - rng.exponential(down, n) if down > 0 else bottom),
            "close": np.exp(log_close),
            "volume": real["volume"].to_numpy(),
        },
        index=real.index,
    )
    # exp() of the bracketing logs can round inside open/close by one ulp; the import checks it.
    out["high"] = out[["open", "high", "close"]].max(axis=1)
    out["low"] = out[["open", "low", "close"]].min(axis=1)
    return out


def log_return_sd(df: Any) -> float:
    import numpy as np

    return float(np.std(np.diff(np.log(df["close"].to_numpy())), ddof=1))


def import_noise(
    home: Path, symbol: str, timeframe: str, seed: int, name: str | None = None, last: int | None = None
) -> tuple[str, str, int]:
    """Import a random-walk twin of a bundled dataset (its last `last` bars if given) as `name` (RW_<symbol>)."""
    from agentctl.lab.data import import_dataset, load_ohlcv

    real = load_ohlcv(symbol, timeframe, None)
    if last is not None:
        real = real.iloc[-last:]
    walk = random_walk(real, seed)
    name = name or NOISE_PREFIX + symbol
    csv = Path(home) / f"{name}_{timeframe}.csv"
    Path(home).mkdir(parents=True, exist_ok=True)
    walk.index.name = "timestamp"
    walk.to_csv(csv)
    # The bundled timestamps are taken as they are (a market closure may exceed the gap rule).
    info = import_dataset(csv, name, timeframe, Path(home), allow_gaps=True, replace=True)
    csv.unlink()
    return info.symbol, info.timeframe, info.bars


# -- strategies --------------------------------------------------------------------------------


@dataclass
class Drawn:
    configs: list[Any]  # StrategyConfig per universe, in the order of `universes`
    dataset: str  # the real dataset's symbol/timeframe, the row it is reported under


def draw(
    n: int, seed: int, home: Path, datasets: Sequence[tuple[str, str, int]], universes: Sequence[Callable]
) -> tuple[list[Drawn], dict[str, int]]:
    """`n` distinct valid baseline strategies, each mapped into every universe (a function of the raw config and k).

    As `baseline.design` does: draw from the seeded generator, validate, skip a strategy
    already drawn (same hash). A draw invalid in any universe is skipped in all of them.
    """
    from agentctl.agent.baseline import propose
    from agentctl.lab.strategy import strategy_hash, validate_strategy

    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[Drawn] = []
    counts = {"draws": 0, "invalid": 0, "duplicate": 0}
    while len(out) < n:
        counts["draws"] += 1
        if counts["draws"] > 50 * n + 200:
            raise RuntimeError(f"only {len(out)} valid distinct strategies in {counts['draws'] - 1} draws")
        raw = propose(rng, list(datasets), len(out) + 1)
        reports = [validate_strategy(to(raw, len(out)), home) for to in universes]
        if any(r.config is None for r in reports):
            counts["invalid"] += 1
            continue
        key = strategy_hash(reports[0].config)
        if key in seen:
            counts["duplicate"] += 1
            continue
        seen.add(key)
        d = raw["dataset"]
        out.append(Drawn([r.config for r in reports], f"{d['symbol']}/{d['timeframe']}"))
    return out, counts


def walk_name(symbol: str, walk: int) -> str:
    return f"RW{walk}_{symbol}"


def as_noise(walks: int) -> Callable[[dict, int], dict]:
    """Strategy k on the (k mod walks)-th random-walk twin of its dataset."""

    def to(raw: dict, k: int) -> dict:
        return {**raw, "dataset": {**raw["dataset"], "symbol": walk_name(raw["dataset"]["symbol"], k % walks)}}

    return to


def as_is(raw: dict, k: int) -> dict:
    return raw


# -- the pipeline ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One strategy's way through the protocol in one universe."""

    dataset: str
    trained: bool = False
    error: str | None = None  # training or backtest refused the strategy (LabError)
    training_passed: bool = False
    training_hindsight: bool = False  # diagnostic: the training gate against the best constant in hindsight
    model_path: str | None = None
    backtest_ran: bool = False
    backtest_passed: bool = False
    sharpe: float | None = None
    deflated_sharpe: float | None = None
    n_trials: int | None = None
    variance_source: str | None = None
    snooping_trials: int | None = None  # strategies trained on the dataset so far, itself included
    assessed_passed: bool = False
    holdout_tested: bool = False  # the protocol's test: only after a passed assessment
    confirmed: bool = False
    # diagnostic: the confirmation gate on every trained strategy's holdout
    holdout_any: bool | None = None
    holdout_sharpe: float | None = None
    holdout_p: float | None = None
    seconds: float = 0.0  # training, its gate and the holdout diagnostic
    holdout_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def train_stage(config: Any, home: Path, model_path: Path, dataset: str, holdout_all: bool) -> Outcome:
    """Training, its gate and (with `holdout_all`) the holdout diagnostic: nothing here depends on other trials."""
    from agentctl.gates import GateThresholds
    from agentctl.lab.features import LabError
    from agentctl.lab.gates import confirmation_gate, training_gate
    from agentctl.lab.holdout import run_holdout
    from agentctl.lab.training import DEFAULT_FOLDS, train

    started = time.perf_counter()
    out = Outcome(dataset=dataset)
    try:
        result = train(config, home, model_path, folds=DEFAULT_FOLDS)
    except LabError as exc:
        out.error = f"training: {exc}"
        out.seconds = time.perf_counter() - started
        return out
    out.trained, out.model_path = True, str(model_path)
    out.training_passed = training_gate(result, GateThresholds()).passed
    out.training_hindsight = hindsight_pass(result, GateThresholds().training_alpha)
    if holdout_all:
        _holdout(out, config, home, run_holdout, confirmation_gate)
    out.seconds = time.perf_counter() - started
    return out


def hindsight_pass(result: Any, alpha: float) -> bool:
    """The training gate's test against the out-of-fold bars' majority class share (the best constant in hindsight).

    The gate's own null is the accuracy of each fold's training-majority class on the fold;
    on a driftless walk that class is often the fold's minority, and a model that predicts
    both classes then beats it by luck. A diagnostic only: the protocol uses the gate.
    """
    from agentctl.lab import stats

    p0 = max(result.constant_accuracy, *result.class_balance.values())
    correct = round(result.oof_correct * result.effective_bars / result.oof_bars)
    return result.accuracy > p0 and stats.binomial_edge_p(correct, result.effective_bars, p0) < alpha


def _holdout(out: Outcome, config: Any, home: Path, run_holdout: Callable, confirmation_gate: Callable) -> None:
    from agentctl.gates import GateThresholds
    from agentctl.lab.features import LabError

    started = time.perf_counter()
    try:
        h = run_holdout(config, home)
    except LabError as exc:
        out.holdout_any = False
        out.notes.append(f"holdout: {exc}")
        return
    finally:
        out.holdout_seconds = time.perf_counter() - started
    out.holdout_any = confirmation_gate(h, GateThresholds()).passed
    out.holdout_sharpe, out.holdout_p = h.sharpe, h.sharpe_p_value


def _train_job(args: tuple) -> Outcome:
    config_json, home, model_path, dataset, holdout_all = args
    from agentctl.lab.strategy import StrategyConfig

    return train_stage(
        StrategyConfig.model_validate_json(config_json), Path(home), Path(model_path), dataset, holdout_all
    )


def research_stage(configs: Sequence[Any], outcomes: Sequence[Outcome], home: Path) -> None:
    """Backtests, gates, assessment and the holdout test of one universe, in strategy order (the trials grow)."""
    from agentctl.agent.baseline import judge
    from agentctl.gates import GateThresholds
    from agentctl.lab.backtest import run_backtest
    from agentctl.lab.features import LabError
    from agentctl.lab.gates import backtest_gate, confirmation_gate
    from agentctl.lab.holdout import run_holdout
    from agentctl.lab.training import trial_location

    gates = GateThresholds()
    sharpes: list[float] = []  # the recorded research Sharpes, in order
    family: dict[str, list[str]] = {}  # per dataset, every strategy trained there so far: the snooping family
    for k, (config, out) in enumerate(zip(configs, outcomes, strict=True), start=1):
        earlier = family.setdefault(f"{config.dataset.symbol}/{config.dataset.timeframe}", [])
        if out.trained:
            paths = list(earlier)
            earlier.append(trial_location(out.model_path))
        if not out.training_passed:
            continue  # the cycle ended at training; it still counts as tried (n_trials = k below)
        try:
            bt = run_backtest(config, out.model_path, home, k, list(sharpes), paths)
        except LabError as exc:
            out.error = f"backtest: {exc}"
            continue
        out.backtest_ran, out.sharpe, out.deflated_sharpe, out.n_trials = True, bt.sharpe, bt.deflated_sharpe, k
        out.variance_source, out.snooping_trials = bt.variance_source, bt.snooping_trials
        sharpes.append(bt.sharpe)
        out.backtest_passed = backtest_gate(bt, gates).passed
        if not out.backtest_passed:
            continue
        out.assessed_passed = bool(judge(bt.model_dump(mode="json"), gates)["passed"])
        if not out.assessed_passed:
            continue
        out.holdout_tested = True
        if out.holdout_any is None:
            _holdout(out, config, home, run_holdout, confirmation_gate)
        out.confirmed = bool(out.holdout_any)


def run_universe(
    configs: Sequence[Any], datasets: Sequence[str], home: Path, holdout_all: bool = True
) -> list[Outcome]:
    """The whole protocol for one universe, in one process (the test's path)."""
    models = Path(home) / "models"
    models.mkdir(parents=True, exist_ok=True)
    outcomes = [
        train_stage(c, home, models / f"s{k}.joblib", d, holdout_all)
        for k, (c, d) in enumerate(zip(configs, datasets, strict=True))
    ]
    research_stage(configs, outcomes, home)
    return outcomes


# -- statistics ---------------------------------------------------------------------------------


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k/n (0, 1 when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(max(0, k), n + 1))


def rate(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.1%} [{lo:.1%}, {hi:.1%}]" if n else "0/0"


# -- the benchmark -----------------------------------------------------------------------------


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _prepare(home: Path, seed: int, walks: int) -> list[tuple[str, str, int]]:
    """Import `walks` random walks per bundled dataset; the bundled datasets as the designer's list."""
    from agentctl.lab.data import load_ohlcv

    real = []
    for i, (symbol, timeframe) in enumerate(DATASETS):
        bars = load_ohlcv(symbol, timeframe, None)
        sds = []
        for j in range(walks):
            name = walk_name(symbol, j)
            import_noise(home, symbol, timeframe, seed * 1000 + i * 100 + j, name=name)
            sds.append(log_return_sd(load_ohlcv(name, timeframe, home)))
        _log(
            f"{symbol}/{timeframe}: {len(bars)} bars, sd of log returns {log_return_sd(bars):.5f}; "
            f"its {walks} random walks: {', '.join(f'{x:.5f}' for x in sds)}"
        )
        real.append((symbol, timeframe, len(bars)))
    return real


def _train_all(jobs: list[tuple], processes: int) -> list[Outcome]:
    started = time.perf_counter()
    out: list[Outcome] = []

    def report(o: Outcome, universe: str) -> None:
        out.append(o)
        done = len(out)
        eta = (time.perf_counter() - started) / done * (len(jobs) - done)
        mark = "error" if o.error else ("pass" if o.training_passed else "fail")
        _log(f"[{done}/{len(jobs)}] {universe} {o.dataset} training {mark} {o.seconds:.1f}s, eta {eta / 60:.1f} min")

    universes = [j[-1] for j in jobs]
    if processes <= 1:
        for j, u in zip(jobs, universes, strict=True):
            report(_train_job(j[:-1]), u)
        return out
    with ProcessPoolExecutor(processes) as pool:
        for o, u in zip(pool.map(_train_job, [j[:-1] for j in jobs]), universes, strict=True):
            report(o, u)
    return out


def _processes(asked: int) -> int:
    load = os.getloadavg()[0]
    if asked > 1 and load > 1.0:
        _log(f"load average {load:.1f}: others are using the cores, running in 1 process instead of {asked}")
        return 1
    return max(1, asked)


def _run(args: argparse.Namespace) -> tuple[dict[str, list[Outcome]], int]:
    home = Path(tempfile.mkdtemp(prefix="agentctl-null-"))
    os.environ["AGENTCTL_HOME"] = str(home)
    datasets = _prepare(home, args.seed, args.walks)
    drawn, counts = draw(args.strategies, args.seed, home, datasets, [as_noise(args.walks), as_is])
    _log(
        f"{len(drawn)} strategies ({counts['draws']} draws: {counts['invalid']} invalid, {counts['duplicate']} repeats)"
    )
    names = ("noise", "real")
    (home / "models").mkdir()
    jobs = []
    for k, d in enumerate(drawn):
        for u, name in enumerate(names):
            model = str(home / "models" / f"{name}{k}.joblib")
            jobs.append((d.configs[u].model_dump_json(), str(home), model, d.dataset, not args.no_holdout_all, name))
    trained = _train_all(jobs, _processes(args.jobs))
    results = {}
    for u, name in enumerate(names):
        _log(f"{name}: backtests, gates, assessments and holdout tests in strategy order")
        research_stage([d.configs[u] for d in drawn], trained[u::2], home)
        results[name] = trained[u::2]
    shutil.rmtree(home, ignore_errors=True)  # the walks and the saved predictions
    return results, len(drawn)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--strategies", type=int, default=400, help="strategies per universe (default 400: ~19 min here)")
    ap.add_argument("--seed", type=int, default=1, help="seeds the designer's draws and the random walks")
    ap.add_argument("--walks", type=int, default=5, help="random walks per dataset; strategy k uses walk k mod walks")
    ap.add_argument("--jobs", type=int, default=1, help="training processes (more than 1 only when the load is < 1)")
    ap.add_argument("--no-holdout-all", action="store_true", help="skip the holdout diagnostic on every strategy")
    ap.add_argument("--write", action="store_true", help="replace the table in BENCHMARKS.md's ## Null discovery")
    ap.add_argument("--json", type=Path, help="also write every outcome to this file")
    args = ap.parse_args(argv)
    from bench.null_report import table, write_table

    started, load_before = time.perf_counter(), os.getloadavg()
    results, n = _run(args)
    wall = time.perf_counter() - started
    runs = [o for r in results.values() for o in r]
    per, hold = (sum(getattr(o, a) for o in runs) / len(runs) for a in ("seconds", "holdout_seconds"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = (
        table(results)
        + f"\n\n{n} strategies per universe, seed {args.seed}, {args.walks} random walks per dataset; "
        + f"{wall / 60:.1f} min wall on {os.cpu_count()} cores, {'1 process' if _processes(args.jobs) == 1 else f'{args.jobs} processes'}; "
        + f"load average {load_before[0]:.1f} at the start, {load} (1, 5, 15 min) at the end; per strategy and universe "
        + f"{per:.2f} s (training {per - hold:.2f} s, holdout diagnostic {hold:.2f} s)."
    )
    print(text)
    if args.write:
        write_table(text)
    if args.json:
        args.json.write_text(json.dumps({k: [o.__dict__ for o in v] for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
