"""Money survives any reply: each fault through the real SDK against the fake Messages API.

A reply that arrived was billed: it keeps one action row with its request id, charged at its
usage when that can be believed and at its reservation otherwise, and the ledger stays exact.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from agent_helpers import SENTINEL_KEY, actions, calls, claude, good_config, ledger_exact
from fake_anthropic import (
    OMIT,
    fake_anthropic,
    message,
    patched,
    script_design,
    text,
    tool_use,
    trickled,
    with_request_id,
)

from agentctl.agent import run_design
from agentctl.store.budget import Budget


def save(name: str = "money-1"):
    return message(tool_use("save_strategy", {"config": good_config(name)}))


def reserved(row) -> Decimal:
    return Decimal(row["tool_args"]["reserved_usd"])


def test_a_reply_without_usage_keeps_its_row_charged_at_its_reservation(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(patched(save(), usage=OMIT))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert row["request_id"] == fake_anthropic.billed[0]
    assert row["charge_basis"] == "reservation" and row["flags"] == ["usage_missing"]
    assert row["cost_usd"] == reserved(row) > 0
    ledger_exact(conn, s)


def test_usage_that_is_not_a_count_is_charged_at_the_reservation(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(patched(save(), usage={"input_tokens": "12", "output_tokens": 1.5}))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert row["charge_basis"] == "reservation" and row["cost_usd"] == reserved(row)
    assert set(row["flags"]) == {"usage_not_integer:input_tokens", "usage_not_integer:output_tokens"}
    ledger_exact(conn, s)


def test_a_reply_without_content_is_recorded_then_ends_the_invocation(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(patched(save(), content=OMIT))
    out = run_design(factory, s, sid)
    assert not out.saved and "unusable" in out.failure_reason and "content_missing" in out.failure_reason
    [row] = calls(conn, sid)
    assert row["charge_basis"] == "usage" and row["cost_usd"] > 0 and "content_missing" in row["flags"]
    assert row["request_id"] == fake_anthropic.billed[0]
    ledger_exact(conn, s)


def test_over_long_stop_reason_and_request_id_are_cut_and_flagged(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    long_id = "req_" + "y" * 300
    fake_anthropic.enqueue(with_request_id(message(text("hm"), stop_reason="z" * 150), long_id))
    out = run_design(factory, s, sid)
    assert not out.saved and "stop_reason" in out.failure_reason
    [row] = calls(conn, sid)
    assert row["request_id"].startswith(long_id[:200]) and len(row["request_id"]) == 255
    assert row["stop_reason"].startswith("z" * 60) and len(row["stop_reason"]) == 100
    assert {"request_id_truncated", "stop_reason_truncated"} <= set(row["flags"])
    assert row["charge_basis"] == "usage" and row["cost_usd"] > 0
    ledger_exact(conn, s)


def test_negative_usage_is_never_believed(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(patched(save(), usage={"input_tokens": -5_000_000, "output_tokens": 50}))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert row["charge_basis"] == "reservation" and row["flags"] == ["usage_negative:input_tokens"]
    assert row["cost_usd"] == reserved(row) > 0 and row["tokens_input"] == 0
    snap = ledger_exact(conn, s)
    assert snap.used == row["cost_usd"] > 0


def test_output_above_max_tokens_is_charged_at_least_the_reservation(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    reply = save()
    reply.output_tokens = s.max_tokens + 1
    fake_anthropic.enqueue(reply)
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    # The count is cut to the bound on the row; the raw figure stays in its flags.
    assert row["flags"] == ["output_above_max_tokens", f"raw:output_tokens={s.max_tokens + 1}"]
    assert row["tokens_output"] == s.max_tokens
    assert row["charge_basis"] == "reservation" and row["cost_usd"] == reserved(row)
    ledger_exact(conn, s)


def test_an_unknown_geography_is_charged_at_the_dearest_rate_and_flagged(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    fake_anthropic.enqueue(patched(save(), usage={"input_tokens": 100, "output_tokens": 10, "inference_geo": "mars"}))
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert row["flags"] == ["unknown_inference_geo:mars"]
    assert row["charge_basis"] == "reservation" and row["cost_usd"] == reserved(row)
    ledger_exact(conn, s)


def test_us_only_inference_costs_a_tenth_more(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    usage = {"input_tokens": 10_000, "output_tokens": 1_000}
    fake_anthropic.enqueue(patched(save("geo-global"), usage=usage))
    first = run_design(factory, s, sid)
    assert first.saved, first.failure_reason
    with conn.transaction():
        conn.execute("UPDATE agent_sessions SET phase = 'idle' WHERE id = %s", [sid])
    s2, factory2, sid2 = claude()
    other = good_config("geo-us") | {"model": {"family": "mlp"}}  # the same strategy is never saved twice
    us_reply = message(tool_use("save_strategy", {"config": other}))
    fake_anthropic.enqueue(patched(us_reply, usage=usage | {"inference_geo": "us"}))
    assert run_design(factory2, s2, sid2).saved
    [plain], [us] = calls(conn, sid), calls(conn, sid2)
    # Sonnet 5.5: 10,000 x $2 + 1,000 x $10 per MTok = $0.03; in the US $0.033.
    assert (plain["cost_usd"], us["cost_usd"]) == (Decimal("0.0300"), Decimal("0.0330"))
    assert plain["charge_basis"] == us["charge_basis"] == "usage" and not plain["flags"] and not us["flags"]


def test_the_key_echoed_in_a_tool_input_reaches_no_row_and_no_file(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    leaky = good_config("echo-1") | {"hypothesis": f"The key is {SENTINEL_KEY}, reversion holds."}
    fake_anthropic.enqueue(
        message(text(f"I was given {SENTINEL_KEY}"), tool_use("validate_strategy", {"config": leaky})),
        message(tool_use("save_strategy", {"config": leaky})),
    )
    out = run_design(factory, s, sid)
    assert out.saved
    assert SENTINEL_KEY not in json.dumps(actions(conn, sid), default=str)
    with conn.transaction():
        session = conn.execute("SELECT * FROM agent_sessions WHERE id = %s", [sid]).fetchone()
    assert SENTINEL_KEY not in json.dumps(session, default=str) and "[redacted]" in json.dumps(session, default=str)
    from pathlib import Path

    assert SENTINEL_KEY not in Path(out.strategy_path).read_text()


def test_a_trickled_body_is_cut_at_the_calls_total_deadline(claude, fake_anthropic, conn):
    s, factory, sid = claude(api_call_timeout_s=2.0)
    # 16 pieces half a second apart: every read is quick, the whole body takes 8 s.
    fake_anthropic.enqueue(trickled(save("slow"), 0.5), save("after-the-cut"))
    out = run_design(factory, s, sid)
    assert out.saved and out.strategy_name == "after-the-cut"
    first, second = calls(conn, sid)
    assert not first["success"] and "deadline" in first["error_message"]
    assert first["charge_basis"] == "reservation" and first["cost_usd"] == reserved(first)
    assert second["success"] and second["attempt"] == 2
    # The second request went out while the first body was still coming, never after it finished.
    log = fake_anthropic.log
    assert ("received", "2") in log
    sent_first = [i for i, (kind, rid) in enumerate(log) if kind == "billed" and rid == first["request_id"]]
    assert not sent_first or log.index(("received", "2")) < sent_first[0]
    ledger_exact(conn, s)


def test_a_failing_row_write_keeps_a_plain_row_with_the_charge(claude, fake_anthropic, conn):
    s, factory, sid = claude()
    with conn.transaction():  # the database refuses any model-call row that summarises content
        conn.execute(
            "CREATE FUNCTION refuse_content() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.tool_result ? 'content' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON agent_actions FOR EACH ROW EXECUTE FUNCTION refuse_content()"
        )
    fake_anthropic.enqueue(save())
    assert run_design(factory, s, sid).saved
    [row] = calls(conn, sid)
    assert row["request_id"] == fake_anthropic.billed[0] and row["charge_basis"] == "usage"
    assert row["flags"] == ["record_retried:RaiseException"] and row["cost_usd"] > 0
    ledger_exact(conn, s)


def test_a_price_of_zero_needs_no_reservation_and_is_still_recorded(claude, fake_anthropic, conn):
    free = {"claude-free-1": {"input": "0", "output": "0"}}
    s, factory, sid = claude(design_model="claude-free-1", price_overrides=free)
    script_design(fake_anthropic, good_config("free-0") | {"features": []}, good_config("free-1"))
    assert run_design(factory, s, sid).saved
    rows = calls(conn, sid)
    assert len(rows) == 3 and all(r["cost_usd"] == 0 and r["charge_basis"] == "usage" for r in rows)
    with conn.transaction():
        assert conn.execute("SELECT count(*) AS n FROM agent_budget_reservations").fetchone()["n"] == 0
    ledger_exact(conn, s)
