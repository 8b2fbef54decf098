"""Driving real ticks in tests: in-process or as `agentctl tick` subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from agentctl.settings import Settings
from agentctl.tick import Tick, TickResult

# Gates wide open / shut, so a real cycle on real data reaches the row under test.
OPEN_GATES = {
    "AGENTCTL_GATES__TRAINING_ALPHA": "1",
    "AGENTCTL_GATES__RESEARCH_ALPHA": "1",
    "AGENTCTL_GATES__MIN_TRADES": "1",
    "AGENTCTL_GATES__MAX_DRAWDOWN_VS_MARKET": "1000",
    "AGENTCTL_GATES__MIN_WIN_RATE": "0",
    "AGENTCTL_GATES__MIN_SHARPE": "-1000",
    "AGENTCTL_GATES__MIN_DEFLATED_SHARPE": "0",
    "AGENTCTL_GATES__CONFIRM_ALPHA": "1",
}


AGENTCTL = str(Path(sys.executable).parent / "agentctl")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `agentctl` with the test's environment (plus `env`), as a user runs it."""
    full = {**os.environ, **(env or {})}
    return subprocess.run([AGENTCTL, *args], capture_output=True, text=True, timeout=120, env=full)


def one_line_error(p: subprocess.CompletedProcess[str], code: int, *says: str) -> str:
    """The run failed with `code` and one `agentctl: ...` line holding every word of `says`; that line."""
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert p.returncode == code, (p.returncode, p.stderr)
    assert len(lines) == 1 and lines[0].startswith("agentctl: "), p.stderr
    for word in says:
        assert word in lines[0], lines[0]
    return lines[0]


def tick(**env: str) -> TickResult:
    """One real tick in this process, with extra environment settings."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Tick(Settings()).run()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def tick_until(conn, predicate, *, timeout_s: float = 300, pause_s: float = 0.2, **env: str) -> list[TickResult]:
    """Tick until `predicate(conn)` is true; returns every tick's result."""
    results = []
    deadline = time.monotonic() + timeout_s
    while True:
        results.append(tick(**env))
        if predicate(conn):
            return results
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last ticks: {[r.line() for r in results[-5:]]}")
        time.sleep(pause_s)


def wait_for_operation(conn, settings, op_id: str, until, timeout: float = 60.0):
    """Poll an operation (check_operation, as the tick does) until `until(op)` holds."""
    from agentctl.lab.operations import check_operation

    deadline = time.monotonic() + timeout
    while True:
        op = check_operation(conn, settings, op_id)
        if until(op):
            return op
        assert time.monotonic() < deadline, f"timed out waiting; last state {op}"
        time.sleep(0.2)


def process_gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether `pid` exits within `timeout` seconds."""
    from agentctl.procs import alive

    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def session(conn, sid: int | None = None) -> dict | None:
    conn.commit()
    if sid is None:
        return conn.execute("SELECT * FROM agent_sessions ORDER BY id DESC LIMIT 1").fetchone()
    return conn.execute("SELECT * FROM agent_sessions WHERE id = %s", (sid,)).fetchone()


def phase_is(*phases: str):
    def check(conn) -> bool:
        s = session(conn)
        return s is not None and s["phase"] in phases

    return check


def completed(conn) -> bool:
    s = session(conn)
    return s is not None and s["completed_at"] is not None


def triggers(conn, sid: int | None = None) -> list[dict]:
    conn.commit()
    if sid is None:
        return conn.execute("SELECT * FROM agent_triggers ORDER BY id").fetchall()
    return conn.execute("SELECT * FROM agent_triggers WHERE session_id = %s ORDER BY id", (sid,)).fetchall()


def trigger_rows(conn, sid: int | None = None) -> list[tuple]:
    """(reason, agent_invoked, skip_reason) per trigger, consecutive 'still running' polls collapsed."""
    rows = [(t["trigger_reason"], t["agent_invoked"], t["skip_reason"]) for t in triggers(conn, sid)]
    out: list[tuple] = []
    for r in rows:
        if out and r == out[-1] and r[2] == "operation_still_running":
            continue
        out.append(r)
    return out


def check_invariants(conn) -> None:
    """The ledger's invariants (one active cycle, used = sum of costs, metrics = actions), on the database as it is."""
    conn.commit()
    active = conn.execute("SELECT count(*) AS n FROM agent_sessions WHERE phase <> 'idle'").fetchone()["n"]
    assert active <= 1
    for day in conn.execute("SELECT date, budget_used_usd, budget_reserved_usd FROM agent_budget").fetchall():
        spent = conn.execute(
            "SELECT COALESCE(SUM(cost_usd), 0) AS s FROM agent_actions WHERE budget_date = %s", (day["date"],)
        ).fetchone()["s"]
        assert Decimal(day["budget_used_usd"]) == Decimal(spent), (day, spent)
    for s in conn.execute("SELECT * FROM agent_sessions WHERE completed_at IS NOT NULL").fetchall():
        assert s["outcome"] and s["phase"] == "idle"
        metrics = conn.execute("SELECT * FROM agent_metrics WHERE session_id = %s", (s["id"],)).fetchall()
        assert len(metrics) == 1, f"cycle {s['id']} has {len(metrics)} metrics rows"
        cost = conn.execute(
            "SELECT COALESCE(SUM(cost_usd), 0) AS c FROM agent_actions WHERE session_id = %s", (s["id"],)
        ).fetchone()["c"]
        assert Decimal(metrics[0]["estimated_cost_usd"]) == Decimal(cost)
        assert metrics[0]["outcome"] == s["outcome"]


def run_tick_process(env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`agentctl tick` in a subprocess with the test's environment."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "agentctl", "tick"], env=e, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def claude_env(settings, fake_anthropic, monkeypatch):
    """Environment for ticks that use Claude through the fake Messages API (and their subprocesses)."""
    from agent_helpers import SENTINEL_KEY

    env = {
        "AGENTCTL_AGENT": "claude",
        "ANTHROPIC_API_KEY": SENTINEL_KEY,
        "AGENTCTL_ANTHROPIC_BASE_URL": fake_anthropic.url,
        "AGENTCTL_API_CALL_TIMEOUT_S": "10",
        "AGENTCTL_API_RETRY_CAP_S": "1",
        **OPEN_GATES,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env
