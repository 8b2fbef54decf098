"""The offline baseline: a seeded search over the strategy space and a rule-based assessment.

Same interface and audit rows as Claude (each tool call an action row, no model
calls, cost 0). It is the offline default and the yardstick Claude must beat, so
its strategies are sensible and cheap to train: a modest dataset, a few classic
indicators, a small model.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.agent import prompts
from agentctl.agent.outcomes import AssessmentOutcome, DesignOutcome, cycle_in_phase
from agentctl.agent.tools import (
    ToolContext,
    assessment_tools,
    call_tool,
    design_tools,
    metrics_from_backtest,
)
from agentctl.domain import Phase
from agentctl.lab.universe import universe_of
from agentctl.store import cycles
from agentctl.store.budget import Budget

if TYPE_CHECKING:
    from agentctl.gates import GateThresholds
    from agentctl.store.records import BacktestRecord, Cycle


# Indicator -> (integer parameter, low, high) ranges the search draws from: classic
# momentum, trend, volatility and oscillator features that train in milliseconds.
FEATURES: dict[str, dict[str, tuple[float, float]]] = {
    "RSI": {"timeperiod": (5, 30)},
    "ROC": {"timeperiod": (3, 30)},
    "MOM": {"timeperiod": (3, 30)},
    "CCI": {"timeperiod": (5, 40)},
    "WILLR": {"timeperiod": (5, 30)},
    "CMO": {"timeperiod": (5, 30)},
    "NATR": {"timeperiod": (5, 30)},
    "STDDEV": {"timeperiod": (5, 40)},
    "ADX": {"timeperiod": (7, 28)},
    "AROONOSC": {"timeperiod": (7, 30)},
    "LINEARREG_SLOPE": {"timeperiod": (5, 40)},
    "EMA": {"timeperiod": (5, 60)},
    "SMA": {"timeperiod": (5, 60)},
    "BBANDS": {"timeperiod": (10, 40)},
    "MACD": {"fastperiod": (6, 14), "slowperiod": (20, 40), "signalperiod": (5, 12)},
    "STOCH": {},
    "BOP": {},
}


def _model(rng: random.Random) -> dict[str, Any]:
    from agentctl.lab import models

    return models.sample(rng.choice(models.baseline_draws()), rng)


def propose(rng: random.Random, datasets: list[tuple[str, str, int]], n: int) -> dict:
    """One random but sensible StrategyConfig (as a dict) from the search space."""
    symbol, timeframe, _ = rng.choice(datasets)
    chosen = rng.sample(sorted(FEATURES), rng.randint(2, 4))
    features = []
    for fn in chosen:
        params = {name: rng.randint(int(lo), int(hi)) for name, (lo, hi) in FEATURES[fn].items()}
        features.append({"function": fn, "params": params} if params else {"function": fn})
    three = rng.random() < 0.25
    hourly = timeframe.endswith(("m", "h"))
    label = {
        "horizon": rng.choice([1, 2, 3, 5] if not hourly else [1, 2, 4, 7]),
        "classes": "up_flat_down" if three else "up_down",
        "threshold": rng.choice([0.001, 0.002, 0.004] if three else [0.0]),
    }
    model = _model(rng)
    trading = {
        "confidence": rng.choice([0.4, 0.45, 0.5]) if three else rng.choice([0.52, 0.54, 0.56, 0.58]),
        "direction": "long_short" if rng.random() < 0.3 else "long_only",
        "fee_bps": 1.0,
        "slippage_bps": 1.0,
    }
    names = "-".join(f.lower().replace("_", "") for f in chosen[:3])
    return {
        "name": f"baseline-{n}-{names}"[:64].rstrip("-"),
        "hypothesis": (
            f"Baseline search: {', '.join(chosen)} on {symbol}/{timeframe} predict the "
            f"{label['horizon']}-bar {'direction with a flat band' if three else 'direction'} "
            f"with {model['family'].replace('_', ' ')}."
        ),
        "dataset": {"symbol": symbol, "timeframe": timeframe},
        "features": features,
        "label": label,
        "model": model,
        "trading": trading,
    }


UNCONFIRMABLE_WEIGHT = 0.2  # a dataset whose holdout cannot confirm Sharpe 2 gets this share of proposals


@lru_cache(maxsize=8)
def _datasets(
    home: Path, universe: tuple[tuple[str, str], ...] | None, alpha: float
) -> tuple[tuple[str, str, float], ...]:
    """The datasets the baseline proposes on, each with its share: a holdout that can confirm gets a full one."""
    from agentctl.lab.data import list_datasets
    from agentctl.lab.periods import confirmability

    out = []
    for d in list_datasets(home):
        if universe is not None and (d.symbol, d.timeframe) not in universe:
            continue
        out.append((d.symbol, d.timeframe, 1.0 if confirmability(d, alpha).can_confirm else UNCONFIRMABLE_WEIGHT))
    return tuple(out)


@contextmanager
def _invocation(conn_factory, settings, cycle_id: int, phase: Phase) -> Iterator[tuple[Any, Cycle | str]]:
    """This designer's own connection and the cycle, counted as one invocation, or why it may not work on it."""
    conn = conn_factory()
    conn.autocommit = True
    try:
        cycle = cycle_in_phase(conn, cycle_id, phase)
        if not isinstance(cycle, str):
            Budget(settings).count_invocation(conn)
        yield conn, cycle
    finally:
        conn.close()


