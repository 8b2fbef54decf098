"""The agent's tools: name, description, JSON schema, implementation; each call is an action row.

The same objects serve the Claude prompt (`api_definition`), the baseline designer
(which calls them directly) and the audit log.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentctl.files import write_atomically
from agentctl.lab.universe import universe_of
from agentctl.store import cycles
from agentctl.store.actions import ActionRow, insert_action

if TYPE_CHECKING:
    import psycopg

    from agentctl.lab.strategy import ValidationReport
    from agentctl.settings import Settings


@dataclass
class ToolContext:
    conn: psycopg.Connection
    settings: Settings
    cycle_id: int
    agent: str
    invocation: str
    backtest: dict | None = None  # assessment: where `metrics` comes from


@dataclass
class ToolOutcome:
    """What one tool call returns to the loop (its own fields; like other records in shape only)."""

    result: dict
    ok: bool = True
    error: str | None = None
    ends: bool = False  # a successful save ends the invocation
    value: Any = None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict
    run: Callable[[ToolContext, dict], ToolOutcome] = field(repr=False)

    def api_definition(self) -> dict:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


def compact_schema(schema: Any) -> Any:
    """A JSON schema without pydantic's 'title' annotations: same meaning, fewer prompt bytes."""
    if isinstance(schema, dict):
        return {k: compact_schema(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(schema, list):
        return [compact_schema(v) for v in schema]
    return schema


def _config_schema() -> dict:
    from agentctl.lab.strategy import strategy_json_schema

    inner = compact_schema(strategy_json_schema())
    defs = inner.pop("$defs", {})
    return {"type": "object", "properties": {"config": inner}, "required": ["config"], "$defs": defs}


def _fail(message: str, result: dict | None = None) -> ToolOutcome:
    return ToolOutcome(result=result or {"ok": False, "error": message}, ok=False, error=message)


# ---- design tools -------------------------------------------------------------


def _check(ctx: ToolContext, args: dict[str, Any]) -> tuple[ValidationReport, str | None]:
    """Validate and check the content hash: (report, error or None)."""
    from agentctl.lab.strategy import strategy_hash, validate_strategy

    report = validate_strategy(args.get("config"), ctx.settings.home)
    if not report.ok or report.config is None:
        return report, "config invalid: " + "; ".join(report.errors)
    universe = universe_of(ctx.settings)
    dataset = (report.config.dataset.symbol, report.config.dataset.timeframe)
    if universe is not None and dataset not in universe:
        allowed = ", ".join(f"{s}/{t}" for s, t in universe)
        return report, f"dataset {'/'.join(dataset)} is outside the research universe: use one of {allowed}"
    tried = cycles.hash_tried_by(ctx.conn, strategy_hash(report.config), ctx.cycle_id)
    if tried:
        return report, (
            f"an identical strategy was already tried in cycle {tried['id']} "
            f"({tried['strategy_name']}, outcome {tried['outcome'] or 'in progress'}); "
            "change the features, label, model or trading rules"
        )
    return report, None


def validate_strategy_tool(ctx: ToolContext, args: dict) -> ToolOutcome:
    report, error = _check(ctx, args)
    errors = list(report.errors) or ([error] if error else [])
    result = {"ok": error is None, "errors": errors, "warnings": report.warnings}
    return ToolOutcome(result=result) if error is None else _fail(error, result)


def save_strategy_tool(ctx: ToolContext, args: dict) -> ToolOutcome:
    import psycopg

    from agentctl.lab.strategy import strategy_hash

    report, error = _check(ctx, args)
    if error:
        return _fail(error, {"saved": False, "errors": list(report.errors) or [error]})
    config = report.config
    assert config is not None, "_check names an error whenever there is no config"
    body = config.model_dump(mode="json")
    try:
        path = write_strategy_file(ctx.settings.home, config.name, body, ctx.cycle_id)
    except OSError as err:
        # Not the model's fault and not fixable by it: say so, and where, so a person can act.
        where = err.filename or strategies_dir(ctx.settings.home)
        message = (
            f"cannot write the strategy file: {err.strerror or type(err).__name__}: {where} "
            "(the data directory's strategies/ must be a writable directory); "
            "this is an operator problem, not a config error"
        )
        return _fail(message, {"saved": False, "errors": [message]})
    try:
        recorded = cycles.record_strategy(
            ctx.conn, ctx.cycle_id, name=config.name, config=body, path=str(path), strategy_hash=strategy_hash(config)
        )
    except psycopg.errors.UniqueViolation:
        return _fail("an identical strategy was saved by another cycle a moment ago; change it")
    if not recorded:
        return ToolOutcome(
            result={"saved": False, "error": "the cycle is no longer designing"},
            ok=False,
            error=f"cycle {ctx.cycle_id} is no longer in phase designing",
            ends=True,
        )
    result = {"saved": True, "name": config.name, "path": str(path), "warnings": report.warnings}
    return ToolOutcome(result=result, ends=True, value=(config, path))


def strategies_dir(home: Path) -> Path:
    return Path(home) / "strategies"


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except RuntimeError:  # Python < 3.13 reports a symlink loop this way
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None


def write_strategy_file(home: Path, name: str, body: dict, cycle_id: int) -> Path:
    """Write `<home>/strategies/<name>.json` atomically; never outside that directory."""
    root = _resolve(strategies_dir(home))
    root.mkdir(parents=True, exist_ok=True)
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    target = _resolve(root / f"{name}.json")
    if target.exists() and target.read_text() != text:
        target = _resolve(root / f"{name}-c{cycle_id}.json")  # the name is taken by another strategy
    if target.parent != root:
        raise ValueError(f"strategy name {name!r} would leave {root}")
    write_atomically(target, text)
    return target


# ---- assessment tool ----------------------------------------------------------


class AssessmentInput(BaseModel):
    """What the assessor decides; metrics are added by agentctl, never taken from here."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    passed: bool = Field(description="true if the out-of-sample evidence merits further research or paper trading")
    verdict: Literal["promising", "neutral", "poor"]
    explanation: str = Field(min_length=1, max_length=3000, description="why, citing the held-out metrics")
    strengths: list[str] = Field(default_factory=list, max_length=8)
    weaknesses: list[str] = Field(default_factory=list, max_length=8)
    suggestions: list[str] = Field(
        default_factory=list, max_length=8, description="concrete changes for the next cycles to try"
    )


def metrics_from_backtest(backtest: dict | None) -> dict:
    """The numeric headline figures of a backtest result (the equity curve and other lists left out)."""
    out: dict[str, float | int] = {}
    for key, value in (backtest or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[key] = value
    return out


def save_assessment_tool(ctx: ToolContext, args: dict) -> ToolOutcome:
    try:
        given = AssessmentInput.model_validate(args)
    except ValidationError as err:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}"
            for e in err.errors(include_url=False, include_input=False)
        ][:10]
        return _fail("assessment invalid: " + "; ".join(problems), {"saved": False, "errors": problems})
    assessment = {
        "passed": given.passed,
        "explanation": given.explanation,
        "metrics": metrics_from_backtest(ctx.backtest),
        "verdict": given.verdict,
        "strengths": given.strengths,
        "weaknesses": given.weaknesses,
        "suggestions": given.suggestions,
    }
    if not cycles.record_assessment(ctx.conn, ctx.cycle_id, assessment):
        return ToolOutcome(
            result={"saved": False, "error": "the cycle is no longer assessing"},
            ok=False,
            error=f"cycle {ctx.cycle_id} is no longer in phase assessing",
            ends=True,
        )
    return ToolOutcome(result={"saved": True}, ends=True, value=assessment)


# ---- registry -----------------------------------------------------------------


def design_tools() -> list[Tool]:
    schema = _config_schema()
    return [
        Tool(
            "validate_strategy",
            "Check a StrategyConfig without saving it. Returns ok, errors (fix them all) and warnings.",
            schema,
            validate_strategy_tool,
        ),
        Tool(
            "save_strategy",
            "Validate and save the StrategyConfig for this cycle; the lab then trains and backtests it. "
            "Ends the design. Refused if invalid or identical to a strategy an earlier cycle tried.",
            schema,
            save_strategy_tool,
        ),
    ]


def assessment_tools() -> list[Tool]:
    return [
        Tool(
            "save_assessment",
            "Record your assessment of this cycle's held-out results. Ends the assessment.",
            compact_schema(AssessmentInput.model_json_schema()),
            save_assessment_tool,
        )
    ]


def call_tool(
    ctx: ToolContext, tools: dict[str, Tool], name: str, args: Any, *, tool_use_id: str | None = None
) -> ToolOutcome:
    """Run one tool call and record it as an action row (args, result, success, error)."""
    tool = tools.get(name)
    if tool is None:
        outcome = _fail(f"unknown tool {name[:64]!r}; available: {', '.join(tools)}")
    elif not isinstance(args, dict):
        outcome = _fail("tool input must be a JSON object")
    else:
        try:
            outcome = tool.run(ctx, args)
        except Exception as err:
            outcome = _fail(f"{name} failed: {type(err).__name__}: {str(err)[:500]}")
    logged_args = {"input": args, "tool_use_id": tool_use_id} if tool_use_id else {"input": args}
    insert_action(
        ctx.conn,
        ActionRow(
            session_id=ctx.cycle_id,
            tool_name=name[:100],
            agent=ctx.agent,
            invocation=ctx.invocation,
            tool_args=logged_args,
            tool_result=outcome.result,
            success=outcome.ok,
            error_message=outcome.error,
        ),
    )
    return outcome
