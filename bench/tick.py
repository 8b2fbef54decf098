"""Tick benchmarks: an idle tick against a bare psycopg script, and a new process reusing the embedded server.

1. Idle ticks: wall time and peak RSS of `agentctl tick` when paused (`agentctl pause`,
   no active cycle) and when only polling (a cycle in training, its operation still
   running), beside a bare `python -c` that connects with psycopg and runs one query,
   all against the same server, interleaved in one run. Median of N runs each.
   `python bench/tick.py --idle` runs only this part and prints it.
2. Reuse of the embedded server: a new process connecting to the running server
   (what every cron tick does), beside the first start (initdb + start).
3. One full cycle with the baseline designer on the hourly dataset with
   `agentctl run --interval 1`, from nothing (fresh database and data directory).

Writes the "## Tick" section of BENCHMARKS.md.
"""

from __future__ import annotations

import os
import platform
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


def clean_env() -> dict[str, str]:
    """The environment cron gives a tick: no agentctl settings, no key, and bytecode as an installed copy has.

    PYTHONDONTWRITEBYTECODE (set in some shells) would make every tick compile agentctl from source.
    """
    import compileall

    compileall.compile_dir(REPO / "agentctl", quiet=1)
    drop = ("ANTHROPIC_API_KEY", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_") and k not in drop}


def timed(argv: list[str], env: dict) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KB, exit code) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def timed_cpu(argv: list[str], env: dict) -> tuple[float, int, float]:
    """(wall seconds, peak RSS in KB, CPU seconds) of one child process that must exit 0.

    CPU time (user + system) is the steadier figure on a shared machine: waiting for a core is not in it.
    """
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, argv
    return time.perf_counter() - t0, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def median_of(argv, env, runs=RUNS) -> tuple[float, int]:
    walls, rss = [], []
    for _ in range(runs):
        w, r, code = timed(argv, env)
        assert code == 0, (argv, code)
        walls.append(w)
        rss.append(r)
    return statistics.median(walls), int(statistics.median(rss))


def idle_state(url: str) -> subprocess.Popen:
    """A cycle in training whose operation is alive: its 'worker' sleeps under a worker's command line."""
    import psycopg

    worker = subprocess.Popen(
        [PY, "-c", "import time; time.sleep(3600)", "-m", "agentctl.lab.worker", "op-bench"],
        start_new_session=True,
    )
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


IDLE = {
    "bare": "bare psycopg script",
    "floor": "bare script + pydantic (import, one model)",
    "paused": "`agentctl tick` (paused)",
    "polling": "`agentctl tick` (polling)",
}
WARM_ROUNDS = 3
BEFORE = os.environ.get("BENCH_TICK_BEFORE")  # a source tree whose ticks are timed beside these
BEFORE_NAME = os.environ.get("BENCH_TICK_BEFORE_NAME", str(BEFORE))  # what it is, for BENCHMARKS.md


