"""`agentctl tick`, `run` and `cancel` as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import psycopg
import pytest
from tickutil import OPEN_GATES, check_invariants, session, triggers

pytestmark = pytest.mark.heavy

HEAVY = ("anthropic", "sklearn", "pandas", "numpy", "talib")
# Nor does an idle tick through the console script load the CLI framework, the settings library it
# no longer uses, or the migration tool (it reads that nothing is pending with one query).
# An idle tick decides on where the cycle stands (store/cycle_state.py): no result record is built.
NOT_IDLE = (*HEAVY, "typer", "rich", "pydantic_settings", "yoyo", "agentctl.store.records", "agentctl.results")


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


def console_tick(names: tuple[str, ...], env: dict | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`agentctl tick` as cron runs it (the console script's entry); which of `names` (packages or modules) it imported."""
    probe = (
        "import sys, atexit\n"
        f"names = set({names!r})\n"
        "seen = lambda: {n for m in sys.modules for n in names if m == n or m.startswith(n + '.')}\n"
        "atexit.register(lambda: print('IMPORTED=' + ','.join(sorted(seen())), file=sys.stderr))\n"
        "sys.argv = ['agentctl', 'tick']\n"
        "from agentctl.cli.entry import main\n"
        "main()\n"
    )
    p = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    imported = [line.removeprefix("IMPORTED=") for line in p.stderr.splitlines() if line.startswith("IMPORTED=")]
    return p, imported


def test_a_polling_tick_from_cron_loads_only_what_it_needs(conn):
    sid, worker = running_operation(conn)
    p, imported = console_tick(NOT_IDLE)
    assert p.returncode == 0, p.stderr
    assert "operation_still_running" in p.stdout
    assert imported == [""], p.stderr
    (t,) = triggers(conn, sid)
    assert (t["trigger_reason"], t["skip_reason"]) == ("gate_check", "operation_still_running")
    worker.kill()
    worker.wait()


def test_a_paused_tick_from_cron_loads_only_what_it_needs(conn):
    pause = [sys.executable, "-m", "agentctl", "pause"]
    assert subprocess.run(pause, capture_output=True, text=True, timeout=60).returncode == 0
    p, imported = console_tick(NOT_IDLE)
    assert p.returncode == 0, p.stderr
    assert "start_new_cycle · skip: paused" in p.stdout
    assert imported == [""], p.stderr
    (t,) = triggers(conn)
    assert (t["trigger_reason"], t["skip_reason"], t["session_id"]) == ("start_new_cycle", "paused", None)
    assert conn.execute("SELECT count(*) AS n FROM agent_sessions").fetchone()["n"] == 0


def test_a_tick_on_a_new_database_applies_every_migration(admin_conn, tmp_path):
    from conftest import url_for

    from agentctl.store.migrate import migration_ids, pending

    admin_conn.execute('DROP DATABASE IF EXISTS "tick_fresh" WITH (FORCE)')
    admin_conn.execute('CREATE DATABASE "tick_fresh"')
    try:
        url = url_for("tick_fresh")
        with psycopg.connect(url) as c:  # yoyo never ran here: its log is missing, every id is pending
            assert pending(c) == migration_ids()
            assert c.execute("SELECT 1").fetchone() == (1,)  # and the caller's connection still works
        env = dict(os.environ, AGENTCTL_DATABASE_URL=url, AGENTCTL_HOME=str(tmp_path), AGENTCTL_CONFIG=os.devnull)
        p, imported = console_tick(("yoyo",), dict(env, AGENTCTL_PAUSED="1"))
        assert p.returncode == 0, p.stderr
        assert imported == ["yoyo"]  # something was pending: the migration tool ran
        with psycopg.connect(url) as c:
            applied = [r[0] for r in c.execute("SELECT migration_id FROM _yoyo_migration ORDER BY migration_id")]
            reasons = c.execute("SELECT trigger_reason, skip_reason FROM agent_triggers").fetchall()
        assert applied == migration_ids()
        assert reasons == [("start_new_cycle", "paused")]  # then the tick went on as usual
    finally:
        admin_conn.execute('DROP DATABASE IF EXISTS "tick_fresh" WITH (FORCE)')


def test_a_tick_applies_a_migration_added_since_the_last_one(settings, conn, tmp_path, monkeypatch, capsys):
    from agentctl.cli import entry
    from agentctl.store import migrate

    shipped = tmp_path / "migrations"
    shutil.copytree(migrate.migrations_dir(), shipped)
    (shipped / "9999_added.sql").write_text("-- depends: \nCREATE TABLE tick_added (id INT);\n")
    monkeypatch.setattr(migrate, "migrations_dir", lambda: shipped)
    monkeypatch.setenv("AGENTCTL_PAUSED", "1")
    assert migrate.pending(conn) == ["9999_added"]

    assert entry.tick() == 0
    assert "start_new_cycle · skip: paused" in capsys.readouterr().out
    conn.commit()
    assert migrate.pending(conn) == []
    assert conn.execute("SELECT to_regclass('tick_added') IS NOT NULL AS made").fetchone()["made"]
    assert [(t["trigger_reason"], t["skip_reason"]) for t in triggers(conn)] == [("start_new_cycle", "paused")]


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
    assert worker.wait(timeout=60) == -15  # the operation's worker was stopped (SIGTERM)
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
