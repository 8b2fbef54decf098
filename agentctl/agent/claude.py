"""Claude designs strategies and assesses their results: the two invocations.

Each runs the provider-neutral tool loop (agent/loop.py) with the Anthropic
provider (agent/anthropic_provider.py), on a connection of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentctl.agent import prompts
from agentctl.agent.anthropic_provider import AnthropicProvider
from agentctl.agent.loop import LoopResult, ToolLoop
from agentctl.agent.outcomes import AgentName, AssessmentOutcome, DesignOutcome, cycle_in_phase
from agentctl.agent.tools import Tool, ToolContext, assessment_tools, design_tools
from agentctl.domain import Phase
from agentctl.store import cycles
from agentctl.store.budget import Budget

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings
    from agentctl.store.budget import BudgetSnapshot
    from agentctl.store.records import Cycle

ConnFactory = Callable[[], "psycopg.Connection[Any]"]


def _own_connection(conn_factory: ConnFactory) -> psycopg.Connection[Any]:
    conn = conn_factory()
    conn.autocommit = True  # each step commits on its own; grouped steps use conn.transaction()
    return conn


@dataclass(frozen=True)
class _Invocation:
    """What one invocation asks of Claude, and the phase its cycle must be in."""

    name: str
    phase: Phase
    model: Callable[[Settings], str]
    system: Callable[[Settings], list[dict]]
    tools: Callable[[], list[Tool]]
    finish_tool: str


DESIGN = _Invocation(
    "design", Phase.DESIGNING, lambda s: s.design_model, prompts.design_system, design_tools, "save_strategy"
)
ASSESSMENT = _Invocation(
    "assessment",
    Phase.ASSESSING,
    lambda s: s.assess_model,
    prompts.assessment_system,
    assessment_tools,
    "save_assessment",
)
# The first user message, and the backtest an assessment's metrics come from (None for a design).
Prompt = Callable[["psycopg.Connection[Any]", "Cycle", "BudgetSnapshot"], tuple[str, dict | None]]


def _invoke(
    conn_factory: ConnFactory, settings: Settings, cycle_id: int, kind: _Invocation, prompt: Prompt
) -> tuple[AgentName, LoopResult | str]:
    """One invocation's tool loop on a connection of its own: (the agent, its result or why it did not start)."""
    provider = AnthropicProvider(settings)
    conn = _own_connection(conn_factory)
    try:
        snap = Budget(settings).snapshot(conn)
        price = provider.price(kind.model(settings), snap.date)  # refused before any call
        cycle = cycle_in_phase(conn, cycle_id, kind.phase)
        if isinstance(cycle, str):
            return provider.agent, cycle
        user, backtest = prompt(conn, cycle, snap)
        loop = ToolLoop(
            conn,
            settings,
            provider,
            cycle_id=cycle_id,
            invocation=kind.name,
            model=kind.model(settings),
            price=price,
            system=kind.system(settings),
            tools=kind.tools(),
            ctx=ToolContext(conn, settings, cycle_id, provider.agent, kind.name, backtest=backtest),
            finish_tool=kind.finish_tool,
            reconnect=lambda: _own_connection(conn_factory),
        )
        try:
            return provider.agent, loop.run(user)
        finally:
            loop.conn.close()  # a new one if the database came back on another
    finally:
        conn.close()


def design(conn_factory: ConnFactory, settings: Settings, cycle_id: int) -> DesignOutcome:
    """Claude designs one strategy for a cycle in phase designing; save_strategy stores it."""

    def prompt(conn: psycopg.Connection[Any], cycle: Cycle, snap: BudgetSnapshot) -> tuple[str, None]:
        memory = cycles.research_memory(conn, cycle_id, settings.memory_cycles)
        skipped = cycles.without_research_result(conn)
        return prompts.design_user(memory, snap, cycles.strategies_tried(conn), skipped), None

    agent, result = _invoke(conn_factory, settings, cycle_id, DESIGN, prompt)
    if isinstance(result, str):
        return DesignOutcome(saved=False, agent_name=agent, failure_reason=result)
    if result.value is not None:
        config, path = result.value
        return DesignOutcome(
            saved=True, agent_name=agent, config=config, strategy_name=config.name, strategy_path=str(path)
        )
    return DesignOutcome(saved=False, agent_name=agent, failure_reason=result.failure, failure_blame=result.blame)


def assess(conn_factory: ConnFactory, settings: Settings, cycle_id: int) -> AssessmentOutcome:
    """Claude assesses a cycle in phase assessing; save_assessment stores the assessment."""

    def prompt(conn: psycopg.Connection[Any], cycle: Cycle, snap: BudgetSnapshot) -> tuple[str, dict | None]:
        full = prompts.assessment_context(cycle)
        return prompts.assessment_user(full, cycles.strategies_tried(conn)), full.get("backtest_results")

    agent, result = _invoke(conn_factory, settings, cycle_id, ASSESSMENT, prompt)
    if isinstance(result, str):
        return AssessmentOutcome(saved=False, agent_name=agent, failure_reason=result)
    if result.value is not None:
        return AssessmentOutcome(saved=True, agent_name=agent, assessment=result.value)
    return AssessmentOutcome(saved=False, agent_name=agent, failure_reason=result.failure)
