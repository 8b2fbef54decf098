"""Database faults: the server stops in the middle of a tick, a migration fails.

The session-wide test server is shared, so these tests run their own embedded
server (the same `EmbeddedServer` users run) and stop it under a live tick.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from agent_helpers import SENTINEL_KEY, bad_config, good_config
from catalog import snapshot
from conftest import url_for
from fake_anthropic import fake_anthropic, message, script_assessment, script_design, slow, tool_use
from tickutil import OPEN_GATES, check_invariants, completed, session

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def own_server():
    """A private embedded server for this module: (EmbeddedServer, RunningServer); stopped at the end."""
    from agentctl.store.embedded import EmbeddedServer

    base = Path(tempfile.mkdtemp(prefix="agentctl-outage-"))
    os.chmod(base, 0o711)  # the server runs as the system user `agentctl`
    # fsync off is safe here (the OS does not crash); synchronous_commit stays on: an immediate stop
    # must not lose transactions the tick saw committed.
    server = EmbeddedServer(base / "home", "-c fsync=off -c full_page_writes=off")
    running = server.start()
    yield server, running
    from secrets_scan import files_with_secret, rows_with_secret

    try:
        # conftest's session-end sweep does not see this server: sweep it here, before it goes.
        running = server.running() or server.start()
        with psycopg.connect(running.url("postgres"), autocommit=True) as admin:
            names = [r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")]
        leaks = [leak for n in names for leak in rows_with_secret(running.url(n))] + files_with_secret(base)
        assert leaks == [], f"a test API key leaked to: {leaks}"
    finally:
        try:
            server.stop("immediate")
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def outage(own_server, tmp_path, monkeypatch, request):
    """A fresh database on the private server, the environment pointing at it; the server is up on exit."""
    from agentctl import settings as settings_mod

    server, running = own_server
    if server.running() is None:
        server.start()
    name = "outage_" + request.node.name[:40].lower().replace("[", "_").replace("]", "").replace("-", "_")
    with psycopg.connect(running.url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AGENTCTL_DATABASE_URL", running.url(name))
    monkeypatch.setenv("AGENTCTL_HOME", str(home))
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    for k, v in OPEN_GATES.items():
        monkeypatch.setenv(k, v)
    settings_mod.get_settings.cache_clear()
    yield server, running.url(name)
    settings_mod.get_settings.cache_clear()
    if server.running() is None:
        server.start()


def _tick_process(timeout: float = 120) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agentctl", "tick"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_tick(timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentctl", "tick"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _one_line(err: str) -> str:
    """The tick's error is one line; before it, at most the money log's own one-line records ("agent: ...")."""
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("agentctl: "), err
    assert all(line.startswith("agent: ") for line in lines[:-1]) and len(lines) <= 2, err
    assert "Traceback" not in err
    return lines[-1]


def _tick_until(url: str, predicate, timeout_s: float = 120) -> list[subprocess.CompletedProcess]:
    out = []
    deadline = time.monotonic() + timeout_s
    while True:
        p = _run_tick()
        out.append(p)
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
            if predicate(c):
                return out
        assert time.monotonic() < deadline, [x.stdout for x in out[-5:]]
        time.sleep(0.2)


def _wait_for(predicate, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until `predicate()` holds; a deadline for a loaded machine, and the process's own words if it ended first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the tick ended first (exit {process.returncode}): {out} {err}")
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _counts(url: str) -> dict:
    with psycopg.connect(url) as c:
        return {
            t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("agent_sessions", "agent_actions", "agent_triggers", "agent_metrics", "agent_budget")
        }


def test_server_down_before_a_tick_exits_75_and_writes_nothing(outage):
    server, url = outage
    assert _run_tick().returncode == 0  # first tick: schema, a cycle started (baseline designer)
    before = _counts(url)
    server.stop("immediate")
    p = _run_tick()
    assert p.returncode == 75, (p.stdout, p.stderr)
    assert "database" in _one_line(p.stderr)
    server.start()
    assert _counts(url) == before
    p = _run_tick()  # the next tick proceeds: one more trigger row, the same cycle
    assert p.returncode == 0, p.stderr
    after = _counts(url)
    assert after["agent_triggers"] == before["agent_triggers"] + 1 and after["agent_sessions"] == 1
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
        check_invariants(c)


def test_server_stops_during_the_model_call_then_the_next_tick_carries_on(outage, fake_anthropic, monkeypatch):
    """The tick is waiting on the API when PostgreSQL goes away: exit 75, nothing half-written, then recovery."""
    server, url = outage
    for k, v in {
        "AGENTCTL_AGENT": "claude",
        "ANTHROPIC_API_KEY": SENTINEL_KEY,
        "AGENTCTL_ANTHROPIC_BASE_URL": fake_anthropic.url,
        "AGENTCTL_API_CALL_TIMEOUT_S": "20",
        "AGENTCTL_API_RETRY_CAP_S": "1",
    }.items():
        monkeypatch.setenv(k, v)
    fake_anthropic.enqueue(slow(message(tool_use("validate_strategy", {"config": bad_config()})), 3.0))
    p = _tick_process()
    _wait_for(lambda: len(fake_anthropic.message_requests) == 1, p)  # the tick is inside the model call
    server.stop("immediate")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 75, (out, err)
    line = _one_line(err)
    assert "database" in line and SENTINEL_KEY not in err + out

    server.start()
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
        s = session(c)
        # Committed before the call: the session and its trigger row, together; nothing else of the design.
        assert s["phase"] == "designing" and s["completed_at"] is None
        assert [t["trigger_reason"] for t in c.execute("SELECT * FROM agent_triggers").fetchall()] == [
            "start_new_cycle"
        ]
        reserved = c.execute("SELECT budget_reserved_usd FROM agent_budget").fetchone()["budget_reserved_usd"]
        assert reserved > 0  # the reservation of the call whose reply never got recorded

    # Next tick: the interrupted design ends failed_design and the orphaned reservation is charged once.
    script_design(fake_anthropic, bad_config(), good_config("after-the-outage"))
    first = _run_tick()
    assert first.returncode == 0, first.stderr
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
        s1 = c.execute("SELECT * FROM agent_sessions ORDER BY id LIMIT 1").fetchone()
        assert s1["outcome"] == "failed_design" and "died" in s1["failure_reason"]
        check_invariants(c)
        assert c.execute("SELECT budget_reserved_usd FROM agent_budget").fetchone()["budget_reserved_usd"] == 0
    script_assessment(fake_anthropic)
    _tick_until(url, lambda c: session(c)["id"] != s1["id"] and completed(c))
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
        s2 = session(c)
        assert s2["outcome"] == "success" and s2["strategy_name"] == "after-the-outage", s2["failure_reason"]
        check_invariants(c)
        calls = c.execute("SELECT count(*) AS n FROM agent_actions WHERE tool_name = 'messages.create'").fetchone()["n"]
    # Every request the API received is logged, except the one whose reply arrived while the database was down:
    # that one is charged as an orphaned reservation (at its worst case) instead.
    assert calls == len(fake_anthropic.message_requests) - 1 + 1


@pytest.mark.slow
def test_server_stops_while_training_runs_then_the_cycle_still_ends(outage):
    """A worker loses its database mid-operation; ticks exit 75 meanwhile; afterwards the cycle ends, no stuck session."""
    server, url = outage
    assert _run_tick().returncode == 0  # baseline design, training started
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
        assert session(c)["phase"] == "training"
    server.stop("immediate")
    p = _run_tick()
    assert p.returncode == 75 and "database" in _one_line(p.stderr)
    time.sleep(1.0)
    server.start()
    _tick_until(url, completed, timeout_s=180)
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
        s = session(c)
        assert s["phase"] == "idle" and s["outcome"], s
        check_invariants(c)


# ---- a migration that fails ------------------------------------------------------------------------------


def _broken_migrations(tmp_path: Path) -> Path:
    from agentctl.store.migrate import migrations_dir

    broken = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), broken)
    (broken / "9999_broken.sql").write_text(
        "-- depends: \nALTER TABLE agent_sessions ADD COLUMN half_done INT;\nSELECT no_such_function();\n"
    )
    return broken


def test_db_upgrade_with_a_failing_migration_exits_1_with_one_line(settings, db_url, tmp_path, monkeypatch, capsys):
    """tests/test_schema.py covers migrate.upgrade; this is `agentctl db upgrade` and `agentctl tick`."""
    from agentctl.cli import entry
    from agentctl.cli.main import main
    from agentctl.store import migrate

    migrate.upgrade(db_url)  # current first (a migration added since the template database was made)
    broken = _broken_migrations(tmp_path)
    monkeypatch.setattr(migrate, "migrations_dir", lambda: broken)
    with psycopg.connect(db_url) as c:
        before = snapshot(c)

    monkeypatch.setattr(sys, "argv", ["agentctl", "db", "upgrade"])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    assert done.value.code == 1, out
    assert "migration 9999_broken failed, schema unchanged" in _one_line(out.err) and "no_such_function" in out.err

    # The tick applies pending migrations first: the same failure is a person's to fix (exit 1), not a retry.
    assert entry.tick() == 1
    out = capsys.readouterr()
    assert "schema unchanged" in _one_line(out.err)
    with psycopg.connect(db_url) as c:
        assert snapshot(c) == before
        assert ("9999_broken",) not in c.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
        assert c.execute("SELECT count(*) FROM agent_triggers").fetchone()[0] == 0


def test_a_failing_migration_after_good_ones_keeps_them_and_says_so(admin_conn, tmp_path):
    """yoyo commits each migration on its own: on a fresh database 0001..0005 go in, 9999 is rolled back,
    and the error says exactly that (it used to claim "schema unchanged"). Fixed, the next upgrade finishes."""
    from agentctl.store.migrate import MigrationError, migration_ids, migrations_dir, upgrade

    name = "faults_fresh_broken"
    admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with pytest.raises(MigrationError) as err:
            upgrade(url_for(name), _broken_migrations(tmp_path))
        good = migration_ids(migrations_dir())
        assert str(err.value).startswith(
            "migration 9999_broken failed and was rolled back (applied before it: " + ", ".join(good) + "): "
        )
        with psycopg.connect(url_for(name)) as c:
            cols = c.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'agent_sessions' AND column_name = 'half_done'"
            ).fetchall()
            assert cols == []  # the failing migration's own change is gone
            applied = [r[0] for r in c.execute("SELECT migration_id FROM _yoyo_migration ORDER BY 1").fetchall()]
            assert applied == good
        assert upgrade(url_for(name)) == []  # with the broken file gone: current
    finally:
        admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
