"""The tables of bench/null_discovery.py and its block in BENCHMARKS.md (## Null discovery)."""

from __future__ import annotations

from collections.abc import Sequence

from bench.null_discovery import BENCHMARKS, Outcome, rate

STAGES = (
    ("training gate", "training_passed"),
    ("backtest gate", "backtest_passed"),
    ("assessment", "assessed_passed"),
)


def summary_rows(universe: str, outcomes: Sequence[Outcome]) -> list[str]:
    rows = []
    groups = [(d, [o for o in outcomes if o.dataset == d]) for d in sorted({o.dataset for o in outcomes})]
    for name, group in [*groups, ("all", list(outcomes))]:
        n = len(group)
        cells = [rate(sum(getattr(o, attr) for o in group), n) for _, attr in STAGES]
        tests = sum(o.holdout_tested for o in group)
        confirmed = sum(o.confirmed for o in group)
        label = f"**{name}**" if name == "all" else name
        rows.append(f"| {universe} | {label} | {n} | {' | '.join(cells)} | {tests} | {rate(confirmed, n)} |")
    return rows


def diagnostic_rows(universe: str, outcomes: Sequence[Outcome]) -> list[str]:
    """Conditional rates and the confirmation gate alone on every trained strategy."""
    rows = []
    groups = [(d, [o for o in outcomes if o.dataset == d]) for d in sorted({o.dataset for o in outcomes})]
    for name, group in [*groups, ("all", list(outcomes))]:
        errors = sum(o.error is not None for o in group)
        trained = [o for o in group if o.trained]
        tg = [o for o in group if o.training_passed]
        ran = [o for o in group if o.backtest_ran]
        held = [o for o in trained if o.holdout_any is not None]
        bt = rate(sum(o.backtest_passed for o in ran), len(ran))
        hold = rate(sum(bool(o.holdout_any) for o in held), len(held)) if held else "not run"
        hindsight = rate(sum(o.training_hindsight for o in trained), len(trained))
        label = f"**{name}**" if name == "all" else name
        rows.append(f"| {universe} | {label} | {errors} | {len(trained)} | {len(tg)} | {hindsight} | {bt} | {hold} |")
    return rows


def table(results: dict[str, list[Outcome]]) -> str:
    head = [
        "| universe | dataset | strategies | training gate | backtest gate | assessment | holdout tests | confirmed (success) |",
        "|---|---|---:|---|---|---|---:|---|",
    ]
    diag = [
        "| universe | dataset | refused (LabError) | trained | passed training "
        "| training test vs best constant in hindsight | backtest gate, of those backtested "
        "| confirmation gate alone, on every trained strategy's holdout |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for universe, outcomes in results.items():
        head += summary_rows(universe, outcomes)
        diag += diagnostic_rows(universe, outcomes)
    return "\n".join(head) + "\n\n" + "\n".join(diag)


def write_table(text: str) -> None:
    """Replace the table between the markers in BENCHMARKS.md's ## Null discovery."""
    start, end = "<!-- null-discovery:start -->", "<!-- null-discovery:end -->"
    doc = BENCHMARKS.read_text()
    if start not in doc or end not in doc:
        raise SystemExit(f"BENCHMARKS.md has no {start} ... {end} block to replace")
    head, rest = doc.split(start, 1)
    BENCHMARKS.write_text(head + start + "\n" + text.strip() + "\n" + end + rest.split(end, 1)[1])