def _propose(conn, settings, cycle_id: int) -> dict | str:
    """The next strategy (as the agent would write it) from the search, or why there is none."""
    universe = tuple(chosen) if (chosen := universe_of(settings)) is not None else None
    datasets = list(_datasets(Path(settings.home), universe, settings.gates.confirm_alpha))

    def objectives(symbol: str, timeframe: str) -> dict[str, float | None]:
        return {t.strategy_hash: t.excess_t for t in cycles.dataset_trials(conn, symbol, timeframe, cycle_id)}

    seed = f"{cycles.baseline_seed(conn, settings)}:{cycle_id}"
    return proposal(Path(settings.home), datasets, seed, objectives, settings.search, cycle_id)


def proposal(
    home: Path,
    datasets: list[tuple[str, str, float]],
    seed: str,
    objectives: Callable[[str, str], dict[str, float | None]],
    sampler: str,
    n: int,
) -> dict | str:
    """The search's next strategy: a dataset drawn by its share, then the study of that dataset asked.

    `objectives(symbol, timeframe)` gives every strategy hash tried there with its research
    objective (None: it did not train). Returns {"config", "params"}, or why there is none.
    """
    from agentctl.agent import search

    if not datasets:
        return "no datasets available"
    # Seeded by the cycle: the same cycle always proposes on the same dataset from the same history.
    symbol, timeframe, _ = random.Random(seed).choices(datasets, weights=[d[2] for d in datasets])[0]
    tried = objectives(symbol, timeframe)
    past = search.recall(home, symbol, timeframe, tried)
    try:
        raw, params = search.propose(seed, past, (symbol, timeframe), home, set(tried), sampler)
    except LookupError as exc:
        return str(exc)
    names = "-".join(f["function"].lower().replace("_", "") for f in raw["features"][:3])
    model = raw["model"]["family"].replace("_", " ")
    label = raw["label"]
    raw = {
        "name": f"baseline-{n}-{names}"[:64].rstrip("-"),
        "hypothesis": (
            f"Baseline search ({len(past)} earlier strategies on {symbol}/{timeframe}): "
            f"{', '.join(f['function'] for f in raw['features'])} predict the {label['horizon']}-bar direction "
            f"with {model}."
        ),
        **raw,
    }
    return {"config": raw, "params": params}


def design(conn_factory, settings, cycle_id: int) -> DesignOutcome:
    from agentctl.agent import search
    from agentctl.lab.strategy import strategy_hash

    with _invocation(conn_factory, settings, cycle_id, Phase.DESIGNING) as (conn, cycle):
        if isinstance(cycle, str):
            return DesignOutcome(saved=False, agent_name="baseline", failure_reason=cycle)
        proposal = _propose(conn, settings, cycle_id)
        if isinstance(proposal, str):
            return DesignOutcome(saved=False, agent_name="baseline", failure_reason=proposal)
        ctx = ToolContext(conn, settings, cycle_id, "baseline", "design")
        tools = {t.name: t for t in design_tools()}
        call_tool(ctx, tools, "validate_strategy", {"config": proposal["config"]})
        saved = call_tool(ctx, tools, "save_strategy", {"config": proposal["config"]})
        if not saved.ok:
            return DesignOutcome(saved=False, agent_name="baseline", failure_reason=saved.error)
        config, path = saved.value
        ds = config.dataset
        search.remember(Path(settings.home), ds.symbol, ds.timeframe, strategy_hash(config), proposal["params"])
        return DesignOutcome(
            saved=True, agent_name="baseline", config=config, strategy_name=config.name, strategy_path=str(path)
        )


