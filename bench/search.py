"""What the baseline's search adds to a cycle: one proposal in a fresh process, as a tick makes it.

    .venv/bin/python bench/search.py [--runs 5] [--history 0,25,50,100]

A tick is a fresh process, so each proposal pays the import of Optuna and the rebuild of
the dataset's study from what is recorded (`agent/search.py`). For each history size (the
strategies already tried on the dataset, with their objectives), the median wall time of a
fresh `python -c` that makes one TPE proposal, against the peer measured in the same run,
interleaved: a fresh process that draws one random proposal from the old, search-free
sampler (`baseline.propose`) and validates it. Their difference is what the search adds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATASET = ("SP500", "1d")
TPE = """
import json, sys
from pathlib import Path
from agentctl.agent.baseline import proposal
home, objectives, n = Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
found = proposal(home, [("SP500", "1d", 1.0)], f"bench:{n}", lambda s, t: objectives, "tpe", n)
assert isinstance(found, dict), found
"""
RANDOM = """
import random, sys
from pathlib import Path
from agentctl.agent.baseline import propose
from agentctl.lab.strategy import validate_strategy
raw = propose(random.Random(int(sys.argv[3])), [("SP500", "1d", 5000)], int(sys.argv[3]))
assert validate_strategy(raw, Path(sys.argv[1])).config is not None
"""


def history(home: Path, size: int) -> dict[str, float | None]:
    """`size` earlier proposals on the dataset, remembered as the tick keeps them, with objectives."""
    from agentctl.agent import search
    from agentctl.agent.baseline import proposal
    from agentctl.lab.strategy import strategy_hash, validate_strategy

    rng, objectives = random.Random(size), {}
    for n in range(size):
        found = proposal(home, [(*DATASET, 1.0)], f"history:{n}", lambda s, t: objectives, "tpe", n)
        assert isinstance(found, dict), found
        config = validate_strategy(found["config"], home).config
        assert config is not None
        chash = strategy_hash(config)
        search.remember(home, *DATASET, chash, found["params"])
        objectives[chash] = rng.gauss(0, 1.5)  # an out-of-fold excess t, as training records it
    return objectives


def timed(script: str, home: Path, objectives: dict, n: int) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script, str(home), json.dumps(objectives), str(n)], check=True)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--history", default="0,25,50,100", help="strategies already tried on the dataset")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; ", end="")
    print(f"load {os.getloadavg()[0]:.1f} at the start; median of {args.runs} fresh processes each, interleaved")
    print("\n| strategies tried | TPE proposal (s) | random proposal, the peer (s) | the search adds (s) |")
    print("|---:|---:|---:|---:|")
    for size in (int(x) for x in args.history.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            objectives = history(home, size)
            tpe, peer = [], []
            for run in range(args.runs):
                tpe.append(timed(TPE, home, objectives, size + run))
                peer.append(timed(RANDOM, home, objectives, size + run))
            a, b = statistics.median(tpe), statistics.median(peer)
            print(f"| {size} | {a:.2f} | {b:.2f} | {a - b:+.2f} |")
    print(f"\nload {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
