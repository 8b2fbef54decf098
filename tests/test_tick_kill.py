"""SIGKILL lands on a tick at many points; afterwards nothing is lost, double-counted or stuck."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from agent_helpers import bad_config, good_config
from fake_anthropic import fake_anthropic, message, script_assessment, script_design, slow, text
from tickutil import check_invariants, claude_env, completed, session, tick_until

pytestmark = pytest.mark.heavy


def _count(conn, sql: str) -> int:
    conn.commit()
    return conn.execute(sql).fetchone()["n"]


def _wait(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def _killed_tick(predicate) -> int:
    """Start `agentctl tick`, SIGKILL it as soon as `predicate()` holds (or it exits); returns its exit code."""
    p = subprocess.Popen(
        [sys.executable, "-m", "agentctl", "tick"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(lambda: predicate() or p.poll() is not None)
    p.kill()
    return p.wait()


def _script(fake, i: int) -> None:
    with fake.lock:
        fake.queue.clear()
    cfg = good_config(f"kill-{i}")
    cfg["features"][0]["params"]["timeperiod"] = 5 + i  # a distinct strategy each cycle
    script_design(fake, bad_config(), cfg)
    script_assessment(fake)


def _kill_after_next_response(fake, delay_s: float = 0.002):
    """Arm a kill that fires just after the fake API has produced its next reply."""
    fired = threading.Event()
    original = fake._message

    def wrapped(reply, body):
        out = original(reply, body)
        fake._message = original
        threading.Timer(delay_s, fired.set).start()
        return out

    fake._message = wrapped
    return fired.is_set


def test_sigkill_at_many_points_then_ticks_finish_every_cycle(conn, fake_anthropic, claude_env):
    def n_sessions() -> int:
        return _count(conn, "SELECT count(*) AS n FROM agent_sessions")

    def requests() -> int:
        return len(fake_anthropic.message_requests)

    kill_points = {
        "while starting": lambda: (time.sleep(0.05), True)[1],
        "after the session insert": (lambda before: lambda: n_sessions() > before),
        "during a model call": (lambda before: lambda: requests() > before),
        "after a call, before its row": None,
        "during the assessment call": "assess",
    }
    ended = []
    for i, (point, how) in enumerate(kill_points.items()):
        _script(fake_anthropic, i)
        if point == "while starting":
            _killed_tick(how)
        elif point == "after a call, before its row":
            _killed_tick(_kill_after_next_response(fake_anthropic))
        elif point == "during the assessment call":
            # Reach the assessment, slowed down, and kill inside it.
            tick_until(conn, lambda c: session(c)["phase"] in ("backtesting", "idle"))
            s = session(conn)
            if s["phase"] == "backtesting":
                with fake_anthropic.lock:
                    fake_anthropic.queue.clear()
                fake_anthropic.enqueue(slow(message(text("Weighing it up.")), 2.0))
                script_assessment(fake_anthropic)
                op = s["backtest_operation_id"]
                _wait(
                    lambda: (
                        _count(
                            conn,
                            f"SELECT count(*) AS n FROM lab_operations WHERE id = '{op}' "
                            "AND status <> 'running' AND status <> 'pending'",
                        )
                        == 1
                    )
                )
                before = requests()
                _killed_tick(lambda: requests() > before)
        else:
            _killed_tick(how(n_sessions() if point == "after the session insert" else requests()))
        # Kill a few polling/completing ticks at arbitrary moments too.
        for delay in (0.05, 0.3, 0.8):
            _killed_tick(lambda d=delay, t=time.monotonic(): time.monotonic() - t > d)
        tick_until(conn, completed, timeout_s=120)
        ended.append(session(conn)["outcome"])
        check_invariants(conn)

    assert len(ended) == len(kill_points) and all(ended)
    # Every request the API received is one logged model call (billed or charged at worst case).
    logged = _count(conn, "SELECT count(*) AS n FROM agent_actions WHERE tool_name = 'messages.create'")
    assert logged == len(fake_anthropic.message_requests)
    assert _count(conn, "SELECT count(*) AS n FROM agent_budget_reservations") == 0
    assert _count(conn, "SELECT count(*) AS n FROM agent_sessions WHERE phase <> 'idle'") == 0
    check_invariants(conn)
