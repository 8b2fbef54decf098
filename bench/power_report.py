"""The tables of bench/power.py and its block in BENCHMARKS.md (## Discovery power)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench import null_discovery as nd


def cell_name(spec: dict, ablation: bool = True) -> str:
    """A deployment's cell: kind, oracle Sharpe and series for an edge; universe and series for noise.

    An ablation (another sampler, other gate thresholds) is a cell of its own, named after the change.
    """
    name = f"{spec['kind']} {spec['series']}"
    if spec["strength"] is not None:
        name = f"{spec['kind']} {spec['strength']:g} {spec['series']}"
    changes = [f"search={spec['search']}"] if spec.get("search", "tpe") != "tpe" else []
    changes += [f"{k}={v}" for k, v in sorted((spec.get("gates") or {}).items())]
    return f"{name} [{', '.join(changes)}]" if ablation and changes else name


# -- the tables --------------------------------------------------------------------------------

FUNNEL = (
    ("designed", "strategy"),
    ("trained", "trained"),
    ("passed training", "training_passed"),
    ("passed backtest gate", "backtest_passed"),
    ("assessed passed", "assessed_passed"),
    ("holdout tested", "holdout_tested"),
    ("confirmed", "confirmed"),
)


def by_cell(results: Sequence[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in sorted(
        results,
        key=lambda r: (
            r["spec"]["strength"] is None,
            r["spec"]["series"],
            r["spec"]["kind"],
            r["spec"]["strength"] or 0,
            r["spec"]["seed"],
        ),
    ):
        out.setdefault(cell_name(r["spec"]), []).append(r)
    return out


def funnel_table(results: Sequence[dict]) -> str:
    rows = [
        "| cell | deployments x cycles | " + " | ".join(name for name, _ in FUNNEL) + " |",
        "|---|---:|" + "---:|" * len(FUNNEL),
    ]
    for cell, group in by_cell(results).items():
        cycles = [c for r in group for c in r["cycles"]]
        counts = [sum(bool(c[attr]) for c in cycles) for _, attr in FUNNEL]
        rows.append(f"| {cell} | {len(group)} x {group[0]['spec']['cycles']} | {' | '.join(map(str, counts))} |")
    return "\n".join(rows)


def first_success(r: dict) -> str:
    return next((str(c["cycle"]) for c in r["cycles"] if c["confirmed"]), "-")


def power_table(results: Sequence[dict], cells: dict[str, dict]) -> str:
    rows = [
        "| kind | oracle Sharpe | series | c | oracle confirms (limit) | oracle on the deployments' holdouts "
        "| power: deployments with a success | power / limit | first success cycle, per seed |",
        "|---|---:|---|---:|---|---:|---|---:|---|",
    ]
    for cell, group in by_cell(results).items():
        spec = group[0]["spec"]
        if spec["strength"] is None:
            continue
        cal = cells.get(cell_name(spec, ablation=False), spec["cal"])
        wins = sum(first_success(r) != "-" for r in group)
        n = len(group)
        limit = cal["confirmed"] / cal["series"] if cal.get("series") else None
        limit_text = nd.rate(cal["confirmed"], cal["series"]) if limit is not None else "not measured"
        ratio = f"{wins / n / limit:.2f}" if limit else "n/a"
        own = sum(bool(r["oracle_confirmed"]) for r in group)
        kind = spec["kind"] + cell[len(cell_name(spec, ablation=False)) :]
        rows.append(
            f"| {kind} | {spec['strength']:g} (realised {cal['sharpe']:.3f}) | {spec['series']} "
            f"| {cal['c']:.4f} | {limit_text} | {own}/{n} | {nd.rate(wins, n)} | {ratio} "
            f"| {', '.join(first_success(r) for r in group)} |"
        )
    return "\n".join(rows)


def noise_table(results: Sequence[dict]) -> str:
    rows = [
        "| universe | deployments x cycles | strategies designed | confirmed per strategy [Wilson 95 %] "
        "| upper bound | deployments with any success |",
        "|---|---:|---:|---|---:|---|",
    ]
    for cell, group in by_cell(results).items():
        if group[0]["spec"]["strength"] is not None:
            continue
        designed = [c for r in group for c in r["cycles"] if c["strategy"] is not None]
        k = sum(c["confirmed"] for c in designed)
        any_ = sum(first_success(r) != "-" for r in group)
        rows.append(
            f"| {cell} | {len(group)} x {group[0]['spec']['cycles']} | {len(designed)} | {nd.rate(k, len(designed))} "
            f"| {nd.wilson(k, len(designed))[1]:.1%} | {nd.rate(any_, len(group))} |"
        )
    return "\n".join(rows)


def report(results: Sequence[dict], cells: dict[str, dict], footer: str) -> str:
    return "\n\n".join(
        [
            "Power per cell (kind x oracle Sharpe x series):",
            power_table(results, cells),
            "Noise universes (20-year daily shape):",
            noise_table(results),
            "Funnel: strategies reaching each stage, summed over the cell's deployments:",
            funnel_table(results),
            footer,
        ]
    )


# -- BENCHMARKS.md -----------------------------------------------------------------------------

START, END = "<!-- power:start -->", "<!-- power:end -->"
SECTION = f"""## Discovery power

