"""Claude designs through the real SDK against the fake API: rows, costs and budget exact."""

from __future__ import annotations

import json
from decimal import Decimal

from agent_helpers import SENTINEL_KEY, actions, bad_config, claude_settings, conn_factory, good_config, new_cycle
from fake_anthropic import fake_anthropic, script_design

from agentctl.agent import run_design
from agentctl.pricing import cost, price_for, read_usage, to_ledger
from agentctl.store.budget import Budget


def test_design_first_config_fails_validation_second_saves(settings, conn, fake_anthropic):
    s = claude_settings(settings, fake_anthropic)
    sid = new_cycle(conn)
    script_design(fake_anthropic, bad_config(), good_config())

    out = run_design(conn_factory(s), s, sid)

    assert out.saved, out.failure_reason
    assert out.agent_name == "claude"
    assert out.strategy_name == "rsi-reversion-1h"
    assert out.strategy_path == str(s.home / "strategies" / "rsi-reversion-1h.json")
    assert json.loads((s.home / "strategies" / "rsi-reversion-1h.json").read_text())["name"] == "rsi-reversion-1h"
    assert fake_anthropic.pending == 0
    session = conn.execute("SELECT * FROM agent_sessions WHERE id = %s", [sid]).fetchone()
    assert session["strategy_name"] == "rsi-reversion-1h"
    assert session["strategy_file_path"] == out.strategy_path
    assert session["strategy_config"]["dataset"] == {"symbol": "AAPL", "timeframe": "1h"}
    assert len(session["strategy_hash"]) == 64

    rows = actions(conn, sid)
    assert [(r["tool_name"], r["success"]) for r in rows] == [
        ("messages.create", True),
        ("validate_strategy", False),
        ("messages.create", True),
        ("validate_strategy", True),
        ("messages.create", True),
        ("save_strategy", True),
    ]
    assert "unknown function 'RSX'" in rows[1]["error_message"]
    assert rows[1]["tool_result"]["ok"] is False
    # Every model call is priced from its reported usage, cache tokens included.
    price = price_for("claude-sonnet-5-5", rows[0]["budget_date"])
    for row, _req in zip(
        [r for r in rows if r["tool_name"] == "messages.create"], fake_anthropic.message_requests, strict=False
    ):
        usage = read_usage(row["tool_result"]["usage"]).usage
        assert usage is not None
        assert row["cost_usd"] == to_ledger(cost(price, usage)) > 0
        assert row["request_id"].startswith("req_")
        assert row["model"] == "claude-sonnet-5-5" and row["latency_ms"] >= 0
        assert row["tokens_input"] == usage.input_tokens and row["tokens_output"] == usage.output_tokens
    first, second = rows[0], rows[2]
    assert first["tokens_cache_write"] > 0 and first["tokens_cache_read"] == 0
    assert second["tokens_cache_write"] == 0 and second["tokens_cache_read"] == first["tokens_cache_write"]
    # The budget used is exactly the sum of the action costs; nothing left reserved.
    snap = Budget(s).snapshot(conn)
    assert snap.used == sum(r["cost_usd"] for r in rows) > 0
    assert snap.reserved == 0
    assert snap.invocations == 1


def test_system_prefix_is_byte_identical_across_calls_and_cycles(settings, conn, fake_anthropic):
    s = claude_settings(settings, fake_anthropic)
    for n in range(2):
        sid = new_cycle(conn)
        script_design(
            fake_anthropic,
            bad_config(),
            good_config(f"rsi-reversion-{n}") | {"features": [{"function": "RSI", "params": {"timeperiod": 10 + n}}]},
        )
        assert run_design(conn_factory(s), s, sid).saved
        with conn.transaction():
            conn.execute(
                "UPDATE agent_sessions SET phase = 'idle', outcome = 'failed_training', "
                "completed_at = now() WHERE id = %s",
                [sid],
            )
    reqs = fake_anthropic.message_requests
    assert len(reqs) == 6
    assert len({r.cacheable_prefix for r in reqs}) == 1
    assert all(json.dumps(r.body["system"]) == json.dumps(reqs[0].body["system"]) for r in reqs)
    assert reqs[0].body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "temperature" not in reqs[0].body
    # The memory is in the user message: the second cycle sees the first.
    assert "rsi-reversion-0" in reqs[3].body["messages"][0]["content"]
    assert "rsi-reversion-0" not in json.dumps(reqs[3].body["system"])


def test_thinking_blocks_go_back_unchanged(settings, conn, fake_anthropic):
    s = claude_settings(settings, fake_anthropic)
    sid = new_cycle(conn)
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(conn_factory(s), s, sid).saved
    assistant = fake_anthropic.message_requests[1].body["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0]["type"] == "thinking" and assistant["content"][0]["signature"].startswith("sig_")


def test_fake_api_serves_a_subprocess(settings, conn, fake_anthropic):
    """The way the tick tests use it: replies enqueued here, the agent runs in another process."""
    import os
    import subprocess
    import sys

    sid = new_cycle(conn)
    script_design(fake_anthropic, bad_config(), good_config())
    env = dict(
        os.environ,
        ANTHROPIC_API_KEY=SENTINEL_KEY,
        AGENTCTL_ANTHROPIC_BASE_URL=fake_anthropic.url,
        AGENTCTL_AGENT="claude",
    )
    code = (
        "from agentctl.settings import Settings\nfrom agentctl.store import connect\nfrom agentctl.agent import run_design\n"
        f"s = Settings()\nout = run_design(lambda: connect(s), s, {sid})\nprint(out.saved, out.strategy_name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "rsi-reversion-1h"]
    assert SENTINEL_KEY not in done.stdout + done.stderr
    assert len(fake_anthropic.message_requests) == 3 and fake_anthropic.pending == 0
