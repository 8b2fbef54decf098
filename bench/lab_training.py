"""Training time and worker memory: the default model, 10 features, ~5,000 bars, 5 walk-forward folds.

    .venv/bin/python -m bench.lab_training [--write]

Each run is a fresh process doing what a worker does for a training operation
(imports, load, features, one fit per fold, out-of-fold scores, save), so wall time
includes imports and peak RSS is the whole process's; the same process then runs
the final holdout's job (one fit on the research period, trade the holdout).
Median of several runs.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.lab_report import machine, write_subsection

FEATURES = ["RSI", "NATR", "ROC", "ADX", "CCI", "WILLR", "MFI", "STOCH", "MACD", "BBANDS"]
RUNS = 5

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from agentctl.lab.data import import_dataset, load_ohlcv
from agentctl.lab.strategy import validate_strategy
from agentctl.lab.training import train
from agentctl.lab.holdout import run_holdout
home = Path(sys.argv[1]); symbol, timeframe = sys.argv[2], sys.argv[3]
features = [{"function": f, "outputs": None} for f in json.loads(sys.argv[4])]
# 10 feature columns: single-output indicators plus one output of the multi-output ones.
for f in features:
    if f["function"] in ("STOCH", "MACD", "BBANDS"):
        f["outputs"] = {"STOCH": ["slowk"], "MACD": ["macdhist"], "BBANDS": ["upperband"]}[f["function"]]
report = validate_strategy({"name": "bench", "hypothesis": "bench", "features": features,
                            "dataset": {"symbol": symbol, "timeframe": timeframe}}, home)
assert report.ok, report.errors
t1 = time.perf_counter()
r = train(report.config, home, home / "m.joblib")
t2 = time.perf_counter()
train(report.config, home, home / "m2.joblib")  # again, libraries now imported: the fitting work alone
t3 = time.perf_counter()
run_holdout(report.config, home)
t4 = time.perf_counter()
bars = len(load_ohlcv(symbol, timeframe, home))
print(json.dumps({"total_s": t2 - t0, "train_s": t2 - t1, "warm_s": t3 - t2, "holdout_s": t4 - t3,
                  "folds": r.folds, "columns": len(r.feature_columns),
                  "bars": bars, "family": r.model_family, "iterations": r.iterations}))
"""


def run_once(home: Path, symbol: str, timeframe: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), symbol, timeframe, json.dumps(FEATURES)],
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB; max over children so far
    data = json.loads(out.stdout)
    data["rss_mb"] = max(after, before) / 1024
    return data


def main() -> None:
    from agentctl.lab.data import import_dataset, load_ohlcv

    home = Path(tempfile.mkdtemp(prefix="agentctl-bench-"))
    # The bundled hourly series has 3,478 bars; 5,000 bars come from the NASDAQ's daily series
    # (training cost depends on the bar count, not the bar size).
    nasdaq = load_ohlcv("NASDAQ", "1d", None).iloc[-5000:]
    csv = home / "nq5000.csv"
    nasdaq.to_csv(csv)
    import_dataset(csv, "NQ5000", "1d", home)
    cases = [("NQ5000", "1d", "NASDAQ, last 5,000 daily bars"), ("AAPL", "1h", "AAPL hourly, all 3,478 bars")]
    rows = []
    for symbol, timeframe, label in cases:
        runs = [run_once(home, symbol, timeframe) for _ in range(RUNS)]
        rows.append((label, runs))
    lines = []
    for label, runs in rows:
        r0 = runs[0]
        lines.append(
            f"| {label} | {r0['bars']:,} | {r0['columns']} | {r0['family']}, {r0['folds']} folds | "
            f"{statistics.median(r['total_s'] for r in runs):.2f} s | "
            f"{statistics.median(r['train_s'] for r in runs):.2f} s | "
            f"{statistics.median(r['warm_s'] for r in runs):.2f} s | "
            f"{statistics.median(r['holdout_s'] for r in runs):.2f} s | {max(r['rss_mb'] for r in runs):.0f} MB |"
        )
    body = f"""`bench/lab_training.py`: the default model (hist_gradient_boosting, each fold's model early-stopped
on the last, purged part of its own training rows) with 10 TA-Lib feature columns, walk-forward over
5 anchored folds, each run in a fresh process doing a worker's training job (import, load, features,
one fit per fold, out-of-fold scores, save); the first train() pays the scikit-learn import (lazy, so
polling stays light), a second call in the same process shows the work itself, and the final holdout's
job (one fit on the whole research period, then trade the holdout) follows. Median of {RUNS} runs; peak
RSS is the largest of any run's whole process. Machine: {machine()}.

| data | bars | features | model | worker job incl. imports | first train() | train() again (no imports) | final holdout job | peak RSS |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(lines)}

Targets: <= 5 s wall for 5,000 bars and 10 features; <= 500 MB peak worker memory."""
    print(body)
    if "--write" in sys.argv:
        write_subsection("Training time and memory", body)


if __name__ == "__main__":
    main()
