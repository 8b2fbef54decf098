"""A whole research cycle's wall time under the walk-forward protocol.

    .venv/bin/python -m bench.lab_cycle [--write]

`agentctl run --cycles 1 --interval 1 --json` with the offline baseline designer,
each run on an empty database of one embedded server and an empty data directory:
1. the default cycle (default settings and seed: it ends where the gates end it);
2. the full path: every gate open, so training (5 folds), the research backtest, the
   assessment and the final holdout's operation all run, on the baseline's first
   proposal for a few seeds (different datasets and model families).
Median of the runs of each.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentctl.store.embedded import EmbeddedServer
from bench.lab_report import machine, write_subsection

AGENTCTL = str(Path(sys.executable).parent / "agentctl")
OPEN_GATES = {
    "AGENTCTL_GATES__TRAINING_ALPHA": "1",
    "AGENTCTL_GATES__RESEARCH_ALPHA": "1",
    "AGENTCTL_GATES__MIN_TRADES": "1",
    "AGENTCTL_GATES__MAX_DRAWDOWN_VS_MARKET": "1000",
    "AGENTCTL_GATES__MIN_SHARPE": "-1000",
    "AGENTCTL_GATES__MIN_DEFLATED_SHARPE": "0",
    "AGENTCTL_GATES__CONFIRM_ALPHA": "1",
}
FULL_PATH_SEEDS = (0, 2, 10)  # SP500 boosting, NASDAQ forest, AAPL hourly boosting (the baseline's first draws)


def one_cycle(base: Path, url_for, n: int, seed: int, extra: dict[str, str]) -> tuple[float, dict]:
    import psycopg

    db = f"cycle_{n}"
    with psycopg.connect(url_for("postgres"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db}"')
        c.execute(f'CREATE DATABASE "{db}"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_") and k != "ANTHROPIC_API_KEY"}
    env.update(
        AGENTCTL_DATABASE_URL=url_for(db),
        AGENTCTL_HOME=str(base / f"home{n}"),
        AGENTCTL_CONFIG=os.devnull,
        AGENTCTL_AGENT="baseline",
        AGENTCTL_BASELINE_SEED=str(seed),
        **extra,
    )
    t0 = time.perf_counter()
    p = subprocess.run(
        [AGENTCTL, "run", "--cycles", "1", "--interval", "1", "--json"], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr[-2000:]
    (summary,) = json.loads(p.stdout)
    return wall, summary


def row(label: str, wall: float, s: dict) -> str:
    d = s["dataset"] or {}
    return f"| {label} | {d.get('symbol')}/{d.get('timeframe')} | {s['model']} | {s['outcome']} | {wall:.1f} s |"


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="agentctl-bench-"))
    os.chmod(base, 0o711)
    server = EmbeddedServer(base / "server")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_")}
        env.update(AGENTCTL_HOME=str(base / "server"), AGENTCTL_CONFIG=os.devnull)
        subprocess.run([AGENTCTL, "db", "upgrade"], env=env, check=True, capture_output=True)
        url_for = server.running().url
        default = [one_cycle(base, url_for, k, 0, {}) for k in range(3)]
        full = [one_cycle(base, url_for, 3 + k, seed, OPEN_GATES) for k, seed in enumerate(FULL_PATH_SEEDS)]
    finally:
        server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
    body = f"""`bench/lab_cycle.py`: `agentctl run --cycles 1 --interval 1` with the baseline designer, each run from an
empty database and data directory (one embedded server for all). Default: default settings and seed, 3 runs.
Full path: every gate open, so walk-forward training (5 folds), the research backtest, the assessment and the
final holdout's operation all run. Machine: {machine()}.

| cycle | dataset | model | outcome | wall |
|---|---|---|---|---|
{chr(10).join(row("default", w, s) for w, s in default)}
{chr(10).join(row("full path", w, s) for w, s in full)}

Median: **{statistics.median(w for w, _ in default):.1f} s** default, **{statistics.median(w for w, _ in full):.1f} s**
full path (target <= 30 s)."""
    print(body)
    if "--write" in sys.argv:
        write_subsection("Research cycle time", body)


if __name__ == "__main__":
    main()
