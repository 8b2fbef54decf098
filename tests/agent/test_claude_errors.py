"""Every way a Claude invocation can end early: limits, stop reasons, API faults, budget, config."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import pytest
from agent_helpers import actions, bad_config, calls, claude, finish, good_config, ledger_exact, new_cycle
from fake_anthropic import fake_anthropic, fault, malformed, message, refusal, script_design, slow, text, tool_use

from agentctl.agent import AgentMisconfigured, AgentUnavailable, BudgetExceeded, run_design, select_agent
from agentctl.store.budget import Budget

pytestmark = pytest.mark.heavy


def test_claude_without_a_key_is_misconfigured(settings):
    s = settings.model_copy(update={"agent": "claude"})
    with pytest.raises(AgentMisconfigured, match="no API key: set ANTHROPIC_API_KEY or AGENTCTL_AGENT=baseline"):
        select_agent(s)


def test_unknown_model_is_refused_before_any_call(claude, fake_anthropic, conn):
    s, factory, sid = claude(design_model="claude-imaginary-9")
    with pytest.raises(AgentMisconfigured, match="no price known for model 'claude-imaginary-9'"):
        run_design(factory, s, sid)
    assert fake_anthropic.requests == [] and actions(conn) == []


def test_price_override_prices_an_unlisted_model(claude, fake_anthropic, conn):
    s, factory, sid = claude(
        design_model="claude-imaginary-9", price_overrides={"claude-imaginary-9": {"input": "1", "output": "5"}}
    )
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(factory, s, sid).saved
    assert all(r["cost_usd"] > 0 and r["model"] == "claude-imaginary-9" for r in calls(conn, sid))


def test_budget_exhausted_before_the_first_call_raises(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    Budget(s).set_limit(conn, Decimal("0.01"))
    with pytest.raises(BudgetExceeded):
        run_design(factory, s, sid)
    assert fake_anthropic.requests == []
    snap = ledger_exact(conn, s)
    assert (snap.used, snap.invocations) == (0, 0)


def test_budget_cap_stops_an_invocation_midway(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(factory, s, sid).saved
    first_reserved = Decimal(calls(conn, sid)[0]["tool_args"]["reserved_usd"])
    used = Budget(s).snapshot(conn).used
    with conn.transaction():  # idle but not completed: the memory (and so the prompt size) stays the same
        conn.execute("UPDATE agent_sessions SET phase = 'idle' WHERE id = %s", [sid])
    # Room for the first call of the next design, not for its second.
    Budget(s).set_limit(conn, used + first_reserved + Decimal("0.0005"))
    s2, factory2, sid2 = claude()
    fake_anthropic.queue.clear()
    script_design(fake_anthropic, bad_config(), good_config("another-name") | {"model": {"family": "mlp"}})
    out = run_design(factory2, s2, sid2)
    assert not out.saved
    assert out.failure_reason.startswith("budget exceeded midway")
    assert len(calls(conn, sid2)) == 1
    snap = ledger_exact(conn, s)
    assert snap.used <= snap.limit


def test_rate_limit_is_retried_honouring_retry_after_ms(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(fault(429, retry_after_ms=50), fault(529, retry_after_ms=20))
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(factory, s, sid).saved
    rows = calls(conn, sid)
    assert [(r["success"], r["attempt"]) for r in rows[:3]] == [(False, 1), (False, 2), (True, 3)]
    assert "HTTP 429" in rows[0]["error_message"] and "overloaded_error" in rows[1]["error_message"]
    assert rows[0]["cost_usd"] == 0 and rows[0]["request_id"].startswith("req_")
    ledger_exact(conn, s)


def test_outage_ends_the_invocation_cleanly(claude, fake_anthropic, conn):
    s, factory, sid = claude(api_max_attempts=3)
    fake_anthropic.enqueue(*[fault(529, retry_after_ms=10)] * 3)
    with pytest.raises(AgentUnavailable, match="after 3 attempts"):
        run_design(factory, s, sid)
    assert len(calls(conn, sid)) == 3
    snap = ledger_exact(conn, s)
    assert snap.used == 0
    phase = conn.execute("SELECT phase FROM agent_sessions WHERE id = %s", [sid]).fetchone()["phase"]
    assert phase == "designing"  # left for the next tick to handle


def test_retry_after_beyond_the_cap_is_an_outage_at_once(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(fault(429, retry_after_s=120))
    with pytest.raises(AgentUnavailable, match="asks to wait 120 s"):
        run_design(factory, s, sid)
    assert len(calls(conn, sid)) == 1


def test_server_error_without_retry_after_backs_off(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(fault(500))
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(factory, s, sid).saved
    assert [r["success"] for r in calls(conn, sid)][:2] == [False, True]


def test_timeout_is_charged_at_worst_case_then_retried(claude, fake_anthropic, conn):
    s, factory, sid = claude(api_call_timeout_s=1.0)
    fake_anthropic.enqueue(slow(message(text("too late")), 2.5))
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(factory, s, sid).saved
    first = calls(conn, sid)[0]
    assert not first["success"] and first["error_message"].startswith("timeout")
    assert first["cost_usd"] == Decimal(first["tool_args"]["reserved_usd"]) > 0
    ledger_exact(conn, s)


def test_malformed_body_is_charged_and_retried(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(malformed())
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(factory, s, sid).saved
    first = calls(conn, sid)[0]
    assert "malformed response" in first["error_message"] and first["cost_usd"] > 0
    ledger_exact(conn, s)


def test_connection_refused_is_an_outage_and_not_charged(claude, conn):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s, factory, sid = claude(anthropic_base_url=f"http://127.0.0.1:{port}", api_max_attempts=2)
    with pytest.raises(AgentUnavailable, match="connection error"):
        run_design(factory, s, sid)
    assert [r["cost_usd"] for r in calls(conn, sid)] == [0, 0]
    ledger_exact(conn, s)


def test_bad_request_fails_the_design(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(fault(400, message="messages: bad block"))
    out = run_design(factory, s, sid)
    assert not out.saved and "the API rejected the request: HTTP 400" in out.failure_reason


def test_rejected_key_is_misconfigured(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(fault(401, message="invalid x-api-key"))
    with pytest.raises(AgentMisconfigured, match="API key rejected"):
        run_design(factory, s, sid)


def test_refusal_ends_the_design(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(refusal())
    out = run_design(factory, s, sid)
    assert not out.saved and "refused" in out.failure_reason
    assert calls(conn, sid)[0]["stop_reason"] == "refusal"


def test_end_turn_without_saving_is_nudged_once_then_fails(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(message(text("I think RSI is nice.")), message(text("Still thinking.")))
    out = run_design(factory, s, sid)
    assert not out.saved and "without calling save_strategy" in out.failure_reason
    nudge = fake_anthropic.message_requests[1].body["messages"][-1]
    assert nudge["role"] == "user" and "save_strategy" in nudge["content"]


def test_end_turn_nudge_then_save_succeeds(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(
        message(text("Here is my idea.")), message(tool_use("save_strategy", {"config": good_config()}))
    )
    assert run_design(factory, s, sid).saved


def test_max_tokens_is_discarded_and_retried_then_fails_twice(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(
        message(text("long..."), stop_reason="max_tokens"),
        message(tool_use("save_strategy", {"config": good_config()})),
    )
    assert run_design(factory, s, sid).saved
    second = fake_anthropic.message_requests[1].body["messages"]
    assert len(second) == 1 and "max_tokens" in second[0]["content"][-1]["text"]
    finish(conn, sid)

    s, factory, sid = claude()
    fake_anthropic.enqueue(*[message(text("long..."), stop_reason="max_tokens")] * 2)
    out = run_design(factory, s, sid)
    assert not out.saved and "max_tokens" in out.failure_reason


def test_pause_turn_continues(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(
        message(text("working"), stop_reason="pause_turn"),
        message(tool_use("save_strategy", {"config": good_config()})),
    )
    assert run_design(factory, s, sid).saved
    second = fake_anthropic.message_requests[1].body["messages"]
    assert second[-1]["role"] == "assistant"


def test_three_identical_failing_calls_end_it(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    call = tool_use("validate_strategy", {"config": bad_config()})
    fake_anthropic.enqueue(*[message(dict(call, id=f"toolu_{i}")) for i in range(3)])
    out = run_design(factory, s, sid)
    assert not out.saved and "same failing validate_strategy call 3 times" in out.failure_reason
    results = fake_anthropic.message_requests[1].body["messages"][-1]["content"]
    assert results[0]["type"] == "tool_result" and results[0]["is_error"] is True


def test_turn_limit(claude, fake_anthropic, conn):
    s, factory, sid = claude(max_turns=2)
    fake_anthropic.enqueue(
        *[message(tool_use("validate_strategy", {"config": good_config(f"n{i}")})) for i in range(3)]
    )
    out = run_design(factory, s, sid)
    assert not out.saved and "turn limit (2)" in out.failure_reason
    assert len(fake_anthropic.message_requests) == 2


def test_wall_time_limit(claude, fake_anthropic, conn):
    s, factory, sid = claude(invocation_timeout_s=7.0, api_call_timeout_s=6.0)
    fake_anthropic.enqueue(slow(message(tool_use("validate_strategy", {"config": good_config()})), 2.5))
    out = run_design(factory, s, sid)
    assert not out.saved and "wall time limit" in out.failure_reason


def test_unknown_tool_and_bad_input_go_back_as_errors(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(
        message(tool_use("rm_rf", {"path": "/"}), tool_use("save_strategy", {"cfg": 1})),
        message(tool_use("save_strategy", {"config": good_config()})),
    )
    assert run_design(factory, s, sid).saved
    results = fake_anthropic.message_requests[1].body["messages"][-1]["content"]
    assert [r["is_error"] for r in results] == [True, True]
    assert "unknown tool" in json.loads(results[0]["content"])["error"]


def test_a_config_tried_before_is_refused_naming_the_cycle(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    script_design(fake_anthropic, bad_config(), good_config())
    assert run_design(factory, s, sid).saved
    finish(conn, sid, "failed_backtest_gate")
    s, factory, sid2 = claude()
    renamed = good_config("same-thing-new-name")
    fake_anthropic.enqueue(
        message(tool_use("save_strategy", {"config": renamed})),
        message(tool_use("save_strategy", {"config": renamed | {"trading": {"confidence": 0.6}}})),
    )
    assert run_design(factory, s, sid2).saved
    [refused, saved] = [r for r in actions(conn, sid2) if r["tool_name"] == "save_strategy"]
    assert not refused["success"] and f"already tried in cycle {sid}" in refused["error_message"]
    assert "failed_backtest_gate" in refused["error_message"] and saved["success"]


def test_a_session_not_designing_is_not_touched(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    with conn.transaction():
        conn.execute("UPDATE agent_sessions SET phase = 'training' WHERE id = %s", [sid])
    out = run_design(factory, s, sid)
    assert not out.saved and fake_anthropic.requests == []
