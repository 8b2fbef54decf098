"""Disk and file faults: the strategies directory cannot be written.

A model artifact deleted before the backtest is tests/test_tick_cycle.py::
test_a_deleted_model_artifact_ends_failed_backtest (not repeated here).
"""

from __future__ import annotations

import pytest
from agent_helpers import SENTINEL_KEY, good_config
from fake_anthropic import fake_anthropic, message, text, tool_use
from tickutil import check_invariants, session, tick, trigger_rows


def _block_strategies_dir(settings, how: str) -> None:
    """As root, chmod stops nothing: put something that is not a writable directory where strategies/ goes."""
    target = settings.home / "strategies"
    if how == "file":
        target.write_text("not a directory\n")
    elif how == "dangling-symlink-loop":
        target.symlink_to(target)  # ELOOP on every access
    elif how == "file-parent":
        (settings.home / "blocker").write_text("x")
        # strategies/ -> a path under a regular file: ENOTDIR
        target.symlink_to(settings.home / "blocker" / "strategies")


@pytest.mark.parametrize("how", ["file", "dangling-symlink-loop", "file-parent"])
def test_unwritable_strategies_dir_ends_failed_design_with_a_clear_reason(settings, conn, how):
    _block_strategies_dir(settings, how)
    r = tick()
    assert r.exit_code == 0 and r.outcome == "failed_design", r.line()
    s = session(conn)
    assert s["outcome"] == "failed_design" and s["strategy_name"] is None
    assert "cannot write the strategy file" in s["failure_reason"], s["failure_reason"]
    assert str(settings.home) in s["failure_reason"] and "strategies" in s["failure_reason"]
    conn.commit()
    row = conn.execute("SELECT * FROM agent_actions WHERE tool_name = 'save_strategy'").fetchone()
    assert row["success"] is False and "operator problem" in row["error_message"]
    assert trigger_rows(conn, s["id"]) == [("start_new_cycle", True, None)]
    check_invariants(conn)
    # Fixed by a person: the next tick designs normally.
    p = settings.home / "strategies"
    p.unlink()
    r = tick()
    assert r.exit_code == 0 and r.phase == "training", r.line()
    assert list(p.glob("*.json"))


def test_claude_is_told_and_the_design_ends_failed_design(settings, conn, fake_anthropic, monkeypatch):
    for k, v in {
        "AGENTCTL_AGENT": "claude",
        "ANTHROPIC_API_KEY": SENTINEL_KEY,
        "AGENTCTL_ANTHROPIC_BASE_URL": fake_anthropic.url,
        "AGENTCTL_API_RETRY_CAP_S": "1",
        "AGENTCTL_MAX_TURNS": "3",
    }.items():
        monkeypatch.setenv(k, v)
    _block_strategies_dir(settings, "file")
    fake_anthropic.enqueue(
        message(tool_use("save_strategy", {"config": good_config("blocked-1")})),
        message(tool_use("save_strategy", {"config": good_config("blocked-2")})),
        message(text("I cannot save; stopping.")),
    )
    r = tick()
    assert r.exit_code == 0 and r.outcome == "failed_design", r.line()
    # The model saw the tool error, as an is_error result naming the problem.
    second = fake_anthropic.message_requests[1].body["messages"][-1]["content"][0]
    assert second["is_error"] is True and "cannot write the strategy file" in second["content"]
    check_invariants(conn)
