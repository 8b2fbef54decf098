"""The research protocol through real ticks: what `success` means, and what the agent may never see.

A strategy is researched walk-forward; an assessment that passes sends it to its one test on the
sealed final holdout; only a confirmation there is `success`. The holdout's figures never reach a
request the designer or the assessor receives, and the research universe limits both designers.
"""

from __future__ import annotations

import json

from agent_helpers import bad_config, good_config
from fake_anthropic import fake_anthropic, message, script_assessment, script_design, tool_use
from tickutil import OPEN_GATES, check_invariants, claude_env, completed, phase_is, session, tick_until

# A confirmation no real p-value reaches: the final holdout must refuse the strategy.
UNCONFIRMABLE = dict(OPEN_GATES, AGENTCTL_GATES__CONFIRM_ALPHA="1e-300")


def _bodies(fake) -> list[str]:
    return [r.raw.decode() for r in fake.message_requests]


def _new_cycle_ids(conn) -> list[int]:
    conn.commit()
    return [r["id"] for r in conn.execute("SELECT id FROM agent_sessions ORDER BY id")]


def test_a_failed_confirmation_is_failed_assessment_and_its_figures_stay_sealed(
    conn, fake_anthropic, claude_env, monkeypatch
):
    for k, v in UNCONFIRMABLE.items():
        monkeypatch.setenv(k, v)
    script_design(fake_anthropic, bad_config(), good_config("sealed-1"))
    script_assessment(fake_anthropic, passed=True, verdict="promising")
    tick_until(conn, completed)
    first = session(conn)
    assert first["outcome"] == "failed_assessment"
    assert first["failure_reason"].startswith("not confirmed on the sealed final holdout: ")
    holdout = first["final_holdout_results"]
    assert holdout["gate"]["passed"] is False and first["holdout_operation_id"]
    metrics = conn.execute("SELECT gate_failed FROM agent_metrics WHERE session_id = %s", (first["id"],)).fetchone()
    assert metrics["gate_failed"] == "holdout"

    # A sentinel in the sealed results: if anything ever reads them into a prompt, it shows.
    conn.execute(
        "UPDATE agent_sessions SET final_holdout_results = final_holdout_results || %s::jsonb WHERE id = %s",
        (json.dumps({"sentinel": "SEALED-HOLDOUT-7f3a"}), first["id"]),
    )
    conn.commit()
    # The next design reads the research memory, which holds the first cycle.
    script_design(fake_anthropic, bad_config(), good_config("sealed-2"))
    tick_until(conn, lambda c: session(c)["id"] != first["id"] and session(c)["phase"] != "designing")
    bodies = _bodies(fake_anthropic)
    design_2 = bodies[-3:]
    assert any("sealed-1" in b for b in design_2), "the first cycle is in the research memory"
    reasons = first["failure_reason"].removeprefix("not confirmed on the sealed final holdout: ")
    for body in bodies:
        assert "SEALED-HOLDOUT-7f3a" not in body
        assert reasons not in body
        assert "final_holdout_results" not in body
    assert any("not confirmed on the sealed final holdout (figures not shown)" in b for b in design_2)
    check_invariants(conn)


def test_an_assessment_that_did_not_pass_ends_failed_assessment_untested(conn, fake_anthropic, claude_env):
    script_design(fake_anthropic, bad_config(), good_config("not-passed"))
    script_assessment(fake_anthropic, passed=False, verdict="neutral")
    tick_until(conn, completed)
    s = session(conn)
    assert s["outcome"] == "failed_assessment"
    assert s["failure_reason"].startswith("the assessment did not pass (verdict neutral)")
    # The holdout was never touched: no operation, no figures.
    assert s["holdout_operation_id"] is None and s["final_holdout_results"] is None
    kinds = conn.execute("SELECT kind FROM lab_operations WHERE session_id = %s ORDER BY created_at", (s["id"],))
    assert [k["kind"] for k in kinds] == ["training", "backtest"]
    check_invariants(conn)


