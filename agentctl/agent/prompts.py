"""What the model reads: a stable, cached system prompt and a per-cycle user message.

The system prompt must be byte-identical across calls and cycles so the cache hits:
nothing in it depends on the day, the budget or the memory, only on the package and
the datasets installed. Everything that changes goes in the user message.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from agentctl.store.budget import BudgetSnapshot
    from agentctl.store.records import Cycle, MemoryRow

DESIGN_RULES = """\
You are the strategy designer of agentctl, an autonomous research lab for systematic trading strategies.
Each research cycle you propose ONE strategy as a StrategyConfig; the lab trains its model and backtests it.

How the lab works:
- Features are the TA-Lib indicators listed below, computed on one dataset. Each output is one model input.
  A feature at bar t uses data up to bar t only; a position decided at bar t is traded on the next bar.
- The label is the forward close-to-close return over `horizon` bars, bucketed by `threshold` into classes.
- Bars are split in time order: training, then validation (early stopping, model selection), then the last
  part of every dataset is held out for the backtest. Neither you nor the model ever see the held-out part.
- Gates reject a model no better than the majority-class baseline accuracy, and a backtest with too few
  trades; those cycles cost no assessment. A backtest is judged on Sharpe, drawdown, deflated Sharpe
  (corrected for how many strategies were tried) and against buy-and-hold, after fees and slippage.

Rules:
1. Learn from the research memory in the user message: do not repeat what failed, refine what was
   promising, and change direction (dataset, feature family, label, model) when a line of work stalls.
2. Call validate_strategy with a config, fix every error it reports, then call save_strategy with the final
   config. save_strategy ends the design. A config identical to one tried in an earlier cycle is refused.
3. Keep training cheap (minutes on 2 CPU cores): at most 12 features, modest model sizes.
4. Realistic costs: keep fee_bps and slippage_bps at or above 1.
5. The hypothesis states, in a sentence or two, the market behaviour the strategy exploits.
6. Be brief. Do not explain at length; use the tools.
The StrategyConfig JSON schema is the `config` input of validate_strategy and save_strategy."""

ASSESS_RULES = """\
You are the assessor of agentctl, an autonomous research lab for systematic trading strategies.
A strategy passed the lab's gates; judge whether its held-out (out-of-sample) backtest is real evidence.

Judge it as a sceptical quant researcher would:
- Out-of-sample Sharpe and Sortino, max drawdown (a fraction), total return and CAGR, win rate, profit factor,
  exposure and number of trades (few trades are weak evidence).
- The deflated Sharpe ratio, which corrects for the number of strategies tried: below about 0.5 (as a
  probability) or negative (as a ratio) the result may be luck.
- Buy-and-hold over the same held-out period: a long-only strategy that only tracks the market adds nothing.
- Training: accuracy against the majority-class baseline; a large gap between training and validation
  suggests overfitting.
- Costs: fees and slippage must be realistic.