When a series really holds an edge, does the protocol find it and confirm it? `bench/power.py`
plants edges of known strength in synthetic series (`bench/planted.py`): a conditional drift of
each bar's body (open to close) known at the previous close, so a strategy deciding at close t
and trading at open t+1 can capture it. Kinds: momentum (drift = c r[t-1]), mean reversion over 5
bars (drift = -c sum r[t-5..t-1]), a 20-bar oscillator (drift = -c (log C - mean of the last 20
log closes)[t-1]) and 2-bar-lag momentum (drift = c r[t-2]). Series copy the shape of a bundled
dataset (timestamps, per-bar vol, gap/body split, wicks, volume) or of a 20-year daily series
(5,040 business days, 1 % daily vol, SP500's gap split; a 4-year holdout).

The ORACLE holds the sign of the next bar's true drift, flat when |drift| is not above a
threshold (0 to 4 times one fill's cost, whichever gives it the best Sharpe after costs), traded by
`lab.backtest.simulate` at fee 1 bp + slippage 1 bp per fill. Each edge's c is bisected until the
oracle's Sharpe on one 300,000-bar series equals the target (calibrations cached in
`bench/power_calibration.json`). The LIMIT is the oracle's own confirmation rate over 400
independent series of the shape: its holdout bars scored by `lab.holdout.score` and judged by
`lab.gates.confirmation_gate`, the very test strategies face.

A deployment is one series in its own temporary AGENTCTL_HOME, the designer seeded by the seed
(designer seed s is the same in every cell, so cells are paired), K cycles in sequence through
`run_cycle`: design -> train -> training gate -> research backtest (n_trials = strategies saved so
far, trial Sharpes = research Sharpes recorded so far, as the tick counts them) -> backtest gate
-> baseline judge -> final holdout -> confirmation gate. POWER is the share of deployments with at
least one confirmed strategy within K cycles; the target is power >= 0.8 x limit. Noise
universes (driftless, +8 % and +15 % a year, GARCH(1,1) with Student-t(4) shocks) run the same
way: the target is per-strategy success <= 1 % (Wilson upper bound) and <= 5 % of deployments
with any success.

    .venv/bin/python -m bench.power --quick --write    # Sharpe 1.0 and 1.5, 2 seeds, 25 cycles
    .venv/bin/python -m bench.power --write            # the full matrix (hours)

`--quick`: every kind at oracle Sharpe 1.0 and 1.5 on the 20-year series, 2 seeds x 25 cycles,
and each noise universe 2 seeds x 25 cycles. The full matrix: every kind at 0.5, 1.0, 1.5 and 2.0
on the 20-year series, 4 seeds x 50 cycles; every kind at 1.0 and 2.0 on series shaped like each
bundled dataset (holdouts of 2.3 years for SP500/1d, 4.0 NASDAQ/1d, 9.1 AAPL/1d and 0.4 for
AAPL/1h), 2 seeds x 50 cycles; each noise universe 8 seeds x 50 cycles (400 strategies).
`--kinds`, `--strengths`, `--seeds`, `--cycles`, `--series` (e.g. `daily10y`) run a slice.

{START}
{END}
"""


def write_block(text: str, doc_path: Path = nd.BENCHMARKS) -> None:
    """Replace the block between the markers under ## Discovery power (creating the section first)."""
    doc = doc_path.read_text()
    if START not in doc:
        doc = doc.rstrip("\n") + "\n\n" + SECTION
    head, rest = doc.split(START, 1)
    doc_path.write_text(head + START + "\n" + text.strip() + "\n" + END + rest.split(END, 1)[1])


def main(argv: Sequence[str] | None = None) -> None:
    """Report runs together (e.g. seeds 5-8 added to an earlier run of seeds 1-4): their JSON files."""
    import argparse
    import json

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("runs", nargs="+", type=Path, help="files written by bench/power.py --json")
    ap.add_argument("--write", action="store_true", help="replace the block in BENCHMARKS.md's ## Discovery power")
    args = ap.parse_args(argv)
    runs = [json.loads(p.read_text()) for p in args.runs]
    results = [d for run in runs for d in run["deployments"]]
    cells = {name: cal for run in runs for name, cal in run["cells"].items()}
    cycles = sum(len(r["cycles"]) for r in results)
    footer = (
        f"{len(results)} deployments, {cycles} cycles, from {len(runs)} runs: "
        + "; ".join(f"{p.name}: {run['wall_s'] / 60:.1f} min wall" for p, run in zip(args.runs, runs, strict=True))
        + "."
    )
    text = report(results, cells, footer)
    print(text)
    if args.write:
        write_block(text)


if __name__ == "__main__":
    main()
