"""What stops new invocations until a person looks: an overrun, a circuit breaker, `agentctl pause`.

Real ticks, the real SDK against the fake Messages API, the real database.
"""

from __future__ import annotations

from decimal import Decimal

from agent_helpers import good_config
from fake_anthropic import fake_anthropic, message, patched, text, tool_use
from tickutil import check_invariants, claude_env, tick, triggers

from agentctl import pricing
from agentctl.settings import Settings
from agentctl.store.budget import Budget


def never_saves(fake, cycles: int = 1) -> None:
    """A designer that ends its turn without saving, twice (the loop nudges once): failed_design."""
    for _ in range(cycles):
        fake.enqueue(message(text("Here is my idea.")), message(text("Still thinking.")))


def last_trigger(conn) -> dict:
    return triggers(conn)[-1]


def holds(conn) -> dict[str, str]:
    from agentctl.reports.status import status

    conn.commit()
    return {w.code: w.message for w in status(conn, Settings()).warnings}


def test_an_overrun_is_recorded_in_full_and_pauses_invocations_until_resume(conn, fake_anthropic, claude_env, capsys):
    Budget(Settings()).set_limit(conn, Decimal("1.00"))
    # Served by a model five times dearer than the one asked for: charged at its price, which
    # is more than the call reserved (a count beyond the request's bounds no longer can be).
    s = Settings()
    used = {"input_tokens": 1000, "output_tokens": s.max_tokens}
    reply = message(tool_use("save_strategy", {"config": good_config()}))
    fake_anthropic.enqueue(patched(reply, usage=used, model="claude-fable-5-1"))
    result = tick()
    assert result.outcome == "failed_design" and "budget overrun" in result.message
    conn.commit()
    # The budget's doing, typed: the circuit breaker does not count it against the agent.
    blame = conn.execute("SELECT failure_blame FROM agent_sessions WHERE id = %s", [result.cycle_id]).fetchone()
    assert blame["failure_blame"] == "budget"
    [row] = conn.execute("SELECT * FROM agent_actions WHERE tool_name = 'messages.create'").fetchall()
    dearer = pricing.price_for("claude-fable-5-1", pricing.PRICE_TABLE_CHECKED)
    expected = pricing.to_ledger(
        pricing.cost(dearer, pricing.TokenUsage(input_tokens=1000, output_tokens=s.max_tokens))
    )
    assert row["cost_usd"] == expected > Decimal(row["tool_args"]["reserved_usd"])
    assert {"overrun", "model_substituted"} <= set(row["flags"])
    day = conn.execute("SELECT * FROM agent_budget WHERE date = CURRENT_DATE").fetchone()
    assert day["overrun_at"] is not None and day["budget_used_usd"] == expected
    assert day["overrun_usd"] == row["cost_usd"] - Decimal(row["tool_args"]["reserved_usd"])
    check_invariants(conn)

    skipped = tick()
    assert skipped.skip_reason == "budget_overrun" and not skipped.agent_invoked
    assert "agentctl resume" in last_trigger(conn)["context"]["admission"]
    assert "budget_overrun" in holds(conn)

    from agentctl.reports.doctor import doctor
    from agentctl.reports.prometheus import metrics, prometheus_text

    check = doctor(Settings()).check("admission")
    assert check is not None and not check.ok and "resume" in check.fix
    assert 'agentctl_admission_hold{reason="budget_overrun"} 1' in prometheus_text(metrics(conn, Settings()))

    from agentctl.cli.admission import resume

    resume()
    assert "the budget overrun of" in capsys.readouterr().out
    assert "budget_overrun" not in holds(conn)
    # The day's spend is still above its limit: the budget, not the overrun, holds the next cycle.
    assert tick().skip_reason == "budget_exceeded"
    assert fake_anthropic.pending == 0


def test_the_circuit_breaker_opens_after_three_failed_designs_and_backs_off(conn, fake_anthropic, claude_env):
    never_saves(fake_anthropic, 3)
    for _ in range(3):
        assert tick().outcome == "failed_design"
    opened = tick()
    assert opened.skip_reason == "circuit_open" and not opened.agent_invoked
    context = last_trigger(conn)["context"]
    assert context["consecutive_failures"] == 3 and "15 min" in context["admission"]
    assert "circuit_open" in holds(conn)

    # The back-off runs out: one cycle may try; it fails too, and the wait grows to an hour.
    conn.execute("UPDATE agent_sessions SET completed_at = completed_at - interval '16 minutes'")
    conn.commit()
    never_saves(fake_anthropic)
    assert tick().outcome == "failed_design"
    assert tick().skip_reason == "circuit_open"
    context = last_trigger(conn)["context"]
    assert context["consecutive_failures"] == 4 and "wait 1 h" in context["admission"]

    from agentctl.cli.admission import resume

    resume()
    never_saves(fake_anthropic)
    assert tick().agent_invoked  # closed: a new cycle starts at once
    assert fake_anthropic.pending == 0
    check_invariants(conn)


def test_gate_failures_do_not_open_the_circuit_breaker(conn, fake_anthropic, claude_env):
    for _ in range(4):
        conn.execute(
            "INSERT INTO agent_sessions (phase, outcome, completed_at) VALUES ('idle', 'failed_training_gate', NOW())"
        )
    conn.commit()
    never_saves(fake_anthropic)
    assert tick().agent_invoked


def test_pause_and_resume_are_kept_in_the_database(conn, fake_anthropic, claude_env, capsys):
    from agentctl.cli.admission import pause, resume

    pause(note="checking the bill")
    assert "no new cycle starts" in capsys.readouterr().out
    result = tick()
    assert result.skip_reason == "paused" and not result.agent_invoked
    assert "checking the bill" in last_trigger(conn)["context"]["admission"]
    assert "paused" in holds(conn)
    resume()
    assert "the pause" in capsys.readouterr().out
    never_saves(fake_anthropic)
    assert tick().agent_invoked
