"""What the model reads: a stable, cached system prompt and a per-cycle user message.

The system prompt must be byte-identical across calls and cycles so the cache hits:
nothing in it depends on the day, the budget or the memory, only on the package and
the datasets installed. Everything that changes goes in the user message.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentctl.lab.universe import universe_of

if TYPE_CHECKING:
    from agentctl.settings import Settings
    from agentctl.store.budget import BudgetSnapshot
    from agentctl.store.records import Cycle, MemoryRow

DESIGN_RULES = """\
You are the strategy designer of agentctl, an autonomous research lab for systematic trading strategies.
Each research cycle you propose ONE strategy as a StrategyConfig; the lab trains its model and tests it.

How the lab works (the research protocol):
- Features are the TA-Lib indicators listed below, computed on one dataset. Each output is one model input.
  A feature at bar t uses data up to bar t only; a position decided at bar t is traded on the next bar.
- The label is the forward close-to-close return over `horizon` bars, bucketed by `threshold` into classes.
- Every dataset is cut in time order into a research period and a sealed final holdout (its last part),
  with a purge gap between them at least as long as the label horizon plus the longest feature lookback.
- Evidence is economic: every gate tests the strategy's return in excess of the market exposure it held
  (its return minus its average position times the market's), so riding a market's drift proves nothing.
- Research is walk-forward: the research period is cut into folds; each fold is predicted by a model
  trained only on the bars before it (minus the purge gap; early stopping uses part of that training data).
  The backtest runs on these out-of-fold predictions, after fees and slippage. Everything you see in the
  research memory (excess return t and p, Sharpe, returns, drawdown) comes from this walk-forward work.
- A strategy whose assessment passes is then tested ONCE on the sealed final holdout, which neither you,
  the assessor nor any model ever sees; only a strategy confirmed there counts as a success. Holdout
  figures never reach you. Every strategy trained on a dataset is a trial of its data-snooping test: a
  new strategy must stay significant among all of them (near-copies count as fewer trials, but count).
- A short holdout cannot confirm a modest edge: each dataset below says the excess Sharpe a strategy needs
  for a 50% and an 80% chance of confirmation. Prefer datasets where your edge can be confirmed.

Rules:
1. Learn from the research memory in the user message: do not repeat what failed, refine what was
   promising, and change direction (dataset, feature family, label, model) when a line of work stalls.
2. Call validate_strategy with a config, fix every error it reports, then call save_strategy with the final
   config. save_strategy ends the design. A config identical to one tried in an earlier cycle is refused.
3. Keep training cheap (minutes on 2 CPU cores, once per fold): at most 12 features, modest model sizes.
4. Realistic costs: fee_bps and slippage_bps are at least 1 each (the schema refuses less).
5. The hypothesis states, in a sentence or two, the market behaviour the strategy exploits.
6. Be brief. Do not explain at length; use the tools.
The StrategyConfig JSON schema is the `config` input of validate_strategy and save_strategy."""

ASSESS_RULES = """\
You are the assessor of agentctl, an autonomous research lab for systematic trading strategies.
A strategy passed the lab's gates; judge whether its walk-forward research results are real evidence.

What you see: out-of-fold results of a walk-forward evaluation on the dataset's research period (each fold
predicted by a model trained only on earlier bars). What you do not see: a sealed final holdout. If you
pass the strategy, it is tested once there, and only a confirmation there makes it a success; a pass on
weak evidence wastes that one test.

Judge it as a sceptical quant researcher would:
- Sharpe and Sortino, max drawdown (a fraction), total return and CAGR, win rate, profit factor, exposure
  and number of trades (few trades are weak evidence); per-fold Sharpe and how many folds were profitable
  (an edge in one fold only is not an edge).
- The excess return (over the market exposure held) and its data-snooping p-value among every strategy
  tried on the dataset: the evidence the gate passed on. The deflated Sharpe is reported beside it.
- Buy-and-hold over the same bars: a long-only strategy that only tracks the market adds nothing.
- Training: the out-of-fold excess return's t and p; accuracy against the best constant guess.
- The designer's hypothesis is a claim, not evidence; judge the figures.