def idle_ticks(running, env0: dict, home: Path) -> dict[str, tuple[float, ...]]:
    """Median (wall, peak RSS, CPU) of the bare script, the floor and both idle ticks, run in turn each round."""
    import psycopg

    urls = {}
    for kind in ("paused", "polling"):
        with psycopg.connect(running.url("postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "idle_{kind}"')
            c.execute(f'CREATE DATABASE "idle_{kind}"')
        urls[kind] = running.url(f"idle_{kind}")
        upgrade(urls[kind])
    envs = {
        k: dict(env0, AGENTCTL_DATABASE_URL=u, AGENTCTL_HOME=str(home), AGENTCTL_CONFIG=os.devnull)
        for k, u in urls.items()
    }
    subprocess.run([AGENTCTL, "pause"], env=envs["paused"], check=True, capture_output=True)
    worker = idle_state(urls["polling"])
    bare = [PY, "-c", f"import psycopg; psycopg.connect({urls['polling']!r}).execute('SELECT 1').fetchone()"]
    # The bare script plus what any pydantic model costs (the import and one model): the floor for a tick
    # whose settings and rows are pydantic models.
    floor = [PY, "-c", "from pydantic import BaseModel\nclass One(BaseModel):\n    x: int = 0\n" + bare[2]]
    runs = {"bare": (bare, envs["polling"]), "floor": (floor, envs["polling"])}
    runs["paused"] = ([AGENTCTL, "tick"], envs["paused"])
    runs["polling"] = ([AGENTCTL, "tick"], envs["polling"])
    if BEFORE:  # another checkout's tick (e.g. main's), same venv and server, for a before/after in one run
        import compileall

        compileall.compile_dir(Path(BEFORE) / "agentctl", quiet=1)
        # The venv's editable finder would import this checkout's agentctl: drop it, put the other tree first.
        other = (
            "import sys; sys.meta_path[:] = [f for f in sys.meta_path if not "
            f"getattr(f, '__module__', '').startswith('__editable__')]; sys.path.insert(0, {BEFORE!r}); "
            "sys.argv = ['agentctl', 'tick']; from agentctl.cli.entry import main; main()"
        )
        for kind in ("paused", "polling"):
            runs[f"{kind} before"] = ([PY, "-c", other], envs[kind])
    samples: dict[str, list[tuple[float, int, float]]] = {k: [] for k in runs}
    try:
        heartbeat = psycopg.connect(urls["polling"], autocommit=True)
        for n in range(WARM_ROUNDS + RUNS):
            order = list(runs)[n % len(runs) :] + list(runs)[: n % len(runs)]  # each goes first in turn
            for kind in order:
                # The worker's heartbeat, fresh before every poll as a live worker keeps it (a slow round
                # on a loaded machine must not make the tick judge the worker silent).
                heartbeat.execute("UPDATE lab_operations SET heartbeat_at = NOW() WHERE id = 'op-bench'")
                sample = timed_cpu(*runs[kind])
                if n >= WARM_ROUNDS:
                    samples[kind].append(sample)
        ticks = (WARM_ROUNDS + RUNS) * (2 if BEFORE else 1)
        for kind, skip in (("paused", "paused"), ("polling", "operation_still_running")):
            with psycopg.connect(urls[kind]) as c:
                (count,) = c.execute("SELECT count(*) FROM agent_triggers WHERE skip_reason = %s", (skip,)).fetchone()
            assert count == ticks, (kind, count)  # every tick was the idle one it claims
        heartbeat.close()
    finally:
        worker.kill()
    return {k: tuple(statistics.median(column) for column in zip(*v, strict=True)) for k, v in samples.items()}


def idle_rows(idle: dict) -> list[str]:
    """The idle tick table: each command's medians and their ratios to the bare script's."""
    bare_wall, _, bare_cpu = idle["bare"]
    rows = [
        "| command | wall (median) | wall ratio | CPU (median) | CPU ratio | peak RSS (median) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, (wall, rss, cpu) in idle.items():
        label = IDLE.get(kind) or f"`agentctl tick` ({kind.replace(' before', ', before')})"
        wall_ratio = "" if kind == "bare" else f"{wall / bare_wall:.2f}x"
        cpu_ratio = "" if kind == "bare" else f"{cpu / bare_cpu:.2f}x"
        rows.append(
            f"| {label} | {wall * 1000:.0f} ms | {wall_ratio} | {cpu * 1000:.0f} ms | {cpu_ratio} | {rss / 1024:.1f} MB |"
        )
    return rows


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
    """CYCLE_RUNS full baseline cycles on the hourly dataset, each on a fresh database: (wall, outcome, ticks)."""
    import json

    import psycopg

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
            AGENTCTL_DATASETS="AAPL/1h",  # the universe holds the hourly dataset only
        )
        t0 = time.perf_counter()
        p = subprocess.run(
            [AGENTCTL, "run", "--cycles", "1", "--interval", "1", "--json"], env=cenv, capture_output=True, text=True
        )
        wall = time.perf_counter() - t0
        assert p.returncode == 0, p.stderr
        (summary,) = json.loads(p.stdout)
        assert summary["dataset"]["timeframe"] == "1h", summary
        cycles.append((wall, summary["outcome"], len(p.stderr.strip().splitlines())))
    return cycles


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="agentctl-bench-"))
    os.chmod(base, 0o711)
    server = EmbeddedServer(base / "server")
    env0 = clean_env()
    try:
        # -- 2. embedded server: first start, then reuse by new processes
        home_env = dict(env0, AGENTCTL_HOME=str(base / "server"), AGENTCTL_CONFIG=os.devnull)
        first, reuse_wall, connect_only = server_reuse(home_env)
        # -- 1. idle ticks vs bare psycopg, same server, interleaved
        running = server.running()
        idle = idle_ticks(running, env0, base / "home")
        # -- 3. one full cycle on the hourly dataset, from nothing
        cycles = full_cycles(running, base, env0)
    finally:
        server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
    write_report(first, reuse_wall, connect_only, idle, cycles)


def write_report(first: float, reuse_wall: float, connect_only: float, idle: dict, cycles: list) -> None:
    cycle_wall = statistics.median(c[0] for c in cycles)
    rows = [
        "## Tick",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"shared and noisy; medians of {RUNS} runs (`make bench`, script `bench/tick.py`).",
        "",
        "Idle ticks beside a bare `python -c` that imports psycopg, connects and runs one query: paused",
        "(`agentctl pause`, no active cycle: lock, budget row, admission, one trigger row) and polling (a",
        "cycle in training, its operation still running: lock, budget row, one poll, one trigger row); each",
        "command runs once a round in rotating order (after 3 warm-up rounds), same server, same run. The",
        "floor row is the bare script that also imports pydantic and builds one model: what any tick whose",
        "settings and rows are pydantic models pays before its own work.",
        "",
        *idle_rows(idle),
        "",
        *([f"Rows marked before: {BEFORE_NAME}, timed in the same rounds.", ""] if BEFORE else []),
        "Target: each idle tick <= 1.5x the bare script's median wall.",
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


def idle_only() -> None:
    """`--idle`: the idle ticks beside the bare script, printed (BENCHMARKS.md is left as it is)."""
    base = Path(tempfile.mkdtemp(prefix="agentctl-bench-"))
    os.chmod(base, 0o711)
    server = EmbeddedServer(base / "server")
    env0 = clean_env()
    try:
        idle = idle_ticks(server.start(), env0, base / "home")
    finally:
        server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
    print(f"{RUNS} rounds, load average {os.getloadavg()[0]:.1f}")
    print("\n".join(idle_rows(idle)))


if __name__ == "__main__":
    idle_only() if sys.argv[1:] == ["--idle"] else main()
