"""Tick benchmarks: an idle tick against a bare psycopg script, and a new process reusing the embedded server.

1. Idle tick (an operation still running): wall time and peak RSS of `agentctl tick`,
   beside a bare `python -c` that connects with psycopg and runs one query, both
   against the same server in the same run. Median of N runs each.
2. Reuse of the embedded server: a new process connecting to the running server
   (what every cron tick does), beside the first start (initdb + start).
3. One full cycle with the baseline designer on the hourly dataset with
   `agentctl run --interval 1`, from nothing (fresh database and data directory).

Writes the "## Tick" section of BENCHMARKS.md. Run from the checkout as `python -m bench.tick`, so the
checkout's agentctl is the one timed.
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentctl.store.embedded import EmbeddedServer
from agentctl.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]

RUNS = int(os.environ.get("BENCH_RUNS", "15"))
CYCLE_RUNS = int(os.environ.get("BENCH_CYCLE_RUNS", "3"))
PY = sys.executable
AGENTCTL = str(Path(PY).parent / "agentctl")


def timed(argv: list[str], env: dict) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KB, exit code) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def median_of(argv, env, runs=RUNS) -> tuple[float, int]:
    walls, rss = [], []
    for _ in range(runs):
        w, r, code = timed(argv, env)
        assert code == 0, (argv, code)
        walls.append(w)
        rss.append(r)
    return statistics.median(walls), int(statistics.median(rss))


def idle_state(url: str) -> subprocess.Popen:
    import psycopg

    worker = subprocess.Popen(["sleep", "3600"], start_new_session=True)
    with psycopg.connect(url, autocommit=True) as c:
        sid = c.execute(
            "INSERT INTO agent_sessions (phase, strategy_name, training_operation_id) "
            "VALUES ('training', 'bench', 'op-bench') RETURNING id"
        ).fetchone()[0]
        c.execute(
            "INSERT INTO lab_operations (id, kind, status, session_id, params, dataset, strategy_hash, pid, host,"
            " started_at, heartbeat_at) VALUES ('op-bench', 'training', 'running', %s, '{}', 'SP500/1d',"
            " repeat('0', 64), %s, %s, NOW(), NOW())",
            (sid, worker.pid, socket.gethostname()),
        )
    return worker


def hourly_seed(home: Path) -> int:
    from agentctl.agent.baseline import _datasets, propose

    datasets = list(_datasets(home, None))
    for seed in range(200):
        if propose(random.Random(f"{seed}:1"), datasets, 1)["dataset"]["timeframe"] == "1h":
            return seed
    raise SystemExit("no seed picks the hourly dataset")


def server_reuse(home_env: dict) -> tuple[float, float, float]:
    """The first use of a fresh data directory, and the median of a new process finding the server and connecting."""
    first, _, code = timed([AGENTCTL, "db", "upgrade"], home_env)
    assert code == 0
    connect_probe = [
        PY,
        "-c",
        "from agentctl.store import connect; from agentctl.settings import Settings;"
        "connect(Settings()).execute('SELECT 1').fetchone()",
    ]
    reuse_wall, _reuse_rss = median_of(connect_probe, home_env)
    # The connect itself, in a new process, after imports: finding the server and connecting.
    inner = [
        PY,
        "-c",
        "import time; from agentctl.store import connect; from agentctl.settings import Settings;"
        "import psycopg; s = Settings(); t = time.perf_counter(); c = connect(s); c.execute('SELECT 1');"
        "print(time.perf_counter() - t)",
    ]
    connect_only = statistics.median(
        float(subprocess.run(inner, env=home_env, capture_output=True, text=True, check=True).stdout)
        for _ in range(RUNS)
    )
    return first, reuse_wall, connect_only


def full_cycles(running, base: Path, env0: dict) -> list[tuple[float, str, int]]:
    """CYCLE_RUNS full baseline cycles, each on a fresh database: (wall, outcome, ticks)."""
    import psycopg

    seed = hourly_seed(base / "home")
    cycles = []
    for i in range(CYCLE_RUNS):
        db = f"cycle_{i}"
        with psycopg.connect(running.url("postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}"')
            c.execute(f'CREATE DATABASE "{db}"')
        cenv = dict(
            env0,
            AGENTCTL_DATABASE_URL=running.url(db),
            AGENTCTL_HOME=str(base / f"home{i}"),
            AGENTCTL_CONFIG=os.devnull,
            AGENTCTL_AGENT="baseline",
            AGENTCTL_BASELINE_SEED=str(seed),
        )
        t0 = time.perf_counter()
        p = subprocess.run(
            [AGENTCTL, "run", "--cycles", "1", "--interval", "1", "--json"],
            env=cenv,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        assert p.returncode == 0, p.stderr
        import json

        (summary,) = json.loads(p.stdout)
        assert summary["dataset"]["timeframe"] == "1h", summary
        cycles.append((wall, summary["outcome"], len(p.stderr.strip().splitlines())))
    return cycles


def idle_tick(url: str, home: Path, env0: dict) -> tuple[tuple[float, int], tuple[float, int]]:
    """Median (wall, peak RSS) of the bare psycopg script and of an idle tick, on the same server."""
    upgrade(url)
    worker = idle_state(url)
    env = dict(env0, AGENTCTL_DATABASE_URL=url, AGENTCTL_HOME=str(home), AGENTCTL_CONFIG=os.devnull)
    bare = [PY, "-c", f"import psycopg; psycopg.connect({url!r}).execute('SELECT 1').fetchone()"]
    median_of(bare, env, 3)  # warm the page cache for both
    median_of([AGENTCTL, "tick"], env, 3)
    bare_wall, bare_rss = median_of(bare, env)
    tick_wall, tick_rss = median_of([AGENTCTL, "tick"], env)
    worker.kill()
    return (bare_wall, bare_rss), (tick_wall, tick_rss)


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="agentctl-bench-"))
    os.chmod(base, 0o711)
    server = EmbeddedServer(base / "server")
    env0 = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_") and k != "ANTHROPIC_API_KEY"}
    rows: list[str] = []
    try:
        # -- 2. embedded server: first start, then reuse by new processes
        home_env = dict(env0, AGENTCTL_HOME=str(base / "server"), AGENTCTL_CONFIG=os.devnull)
        first, reuse_wall, connect_only = server_reuse(home_env)

        # -- 1. idle tick vs bare psycopg, same server
        running = server.running()
        (bare_wall, bare_rss), (tick_wall, tick_rss) = idle_tick(running.url(), base / "home", env0)

        # -- 3. one full cycle on the hourly dataset, from nothing
        cycles = full_cycles(running, base, env0)
    finally:
        server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)

    cycle_wall = statistics.median(c[0] for c in cycles)
    rows = [
        "## Tick",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"shared and noisy; medians of {RUNS} runs (`make bench`, script `bench/tick.py`).",
        "",
        "Idle tick (an operation still running: lock, budget row, one poll, one trigger row) beside a bare",
        "`python -c` that imports psycopg, connects and runs one query, same server, same run:",
        "",
        "| command | wall (median) | peak RSS (median) |",
        "|---|---|---|",
        f"| bare psycopg script | {bare_wall * 1000:.0f} ms | {bare_rss / 1024:.1f} MB |",
        f"| `agentctl tick` (idle) | {tick_wall * 1000:.0f} ms | {tick_rss / 1024:.1f} MB |",
        f"| ratio | {tick_wall / bare_wall:.2f}x (target <= 2x) | {tick_rss / bare_rss:.2f}x |",
        "",
        "Embedded server: the first command on a fresh data directory runs initdb and starts the server;",
        "every later process finds it through postmaster.pid and connects:",
        "",
        "| step | wall |",
        "|---|---|",
        f"| first use (`agentctl db upgrade`: initdb, start, migrate) | {first:.2f} s |",
        f"| a new process connecting to the running server (python start, import, connect, query; median) "
        f"| {reuse_wall * 1000:.0f} ms |",
        f"| of which: find the running server and connect (median) | {connect_only * 1000:.1f} ms |",
        "",
        f"One full cycle, baseline designer, AAPL 1h, `agentctl run --cycles 1 --interval 1` from an empty "
        f"database ({CYCLE_RUNS} runs):",
        "",
        "| run | wall | outcome | ticks |",
        "|---|---|---|---|",
        *[f"| {i + 1} | {w:.1f} s | {o} | {n} |" for i, (w, o, n) in enumerate(cycles)],
        f"| median | {cycle_wall:.1f} s (target <= 30 s) | | |",
        "",
    ]
    write_section("## Tick", "\n".join(rows))
    print("\n".join(rows))


def write_section(heading: str, body: str) -> None:
    path = REPO / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        nxt = text.find("\n## ", start + len(heading))
        text = text[:start] + body.rstrip("\n") + ("\n" + text[nxt:] if nxt != -1 else "\n")
    path.write_text(text)


if __name__ == "__main__":
    main()