def judge(backtest: dict | None, gates: GateThresholds | None = None) -> dict[str, Any]:
    """The rule-based assessment: save_assessment's input from the walk-forward research figures.

    It passes on the same evidence the gates ask for (Sharpe, deflated Sharpe for every trial,
    trades, drawdown, at the thresholds configured); the sealed final holdout then confirms or not.
    """
    from agentctl.gates import GateThresholds
    from agentctl.lab.gates import backtest_gate
    from agentctl.store.records import BacktestRecord

    g = gates or GateThresholds()
    # BacktestResult's fields, any of them missing (no backtest, a partial row); the gate's key is ignored.
    bt = BacktestRecord.model_validate(metrics_from_backtest(backtest))
    sharpe, ret, bh = bt.sharpe, bt.total_return, bt.buy_and_hold_return
    trades = None if bt.total_trades is None else float(bt.total_trades)
    strengths, weaknesses, suggestions = _observations(bt, trades)
    robust = backtest is not None and backtest_gate(bt, g).passed
    if robust:
        verdict = "promising"
    elif sharpe is None or sharpe <= 0 or (ret is not None and ret <= 0):
        verdict = "poor"
        suggestions.append("try a different feature family or label horizon")
    else:
        verdict = "neutral"
        suggestions.append("refine features around what worked; check robustness on another dataset")
    explanation = (
        f"Rule-based assessment of the walk-forward research backtest: Sharpe {_fmt(sharpe)}, excess Sharpe "
        f"{_fmt(bt.excess_sharpe)}, data-snooping p {_fmt(bt.snooping_p_value)} among {_fmt(bt.snooping_trials)} "
        f"strategies on the dataset, return {_fmt(ret)} vs buy-and-hold {_fmt(bh)}, max drawdown "
        f"{_fmt(bt.max_drawdown)}, {_fmt(trades)} trades. Verdict {verdict}: promising needs Sharpe > "
        f"{g.min_sharpe:g}, snooping p < {g.research_alpha:g}, >= {g.min_trades} trades and drawdown <= "
        f"{g.max_drawdown_vs_market:g} × buy and hold's."
    )
    return {
        "passed": robust,
        "verdict": verdict,
        "explanation": explanation,
        "strengths": strengths[:8],
        "weaknesses": weaknesses[:8],
        "suggestions": suggestions[:8],
    }


def _observations(bt: BacktestRecord, trades: float | None) -> tuple[list[str], list[str], list[str]]:
    """Strengths, weaknesses and suggestions, figure by figure."""
    strengths: list[str] = []
    weaknesses: list[str] = []
    suggestions: list[str] = []
    if bt.sharpe is not None:
        (strengths if bt.sharpe >= 1 else weaknesses).append(f"research Sharpe {bt.sharpe:.2f}")
    if bt.deflated_sharpe is not None:
        (strengths if bt.deflated_sharpe >= 0.5 else weaknesses).append(f"deflated Sharpe {bt.deflated_sharpe:.2f}")
    ret, bh = bt.total_return, bt.buy_and_hold_return
    if ret is not None and bh is not None:
        if ret > bh:
            strengths.append(f"return {ret:.1%} beats buy-and-hold {bh:.1%}")
        else:
            weaknesses.append(f"return {ret:.1%} trails buy-and-hold {bh:.1%}")
            suggestions.append("add a trend filter or allow shorts to beat buy-and-hold")
    if bt.max_drawdown is not None:
        (weaknesses if bt.max_drawdown > 0.25 else strengths).append(f"max drawdown {bt.max_drawdown:.1%}")
    if trades is not None and trades < 30:
        weaknesses.append(f"only {trades:.0f} trades")
        suggestions.append("lower the confidence threshold or use a shorter horizon for more trades")
    if bt.folds and bt.folds_profitable is not None and bt.folds_profitable * 2 <= bt.folds:
        weaknesses.append(f"profitable in {bt.folds_profitable} of {bt.folds} folds only")
    if bt.profit_factor is not None and bt.profit_factor < 1:
        weaknesses.append(f"profit factor {bt.profit_factor:.2f}")
    return strengths, weaknesses, suggestions


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def assess(conn_factory, settings, cycle_id: int) -> AssessmentOutcome:
    with _invocation(conn_factory, settings, cycle_id, Phase.ASSESSING) as (conn, cycle):
        if isinstance(cycle, str):
            return AssessmentOutcome(saved=False, agent_name="baseline", failure_reason=cycle)
        backtest = prompts.assessment_context(cycle).get("backtest_results")
        ctx = ToolContext(conn, settings, cycle_id, "baseline", "assessment", backtest=backtest)
        tools = {t.name: t for t in assessment_tools()}
        saved = call_tool(ctx, tools, "save_assessment", judge(backtest, settings.gates))
        if not saved.ok:
            return AssessmentOutcome(saved=False, agent_name="baseline", failure_reason=saved.error)
        return AssessmentOutcome(saved=True, agent_name="baseline", assessment=saved.value)
