"""A lab operation started cold beside one forked by the warm lab: how long until it runs, and until it ends.

    .venv/bin/python -m bench.lab_warm [--write]

One embedded server, one database; the same small training (three indicators and a
logistic regression on AAPL 1h) is started through the local executor, once with the warm lab switched off
(`lab_warm_idle_s=0`: `python -m agentctl.lab.worker` from nothing) and once with a
warm lab listening, in turn for several rounds. "Claimed" is the operation's row from
its creation to the worker's claim (the worker's start: interpreter, imports); "done"
is creation to completion, as the database's clock says both.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.lab_report import machine, write_subsection

ROUNDS = int(os.environ.get("BENCH_RUNS", "7"))
STRATEGY = {  # small on purpose: what is measured is the worker's start, not its fit
    "name": "bench-warm",
    "hypothesis": "Momentum and volatility predict the next hour's direction.",
    "dataset": {"symbol": "AAPL", "timeframe": "1h"},
    "features": [{"function": "RSI"}, {"function": "NATR"}, {"function": "ROC", "params": {"timeperiod": 5}}],
    "model": {"family": "logistic_regression"},
    "trading": {"confidence": 0.5, "direction": "long_short"},
}


def _wait(conn, settings, op_id: str) -> tuple[float, float]:
    from agentctl.lab.operations import check_operation

    deadline = time.monotonic() + 300
    while (op := check_operation(conn, settings, op_id)).active:
        assert time.monotonic() < deadline, op
        time.sleep(0.05)
    assert op.status == "completed", op.error
    row = conn.execute(
        "SELECT extract(epoch FROM started_at - created_at) AS claimed,"
        " extract(epoch FROM finished_at - created_at) AS done FROM lab_operations WHERE id = %s",
        (op_id,),
    ).fetchone()
    return float(row["claimed"]), float(row["done"])


def _ready(folder: Path) -> None:
    deadline = time.monotonic() + 120
    while not list(folder.glob("*.sock")):
        assert time.monotonic() < deadline, "no warm lab came up"
        time.sleep(0.1)


def measure(base: Path) -> dict[str, list[tuple[float, float]]]:
    from agentctl.lab.operations import start_training
    from agentctl.lab.strategy import validate_strategy
    from agentctl.settings import Settings
    from agentctl.store import connect
    from agentctl.store.embedded import EmbeddedServer
    from agentctl.store.migrate import upgrade

    run = base / "run"
    run.mkdir(mode=0o700)
    os.environ.update(XDG_RUNTIME_DIR=str(run), AGENTCTL_HOME=str(base / "home"), AGENTCTL_CONFIG=os.devnull)
    server = EmbeddedServer(base / "home")
    try:
        url = server.start().url("agentctl")
        upgrade(url)
        os.environ["AGENTCTL_DATABASE_URL"] = url
        warm = Settings()
        cold = warm.model_copy(update={"lab_warm_idle_s": 0.0})
        config = validate_strategy(STRATEGY).config
        samples: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
        with connect(warm, autocommit=True) as conn:
            _wait(conn, warm, start_training(conn, warm, config, None))  # starts the warm lab
            _ready(run / "agentctl")
            for n in range(ROUNDS):
                for kind in ("cold", "warm") if n % 2 == 0 else ("warm", "cold"):
                    settings = cold if kind == "cold" else warm
                    samples[kind].append(_wait(conn, settings, start_training(conn, settings, config, None)))
        return samples
    finally:
        from agentctl.lab.executors import warm

        for pid in warm.pids(run / "agentctl"):
            os.kill(pid, 15)
        server.stop("immediate")


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="agentctl-bench-warm-"))
    os.chmod(base, 0o711)
    try:
        samples = measure(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rows = [
        f"{machine()}; medians of {ROUNDS} rounds, cold and warm in turn (`python -m bench.lab_warm`).",
        "",
        "| worker | created to claimed (median) | created to done (median) |",
        "|---|---|---|",
    ]
    for kind, label in (("cold", "cold: `python -m agentctl.lab.worker`"), ("warm", "forked by the warm lab")):
        claimed = statistics.median(s[0] for s in samples[kind])
        done = statistics.median(s[1] for s in samples[kind])
        rows.append(f"| {label} | {claimed:.2f} s | {done:.2f} s |")
    body = "\n".join(rows)
    print(body)
    if "--write" in sys.argv:
        write_subsection("Warm lab", body)


if __name__ == "__main__":
    main()
