"""The API key never reaches a database row, a log line or an error message."""

from __future__ import annotations

import logging

import pytest
from agent_helpers import SENTINEL_KEY, bad_config, claude_settings, conn_factory, finish, good_config, new_cycle
from fake_anthropic import fake_anthropic, fault, script_design

from agentctl.agent import AgentMisconfigured, AgentUnavailable, run_design


def test_sentinel_key_absent_from_rows_logs_and_errors(settings, conn, fake_anthropic, caplog, capsys):
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx's included
    s = claude_settings(settings, fake_anthropic, api_max_attempts=2)
    errors = []

    sid = new_cycle(conn)
    fake_anthropic.enqueue(fault(429, retry_after_ms=10))
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(conn_factory(s), s, sid).saved
    finish(conn, sid)

    sid = new_cycle(conn)
    fake_anthropic.enqueue(fault(401, message=f"invalid x-api-key {SENTINEL_KEY}"))
    with pytest.raises(AgentMisconfigured) as err:
        run_design(conn_factory(s), s, sid)
    errors.append(str(err.value))

    fake_anthropic.enqueue(
        fault(529, message=f"overloaded for {SENTINEL_KEY}", retry_after_ms=10),
        fault(529, message=f"overloaded for {SENTINEL_KEY}", retry_after_ms=10),
    )
    with pytest.raises(AgentUnavailable) as err:
        run_design(conn_factory(s), s, sid)
    errors.append(str(err.value))

    # The key was really sent to the API...
    assert any(SENTINEL_KEY in str(r.headers) for r in fake_anthropic.requests)
    # ...and appears nowhere we write.
    with conn.transaction():
        dump = conn.execute(
            "SELECT (SELECT json_agg(a)::text FROM agent_actions a) || (SELECT json_agg(s)::text FROM agent_sessions s)"
            " || (SELECT json_agg(b)::text FROM agent_budget b) AS dump"
        ).fetchone()["dump"]
    assert "messages.create" in dump and SENTINEL_KEY not in dump
    assert caplog.records and all(SENTINEL_KEY not in r.getMessage() for r in caplog.records)
    out = capsys.readouterr()
    assert SENTINEL_KEY not in out.out + out.err
    assert errors and all(SENTINEL_KEY not in e for e in errors)
    assert "[redacted]" in errors[1]
