"""`agentctl tick`, `run` and `cancel` as a user runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from tickutil import OPEN_GATES, check_invariants, session, triggers

HEAVY = ("anthropic", "sklearn", "pandas", "numpy", "talib")


def running_operation(conn) -> tuple[int, subprocess.Popen]:
    """A cycle in training whose operation is alive: its 'worker' is a sleeping process group leader."""
    # Its command line names the worker module and the operation, as a real worker's does.
    worker = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "-m", "agentctl.lab.worker", "op-idle"],
        start_new_session=True,
    )
    sid = conn.execute(
        "INSERT INTO agent_sessions (phase, strategy_name, training_operation_id) "
        "VALUES ('training', 'idle-probe', 'op-idle') RETURNING id"
    ).fetchone()["id"]
    conn.execute(
        "INSERT INTO lab_operations (id, kind, status, session_id, params, dataset, strategy_hash, progress_pct,"
        " progress_message, pid, host, started_at, heartbeat_at)"
        " VALUES ('op-idle', 'training', 'running', %s, '{}', 'SP500/1d', repeat('0', 64), 42, 'fitting', %s, %s,"
        " NOW(), NOW())",
        (sid, worker.pid, socket.gethostname()),
    )
    conn.commit()
    return sid, worker


def test_an_idle_tick_imports_nothing_heavy(conn):
    sid, worker = running_operation(conn)
    probe = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('IMPORTED=' + ','.join(sorted({m.split('.')[0] for m in sys.modules}"
        f" & set({HEAVY!r}))), file=sys.stderr))\n"
        "sys.argv = ['agentctl', 'tick']\n"
        "from agentctl.cli.main import main\n"
        "main()\n"
    )
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "operation_still_running" in p.stdout
    imported = [line for line in p.stderr.splitlines() if line.startswith("IMPORTED=")]
    assert imported == ["IMPORTED="], p.stderr
    (t,) = triggers(conn, sid)
    assert (t["trigger_reason"], t["skip_reason"]) == ("gate_check", "operation_still_running")
    assert t["context"]["progress_pct"] == 42 and t["context"]["progress_message"] == "fitting"
    worker.kill()
    worker.wait()


def test_run_completes_a_cycle_and_prints_its_summary(conn):
    env = dict(os.environ, **OPEN_GATES)
    p = subprocess.run(
        [sys.executable, "-m", "agentctl", "run", "--cycles", "1", "--interval", "0.2", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr
    (summary,) = json.loads(p.stdout)
    s = session(conn)
    assert summary["id"] == s["id"] and summary["outcome"] == s["outcome"] == "success"
    assert summary["strategy"] == s["strategy_name"]
    assert summary["backtest"]["total_trades"] == s["backtest_results"]["total_trades"]
    assert summary["cost_usd"] == "0.0000"
    # Progress goes to stderr, one plain line per tick without a terminal.
    lines = p.stderr.strip().splitlines()
    assert lines[0].startswith("tick 1: start_new_cycle") and "agent baseline invoked" in lines[0]
    assert len(lines) == len(triggers(conn))
    check_invariants(conn)


def test_run_text_summary(conn):
    env = dict(os.environ, **OPEN_GATES)
    p = subprocess.run(
        [sys.executable, "-m", "agentctl", "run", "--interval", "0.2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr
    s = session(conn)
    assert p.stdout.splitlines()[0] == f"cycle {s['id']}: {s['strategy_name']} -> success"
    assert "training gate passed" in p.stdout and "backtest gate passed" in p.stdout and "cost        $0" in p.stdout


def test_cancel_command(conn):
    sid, worker = running_operation(conn)
    p = subprocess.run([sys.executable, "-m", "agentctl", "cancel"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"cycle {sid} cancelled"
    assert worker.wait(timeout=10) == -15  # the operation's worker was stopped (SIGTERM)
    assert session(conn, sid)["outcome"] == "cancelled"
    p = subprocess.run([sys.executable, "-m", "agentctl", "cancel"], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "no active cycle: nothing to cancel"
    check_invariants(conn)


def test_run_rejects_bad_arguments():
    for args in (["--cycles", "0"], ["--cycles", "x"], ["--interval", "-1"]):
        p = subprocess.run([sys.executable, "-m", "agentctl", "run", *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 2, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1


def test_a_stored_row_that_does_not_read_is_one_line(conn):
    """A cycle whose results do not read (hand-edited, say) stops the tick with one line naming it, not a traceback."""
    conn.execute("""INSERT INTO agent_sessions (phase, training_results) VALUES ('training', '{"accuracy": "high"}')""")
    conn.commit()
    p = subprocess.run([sys.executable, "-m", "agentctl", "tick"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith("agentctl: a stored Cycle row does not read: training_results.accuracy:"), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