def test_the_assessor_hears_the_hypothesis_capped_and_labelled(conn, fake_anthropic, claude_env):
    config = good_config("advocate")
    config["hypothesis"] = "Trust me. " * 190  # 1,900 characters of advocacy
    script_design(fake_anthropic, bad_config(), config)
    script_assessment(fake_anthropic, passed=False, verdict="poor")
    tick_until(conn, completed)
    assessment_body = json.loads(_bodies(fake_anthropic)[-1])
    user = json.dumps(assessment_body["messages"])
    assert "designer_claim_unverified" in user
    assert user.count("Trust me.") <= 31  # 300 characters, not 1,900
    assert "gates" in json.dumps(assessment_body["system"]).lower()


def test_the_research_universe_limits_both_designers(conn, settings, fake_anthropic, claude_env, monkeypatch):
    monkeypatch.setenv("AGENTCTL_DATASETS", "SP500/1d")
    # Claude proposes AAPL/1h: refused, and the prompt listed SP500/1d only.
    fake_anthropic.enqueue(
        message(tool_use("validate_strategy", {"config": good_config("outside")})),
        message(tool_use("save_strategy", {"config": good_config("outside")})),
    )
    tick_until(conn, completed)
    s = session(conn)
    assert s["outcome"] == "failed_design"
    refusals = conn.execute(
        "SELECT error_message FROM agent_actions WHERE session_id = %s AND tool_name = 'save_strategy'", (s["id"],)
    ).fetchall()
    assert refusals and "outside the research universe: use one of SP500/1d" in refusals[0]["error_message"]
    system = json.dumps(json.loads(_bodies(fake_anthropic)[0])["system"])
    assert "- SP500/1d:" in system and "- AAPL/1h:" not in system and "- NASDAQ/1d:" not in system

    # The free baseline draws from the universe only: three designs, each cycle cancelled once its
    # strategy is saved (training and backtesting it would tell nothing more about the dataset it chose).
    from agentctl.tick import cancel_active

    monkeypatch.setenv("AGENTCTL_AGENT", "baseline")
    for _ in range(3):
        before = session(conn)["id"]
        tick_until(conn, lambda c, b=before: session(c)["id"] != b and session(c)["phase"] != "designing", **OPEN_GATES)
        cfg = session(conn)["strategy_config"]
        assert (cfg["dataset"]["symbol"], cfg["dataset"]["timeframe"]) == ("SP500", "1d")
        assert cancel_active(settings).outcome == "cancelled"
    check_invariants(conn)


def test_a_holdout_moved_into_researched_bars_is_not_tested(conn):
    """A larger AGENTCTL_HOLDOUT_SHARE after the research moves the holdout into bars the strategy saw: no test."""
    tick_until(conn, phase_is("backtesting"), **OPEN_GATES)  # researched with the default 20% holdout
    tick_until(conn, completed, **OPEN_GATES, AGENTCTL_HOLDOUT_SHARE="0.3")
    s = session(conn)
    assert s["outcome"] == "failed_assessment" and s["assessment"]["passed"], s["failure_reason"]
    assert s["failure_reason"].startswith("not tested: the sealed final holdout of "), s["failure_reason"]
    assert f"inside bars cycle {s['id']} researched" in s["failure_reason"]
    assert "AGENTCTL_HOLDOUT_SHARE" in s["failure_reason"]
    assert s["holdout_operation_id"] is None and s["final_holdout_results"] is None
    assert conn.execute("SELECT count(*) AS n FROM lab_operations WHERE kind = 'holdout'").fetchone()["n"] == 0
    check_invariants(conn)


def test_a_dataset_gone_before_its_holdout_test_is_left_to_the_holdout_operation(conn, settings):
    """The moved-holdout check cannot read a removed dataset: it stands aside, and the operation fails as before."""
    from agentctl.lab.strategy import StrategyConfig
    from agentctl.tick.assess import holdout_moved

    gone = StrategyConfig.model_validate({**good_config("gone"), "dataset": {"symbol": "GONE", "timeframe": "1d"}})
    assert holdout_moved(conn, settings, gone) is None
    here = StrategyConfig.model_validate({**good_config("here"), "dataset": {"symbol": "SP500", "timeframe": "1d"}})
    assert holdout_moved(conn, settings, here) is None  # nothing researched yet