Verdict: promising (robust evidence worth testing on the final holdout), neutral (inconclusive), poor (no
edge). passed is true only for promising evidence. Suggestions are concrete changes for the next cycles
(features, label, model, trading rules, dataset). Call save_assessment exactly once; it ends the assessment.
Be brief."""


def gate_lines(settings: Settings) -> str:
    """Every gate threshold with its value from the settings, so the prompt names what is enforced."""
    gates = settings.gates
    lines = ["Gates (checked by the lab without you; a cycle that fails one ends there):"]
    for name, field in type(gates).model_fields.items():
        value = getattr(gates, name)
        lines.append(f"- {name} = {'unset' if value is None else value}: {field.description or ''}".rstrip(": "))
    return "\n".join(lines)


def _cached(text: str) -> list[dict]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def dataset_lines(settings: Settings) -> str:
    """The research universe: every installed dataset, or those AGENTCTL_DATASETS names."""
    from agentctl.lab.data import list_datasets
    from agentctl.lab.periods import confirmability

    universe = universe_of(settings)
    lines = [
        "Datasets (symbol/timeframe: bars, first .. last bar; the sealed final holdout from holdout_start; the "
        "excess Sharpe needed for a 50%/80% chance of confirmation there):"
    ]
    datasets = [d for d in list_datasets(settings.home) if universe is None or (d.symbol, d.timeframe) in universe]
    for d in sorted(datasets, key=lambda d: (d.symbol, d.timeframe)):
        c = confirmability(d, settings.gates.confirm_alpha)
        hard = "" if c.can_confirm else " (hard to confirm anything here)"
        lines.append(
            f"- {d.symbol}/{d.timeframe}: {d.bars} bars, {d.first_bar:%Y-%m-%d %H:%M} .. {d.last_bar:%Y-%m-%d %H:%M};"
            f" holdout_start {d.holdout_start:%Y-%m-%d %H:%M} ({c.holdout_years:.1f} years), Sharpe needed "
            f"{c.sharpe_for_50:.2f}/{c.sharpe_for_80:.2f}{hard}{'' if d.has_volume else '; no volume'}. {d.source}"
        )
    return "\n".join(lines)


def design_system(settings: Settings) -> list[dict]:
    """Rules, gates, indicator catalog and datasets, as one cached block."""
    from agentctl.lab.strategy import indicator_catalog_text

    parts = [DESIGN_RULES, gate_lines(settings), indicator_catalog_text().strip(), dataset_lines(settings)]
    return _cached("\n\n".join(parts))


def assessment_system(settings: Settings) -> list[dict]:
    return _cached("\n\n".join([ASSESS_RULES, gate_lines(settings)]))


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
        lines.append(
            f"  train: out-of-fold excess t {_num(tr.excess_t)} (p {_num(tr.excess_p_value)}); acc "
            f"{_num(tr.accuracy)} vs best constant {_num(tr.constant_accuracy)}"
        )
    if bt is not None:
        lines.append(
            f"  backtest: sharpe {_num(bt.sharpe)} excess {_num(bt.excess_sharpe)} snooping p "
            f"{_num(bt.snooping_p_value)} of {_num(bt.snooping_trials, 'g')} ret {_num(bt.total_return)} "
            f"bh {_num(bt.buy_and_hold_return)} maxdd {_num(bt.max_drawdown)} trades {_num(bt.total_trades, 'g')} "
            f"win {_num(bt.win_rate)} pf {_num(bt.profit_factor)}"
        )
    if asm is not None:
        lines.append(f"  verdict: {asm.verdict or ('passed' if asm.passed else 'failed')}")
        if asm.suggestions:
            lines.append("  suggestions: " + "; ".join(str(s)[:160] for s in asm.suggestions[:3]))
    if row.gate_failed == "holdout":
        # Its figures are sealed: the designer must not select on the data meant to confirm.
        lines.append("  failure: not confirmed on the sealed final holdout (figures not shown)")
    elif row.failure_reason:
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


def design_user(memory: list[MemoryRow], snap: BudgetSnapshot, tried: int, without_result: int = 0) -> str:
    if memory:
        mem = f"Research memory: the last {len(memory)} researched cycles, newest first.\n" + "\n".join(
            memory_line(r) for r in memory
        )
    else:
        mem = "Research memory: none yet; this is the first cycle. Start with a simple, well-founded idea."
    if without_result:
        # Outages and interrupted cycles are one line: they must not crowd out research results.
        mem += f"\n({without_result} other cycles ended without a research result: no strategy saved, or cancelled.)"
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


HYPOTHESIS_CHARS = 300  # the designer's claim reaches its judge capped and labelled, never as advocacy


def assessment_context(cycle: Cycle) -> dict[str, Any]:
    """What the assessor sees, built from the cycle's stored record (the one place it is built).

    Config, results and gate verdicts; the equity curve stays in the results (the save tool
    checks claims against it) and `assessment_user` drops it from the prompt (tokens). The
    designer's hypothesis is cut to a few hundred characters and labelled as its claim.
    """
    tr, bt = cycle.training_results, cycle.backtest_results
    training = tr.model_dump(mode="json", exclude_unset=True) if tr is not None else None
    backtest = bt.model_dump(mode="json", exclude_unset=True) if bt is not None else {}
    config = dict(cycle.strategy_config or {})
    claim = str(config.pop("hypothesis", "") or "")
    return {
        "cycle": cycle.id,
        "config": config,
        "designer_claim_unverified": claim[:HYPOTHESIS_CHARS] + ("…" if len(claim) > HYPOTHESIS_CHARS else ""),
        "training_results": training,
        "backtest_results": backtest,
        "gates": {"training": (training or {}).get("gate"), "backtest": backtest.get("gate")},
        "deflated_sharpe": backtest.get("deflated_sharpe"),
        "buy_and_hold_return": backtest.get("buy_and_hold_return"),
    }
