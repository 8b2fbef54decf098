"""Secrets: a full Claude cycle plus error paths with the sentinel key, then grep everything we write.

tests/conftest.py also sweeps every test database (before it is dropped), every
file under the session's temporary directories and all captured output at the
end of the whole run; this test checks the same for one cycle end to end,
including `agentctl` subprocess output and the report commands.
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
from conftest import url_for
from fake_anthropic import fake_anthropic, fault, malformed, script_assessment, script_design
from secrets_scan import SECRETS, files_with_secret, rows_with_secret, rows_with_secret_on
from tickutil import OPEN_GATES, check_invariants, session, tick

pytestmark = pytest.mark.heavy


def _agentctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentctl", *args], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def _claude_with_the_sentinel_key(monkeypatch, url: str) -> None:
    for k, v in {
        "AGENTCTL_AGENT": "claude",
        "ANTHROPIC_API_KEY": SENTINEL_KEY,
        "AGENTCTL_ANTHROPIC_BASE_URL": url,
        "AGENTCTL_API_CALL_TIMEOUT_S": "10",
        "AGENTCTL_API_RETRY_CAP_S": "2",
        "AGENTCTL_API_MAX_ATTEMPTS": "2",
        **OPEN_GATES,
    }.items():
        monkeypatch.setenv(k, v)


# Every report command, as a person would read the cycle afterwards.
REPORTS = (
    ["status"],
    ["cycles", "--json"],
    ["show", "{id}", "--json"],
    ["actions", "--json"],
    ["triggers", "--json"],
    ["cost", "--json"],
    ["budget", "--json"],
    ["doctor"],
    ["metrics"],
)


def test_sentinel_key_never_written_in_a_full_cycle_with_errors(
    settings, conn, db_url, fake_anthropic, monkeypatch, capsys, caplog
):
    _claude_with_the_sentinel_key(monkeypatch, fake_anthropic.url)
    outputs: list[str] = []

    def run(*args: str) -> subprocess.CompletedProcess:
        p = _agentctl(*args)
        outputs.append(p.stdout + p.stderr)
        return p

    # Design, API down twice (the error bodies echo the key): exit 75, failed_design.
    fake_anthropic.enqueue(
        fault(529, message=f"overloaded for {SENTINEL_KEY}", retry_after_ms=10),
        fault(500, message=f"x-api-key: {SENTINEL_KEY}", retry_after_ms=10),
    )
    assert run("tick").returncode == 75
    # The key rejected (401, echoing it): exit 1.
    fake_anthropic.enqueue(fault(401, message=f"invalid x-api-key {SENTINEL_KEY}"))
    assert run("tick").returncode == 1
    assert run("resume").returncode == 0  # the person fixed the key
    # A malformed reply then a full design, training, backtest, assessment.
    fake_anthropic.enqueue(malformed())
    script_design(fake_anthropic, bad_config(), good_config("secret-keeper"))
    script_assessment(fake_anthropic)
    assert run("tick").returncode == 0  # the design, through the console script
    for _ in range(600):  # polling in-process (faster); its output is captured below
        r = tick()
        assert r.exit_code == 0, r.line()
        outputs.append(r.line())
        s = session(conn)
        if s["completed_at"] and s["strategy_name"] == "secret-keeper":
            break
        time.sleep(0.1)
    assert s["outcome"] == "success", s["failure_reason"]
    check_invariants(conn)
    for cmd in REPORTS:
        run(*(a.format(id=s["id"]) for a in cmd))

    assert any(SENTINEL_KEY in str(r.headers) for r in fake_anthropic.requests)  # it was really used
    assert rows_with_secret(db_url) == []  # every table, every column, as text
    assert files_with_secret(settings.home) == []  # logs, operation logs, strategies, ...
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err, caplog.text]
    assert not [o for o in outputs if any(k in o for k in SECRETS)]
    assert (
        "[redacted]"
        in (s2 := conn.execute("SELECT string_agg(error_message, ' ') AS e FROM agent_actions").fetchone())["e"]
    ), s2


def test_the_sweep_finds_a_planted_key(admin_conn):
    """The sweep itself works: a key planted in a row and in a file is found."""
    name = "faults_planted_secret"
    admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_conn.execute(f'CREATE DATABASE "{name}"')
    where = Path(tempfile.mkdtemp(prefix="agentctl-sweep-"))  # outside the session's temp dirs, removed below
    try:
        with psycopg.connect(url_for(name), autocommit=True) as c:
            c.execute("CREATE TABLE t (id int, j jsonb)")
            c.execute("INSERT INTO t VALUES (1, %s::jsonb)", [f'{{"nested": ["x {SENTINEL_KEY} y"]}}'])
            c.execute("CREATE TABLE u (note text)")
            c.execute("INSERT INTO u VALUES (%s), (%s), ('nothing')", [SECRETS[1], SECRETS[1]])
        assert sorted(rows_with_secret(url_for(name))) == [
            f"{url_for(name).split('?')[0]} public.t: 1 row(s)",
            f"{url_for(name).split('?')[0]} public.u: 2 row(s)",
        ]
        with psycopg.connect(url_for(name)) as c:  # as the suite scans: over a test's own connection
            assert len(rows_with_secret_on(c, name)) == 2
        (where / "logs").mkdir()
        (where / "logs" / "op.log").write_text(f"... {SENTINEL_KEY} ...")
        assert files_with_secret(where) == [str(where / "logs" / "op.log")]
    finally:
        admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(where, ignore_errors=True)
