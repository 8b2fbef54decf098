"""Hostile tool input: arbitrary JSON to the agent's tool handlers (property-based, hypothesis).

Whatever the model sends, `call_tool` returns a structured outcome the model can
act on, logs exactly one action row, writes nothing but `<home>/strategies/*.json`
and starts no process.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
from agent_helpers import claude_settings, conn_factory, good_config, new_cycle
from fake_anthropic import fake_anthropic, message, text, tool_use
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from agentctl.agent.tools import ToolContext, assessment_tools, call_tool, design_tools

pytestmark = pytest.mark.heavy

FUZZ = hsettings(
    max_examples=int(os.environ.get("AGENTCTL_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    derandomize=True,  # the same examples on every run: a failure reproduces with the node id
)

TEN_MB = "x" * 10_000_000


def _deep(levels: int, leaf=None):
    node = leaf
    for i in range(levels):
        node = [node] if i % 2 else {"k": node}
    return node


HOSTILE_STRINGS = [
    "../../../../etc/passwd",
    "../escape",
    "..",
    ".",
    "/etc/passwd",
    "/tmp/agentctl-fuzz-owned",
    "..\\..\\win",
    "a\x00b",
    "\x00",
    "rsі-reversion",
    "ＡＡＰＬ",
    "ᴀᴀᴘʟ",
    "a\u202eb",
    "\ud800",
    "x\udfffy",
    "CON",
    "nul",
    "strategies/../../x",
    "~/.ssh/id_rsa",
    "$(touch /tmp/agentctl-fuzz-owned)",
    "`id`",
    "; rm -rf /",
    "%00",
    "a" * 65,
    "a" * 5000,
    "",
    " ",
    "RSI",
    "1h",
    "AAPL",
]
HOSTILE_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e309, -1e309, 1e308, 5e-324, -0.0, 2**63, -(2**64), 0]

leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(HOSTILE_NUMBERS)
    | st.text(max_size=20)
    | st.sampled_from(HOSTILE_STRINGS)
)
keys = st.text(max_size=10) | st.sampled_from([*HOSTILE_STRINGS[:20], "name", "config", "features", "params"])
json_values = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=25
)

# A good config with one field replaced by something hostile: gets past the shape checks, deep into validation.
CONFIG_PATHS = [
    ("name",),
    ("hypothesis",),
    ("dataset",),
    ("dataset", "symbol"),
    ("dataset", "timeframe"),
    ("features",),
    ("features", 0),
    ("features", 0, "function"),
    ("features", 0, "params"),
    ("features", 0, "params", "timeperiod"),
    ("features", 0, "outputs"),
    ("label",),
    ("label", "horizon"),
    ("model",),
    ("model", "family"),
    ("model", "C"),
    ("trading",),
    ("trading", "fee_bps"),
    ("trading", "confidence"),
    ("extra_field",),
]


def _mutated(path: tuple, value) -> dict:
    cfg = good_config("fuzz-target")
    cfg["trading"] = {"fee_bps": 1.0, "confidence": 0.55}
    cfg["label"] = {"horizon": 1}
    cfg["model"] = {"family": "logistic_regression", "C": 1.0}
    node = cfg
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return cfg


mutated_configs = st.builds(_mutated, st.sampled_from(CONFIG_PATHS), json_values)
tool_inputs = (
    st.fixed_dictionaries({"config": json_values | mutated_configs})
    | st.fixed_dictionaries({"config": mutated_configs}, optional={"extra": json_values})
    | json_values  # not even {"config": ...}, or not an object at all
)


# ---- harness ---------------------------------------------------------------------------------------


class Guard:
    """Fails the test if a tool handler starts a process; snapshots the files a call left behind."""

    def __init__(self, monkeypatch, root: Path, home: Path):
        self.spawned: list[str] = []
        self.root, self.home = root, home

        def refuse(name):
            def _refuse(*args, **kwargs):
                self.spawned.append(name)
                raise AssertionError(f"tool handler tried to run something: {name}{args[:2]}")

            return _refuse

        monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
        for name in (
            "system",
            "popen",
            "fork",
            "forkpty",
            "execv",
            "execve",
            "execvp",
            "execvpe",
            "spawnv",
            "spawnve",
            "posix_spawn",
            "posix_spawnp",
        ):
            if hasattr(os, name):
                monkeypatch.setattr(os, name, refuse(f"os.{name}"))
        self.before = self.files()

    def files(self) -> set[Path]:
        return {p for p in self.root.rglob("*") if p.is_file()}

    def check(self) -> None:
        assert not self.spawned
        strategies = (self.home / "strategies").resolve()
        for new in self.files() - self.before:
            assert new.resolve().parent == strategies and new.suffix == ".json", f"wrote outside strategies/: {new}"
        assert not Path("/tmp/agentctl-fuzz-owned").exists()


def _count_actions(conn) -> int:
    with conn.transaction():
        return conn.execute("SELECT count(*) AS n FROM agent_actions").fetchone()["n"]


def _assert_structured(outcome) -> None:
    """An outcome the model can act on: a JSON object; on failure a bounded, non-empty reason."""
    assert isinstance(outcome.result, dict)
    json.dumps(outcome.result, default=str)  # what goes back to the model as the tool_result
    if outcome.ok:
        return
    assert isinstance(outcome.error, str) and outcome.error.strip(), outcome
    assert len(outcome.error) <= 10_000, len(outcome.error)
    errors = outcome.result.get("errors") or [outcome.result.get("error")]
    assert errors and all(isinstance(e, str) and e for e in errors), outcome.result


def _check_call(ctx, tools, name, args, guard, conn) -> None:
    n = _count_actions(conn)
    outcome = call_tool(ctx, tools, name, args, tool_use_id="toolu_fuzz")
    _assert_structured(outcome)
    assert _count_actions(conn) == n + 1  # logged once, whatever it was
    if outcome.ok and name == "save_strategy":
        saved = Path(outcome.result["path"]).resolve()
        assert saved.parent == (ctx.settings.home / "strategies").resolve()
    guard.check()


@pytest.fixture
def design_ctx(settings, conn, tmp_path, monkeypatch):
    sid = new_cycle(conn)
    ctx = ToolContext(conn=conn, settings=settings, cycle_id=sid, agent="claude", invocation="design")
    return ctx, {t.name: t for t in design_tools()}, Guard(monkeypatch, tmp_path, settings.home)


# ---- the properties -----------------------------------------------------------------------------


@FUZZ
@given(args=tool_inputs)
@example(args={"config": good_config("../../escape")})
@example(args={"config": good_config("/etc/passwd")})
@example(args={"config": good_config("a\x00b")})
@example(args={"config": good_config("rsі-reversion")})  # Cyrillic і
@example(args={"config": _mutated(("hypothesis",), TEN_MB)})
@example(args={"config": TEN_MB})
@example(args={"config": _mutated(("trading", "fee_bps"), 1e309)})
@example(args={"config": _mutated(("trading", "fee_bps"), float("nan"))})
@example(args={"config": good_config(), "x\x00": "\ud800"})
def test_validate_strategy_never_crashes(design_ctx, conn, args):
    ctx, tools, guard = design_ctx
    _check_call(ctx, tools, "validate_strategy", args, guard, conn)


@FUZZ
@given(args=tool_inputs)
@example(args={"config": good_config("../../escape")})
@example(args={"config": good_config("..")})
@example(args={"config": good_config("/tmp/agentctl-fuzz-owned")})
@example(args={"config": good_config("a\x00b")})
@example(args={"config": good_config("ｒｓｉ")})  # full-width
@example(args={"config": _mutated(("name",), TEN_MB)})
@example(args={"config": _mutated(("model", "C"), 1e309)})
@example(args={"config": _mutated(("label", "horizon"), float("nan"))})
@example(args={"config": good_config("fuzz-valid")})  # a valid one is saved, inside strategies/
def test_save_strategy_never_crashes_or_escapes(design_ctx, conn, args):
    ctx, tools, guard = design_ctx
    _check_call(ctx, tools, "save_strategy", args, guard, conn)


assessment_fields = st.fixed_dictionaries(
    {},
    optional={
        "passed": json_values,
        "verdict": st.sampled_from(["promising", "neutral", "poor"]) | json_values,
        "explanation": st.text(max_size=50) | st.sampled_from(HOSTILE_STRINGS) | json_values,
        "strengths": json_values,
        "weaknesses": json_values,
        "suggestions": json_values,
        "metrics": json_values,
        "x\x00": json_values,
    },
)


@FUZZ
@given(args=assessment_fields | json_values)
@example(args={"passed": True, "verdict": "poor", "explanation": "a\x00b", "suggestions": ["\ud800"]})
@example(args={"passed": float("nan"), "verdict": "poor", "explanation": "ok"})
@example(args={"passed": True, "verdict": "poor", "explanation": TEN_MB})
@example(args={"passed": True, "verdict": "poor", "explanation": "ok", "metrics": {"sharpe": 1e309}})
@example(args={"passed": True, "verdict": "neutral", "explanation": "fine", "suggestions": ["../../x"]})
def test_save_assessment_never_crashes(settings, conn, tmp_path, monkeypatch, args):
    sid = _assessing_cycle(conn)
    ctx = ToolContext(
        conn=conn,
        settings=settings,
        cycle_id=sid,
        agent="claude",
        invocation="assessment",
        backtest={"sharpe": 1.5, "total_trades": 12, "equity_curve": [1.0, 1.1]},
    )
    guard = Guard(monkeypatch, tmp_path, settings.home)
    tools = {t.name: t for t in assessment_tools()}
    n = _count_actions(conn)
    outcome = call_tool(ctx, tools, "save_assessment", args)
    _assert_structured(outcome)
    assert _count_actions(conn) == n + 1
    if outcome.ok:
        # metrics come from the backtest, never from the model
        assert outcome.value["metrics"] == {"sharpe": 1.5, "total_trades": 12}
    guard.check()
    monkeypatch.undo()


def _assessing_cycle(conn) -> int:
    with conn.transaction():
        row = conn.execute("SELECT id FROM agent_sessions WHERE phase = 'assessing'").fetchone()
    return row["id"] if row else new_cycle(conn, phase="assessing")


@pytest.mark.parametrize("name", ["validate_strategy", "save_strategy", "save_assessment"])
def test_deeply_nested_input(design_ctx, conn, name):
    # Outside hypothesis, whose own example printer recurses on inputs this deep.
    ctx, tools, guard = design_ctx
    tools = {**tools, **{t.name: t for t in assessment_tools()}}
    for args in (
        {"config": _deep(900)},
        {"config": _mutated(("features",), _deep(900))},
        {"passed": True, "verdict": "poor", "explanation": "ok", "strengths": _deep(900)},
        _deep(900),
    ):
        _check_call(ctx, tools, name, args, guard, conn)


def test_unknown_tool_and_non_object_input_are_tool_errors(design_ctx, conn):
    ctx, tools, guard = design_ctx
    for name, args in [
        ("rm_rf", {}),
        ("../save_strategy", {"config": good_config()}),
        ("a\x00b" * 50, {}),
        ("save_strategy", [good_config()]),
        ("save_strategy", "config"),
        ("save_strategy", None),
        ("validate_strategy", math.inf),
    ]:
        _check_call(ctx, tools, name, args, guard, conn)


# ---- through the real SDK: hostile JSON on the wire ------------------------------------------------


def test_hostile_tool_input_through_the_sdk_is_logged_and_the_design_recovers(settings, conn, fake_anthropic):
    """NUL, lone surrogates, 1e309 and NaN as the API would send them; then a good save."""
    from agentctl.agent import run_design

    s = claude_settings(settings, fake_anthropic, max_turns=10)
    sid = new_cycle(conn)
    hostile = [
        {"config": good_config("a\x00b")},
        {"config": _mutated(("trading", "fee_bps"), float("inf"))},  # json.dumps writes Infinity
        {"config": _mutated(("model", "C"), float("nan"))},  # ... and NaN
        {"config": good_config("x\ud800y")},  # a lone surrogate escape
        {"config\x00": 1},
    ]
    fake_anthropic.enqueue(
        *[message(text(f"try {i} \x00"), tool_use("validate_strategy", h)) for i, h in enumerate(hostile)]
    )
    fake_anthropic.enqueue(message(tool_use("save_strategy", {"config": good_config("after-the-storm")})))
    out = run_design(conn_factory(s), s, sid)
    assert out.saved and out.strategy_name == "after-the-storm", out.failure_reason
    with conn.transaction():
        rows = conn.execute(
            "SELECT tool_name, success, error_message FROM agent_actions WHERE session_id = %s ORDER BY id", [sid]
        ).fetchall()
    tools = [(r["tool_name"], r["success"]) for r in rows if r["tool_name"] != "messages.create"]
    assert tools == [("validate_strategy", False)] * 5 + [("save_strategy", True)]
    assert sum(r["tool_name"] == "messages.create" for r in rows) == len(fake_anthropic.message_requests) == 6


def test_a_reply_nested_too_deep_to_parse_is_a_malformed_reply(settings, conn, fake_anthropic):
    """JSON nested past Python's recursion limit: RecursionError while parsing must count as a malformed reply."""
    from fake_anthropic import Reply

    from agentctl.agent import run_design

    s = claude_settings(settings, fake_anthropic, api_max_attempts=3, api_retry_cap_s=5.0)
    sid = new_cycle(conn)
    deep = b"[" * 100_000 + b"]" * 100_000
    body = (
        b'{"id":"msg_deep","type":"message","role":"assistant","model":"claude-sonnet-5-5","stop_reason":"tool_use",'
        b'"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":10},"content":[{"type":"tool_use",'
        b'"id":"toolu_deep","name":"validate_strategy","input":{"config":' + deep + b"}}]}"
    )
    fake_anthropic.enqueue(
        Reply(status=200, raw_body=body, stop_reason=None),
        message(tool_use("save_strategy", {"config": good_config("after-the-deep-one")})),
    )
    out = run_design(conn_factory(s), s, sid)
    assert out.saved, out.failure_reason
    with conn.transaction():
        rows = conn.execute(
            "SELECT success, error_message FROM agent_actions WHERE session_id = %s AND "
            "tool_name = 'messages.create' ORDER BY id",
            [sid],
        ).fetchall()
    assert [r["success"] for r in rows] == [False, True]
    assert "malformed response" in rows[0]["error_message"]