Verdict: promising (robust evidence worth more research), neutral (inconclusive), poor (no edge).
passed is true only for evidence strong enough to build on. Suggestions are concrete changes for the next
cycles (features, label, model, trading rules, dataset). Call save_assessment exactly once; it ends the
assessment. Be brief."""


def _cached(text: str) -> list[dict]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def dataset_lines(home: Path) -> str:
    from agentctl.lab.data import list_datasets

    lines = ["Datasets (symbol/timeframe: bars, first .. last bar; held out for backtests from holdout_start):"]
    for d in sorted(list_datasets(home), key=lambda d: (d.symbol, d.timeframe)):
        lines.append(
            f"- {d.symbol}/{d.timeframe}: {d.bars} bars, {d.first_bar:%Y-%m-%d %H:%M} .. {d.last_bar:%Y-%m-%d %H:%M};"
            f" holdout_start {d.holdout_start:%Y-%m-%d %H:%M}{'' if d.has_volume else '; no volume'}. {d.source}"
        )
    return "\n".join(lines)


def design_system(home: Path) -> list[dict]:
    """Rules, indicator catalog and datasets, as one cached block."""
    from agentctl.lab.strategy import indicator_catalog_text

    return _cached("\n\n".join([DESIGN_RULES, indicator_catalog_text().strip(), dataset_lines(home)]))


def assessment_system() -> list[dict]:
    return _cached(ASSESS_RULES)


# ---- the user message -----------------------------------------------------------


def _num(value: Any, fmt: str = ".3g") -> str:
    if value is None:
        return "-"
    try:
        return format(float(value), fmt)
    except (TypeError, ValueError):
        return str(value)


def _features(cfg: dict) -> str:
    parts = []
    for f in cfg.get("features") or []:
        params = ",".join(_num(v, "g") for v in (f.get("params") or {}).values())
        parts.append(f"{f.get('function')}({params})")
    return " ".join(parts)


def memory_line(row: MemoryRow) -> str:
    """One finished cycle, compactly: what was tried, what came out, what the assessor said."""
    lines = [f"#{row.id} {row.strategy_name or '(no strategy)'} -> {row.outcome or '?'}"]
    cfg = row.strategy_config or {}
    if cfg:
        lines.extend(_strategy_lines(cfg))
    tr, bt, asm = row.training_results, row.backtest_results, row.assessment
    if tr is not None and tr.accuracy is not None:
        lines.append(f"  train: acc {_num(tr.accuracy)} vs majority {_num(tr.majority_baseline_accuracy)}")
    if bt is not None:
        lines.append(
            f"  backtest: sharpe {_num(bt.sharpe)} dsr {_num(bt.deflated_sharpe)} ret {_num(bt.total_return)} "
            f"bh {_num(bt.buy_and_hold_return)} maxdd {_num(bt.max_drawdown)} trades {_num(bt.total_trades, 'g')} "
            f"win {_num(bt.win_rate)} pf {_num(bt.profit_factor)}"
        )
    if asm is not None:
        lines.append(f"  verdict: {asm.verdict or ('passed' if asm.passed else 'failed')}")
        if asm.suggestions:
            lines.append("  suggestions: " + "; ".join(str(s)[:160] for s in asm.suggestions[:3]))
    if row.failure_reason:
        lines.append(f"  failure: {str(row.failure_reason)[:200]}")
    return "\n".join(lines)


def _strategy_lines(cfg: dict[str, Any]) -> list[str]:
    """The strategy config as the designer wrote it (read as written: it was validated when saved)."""
    ds, label = cfg.get("dataset") or {}, cfg.get("label") or {}
    model, trading = cfg.get("model") or {}, cfg.get("trading") or {}
    lines = [
        f"  {ds.get('symbol')}/{ds.get('timeframe')} {model.get('family')}; features {_features(cfg)}; "
        f"label h={label.get('horizon')} thr={_num(label.get('threshold'), 'g')} {label.get('classes')}; "
        f"conf {_num(trading.get('confidence'), 'g')} {trading.get('direction')}"
    ]
    if cfg.get("hypothesis"):
        lines.append(f"  hypothesis: {str(cfg['hypothesis'])[:200]}")
    return lines


def budget_line(snap: BudgetSnapshot) -> str:
    return (
        f"Budget today ({snap.date}): ${snap.used} used of ${snap.limit}, ${snap.remaining} left; "
        f"{snap.cycles_started} cycles started, {snap.cycles_completed} completed."
    )


def design_user(memory: list[MemoryRow], snap: BudgetSnapshot, tried: int) -> str:
    if memory:
        mem = f"Research memory: the last {len(memory)} finished cycles, newest first.\n" + "\n".join(
            memory_line(r) for r in memory
        )
    else:
        mem = "Research memory: none yet; this is the first cycle. Start with a simple, well-founded idea."
    return (
        f"{mem}\n\n{tried} strategies tried so far in total.\n{budget_line(snap)}\n\n"
        "Design the next strategy: validate it, then save it."
    )


def _strip_series(value: Any, max_items: int = 50) -> Any:
    """Drop long lists (equity curves, predictions): figures only."""
    if isinstance(value, dict):
        return {
            k: _strip_series(v, max_items) for k, v in value.items() if not (isinstance(v, list) and len(v) > max_items)
        }
    if isinstance(value, list):
        return [_strip_series(v, max_items) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def assessment_user(context: dict, tried: int) -> str:
    body = json.dumps(_strip_series(context), indent=1, sort_keys=True, default=str)
    return (
        f"Cycle results ({tried} strategies tried so far in total):\n{body}\n\n"
        "Assess the held-out evidence and call save_assessment."
    )


def assessment_context(cycle: Cycle, context: dict) -> dict:
    """What the assessor sees: the tick's context, completed from the cycle's stored record."""
    full = dict(context or {})
    full.setdefault("config", cycle.strategy_config)
    # The database is the record; the context may be a summary.
    if cycle.training_results is not None:
        full["training_results"] = cycle.training_results.model_dump(mode="json", exclude_unset=True)
    if cycle.backtest_results is not None:
        full["backtest_results"] = cycle.backtest_results.model_dump(mode="json", exclude_unset=True)
    return full
