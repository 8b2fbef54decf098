"""Claude designs strategies and assesses their results: the two invocations.

Each runs the provider-neutral tool loop (agent/loop.py) with the Anthropic
provider (agent/anthropic_provider.py), on a connection of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentctl.agent import prompts
from agentctl.agent.anthropic_provider import AnthropicProvider
from agentctl.agent.loop import ToolLoop
from agentctl.agent.outcomes import AssessmentOutcome, DesignOutcome
from agentctl.agent.tools import ToolContext, assessment_tools, design_tools
from agentctl.domain import Phase
from agentctl.store import cycles
from agentctl.store.budget import Budget

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

ConnFactory = Callable[[], "psycopg.Connection[Any]"]


def _own_connection(conn_factory: ConnFactory) -> psycopg.Connection[Any]:
    conn = conn_factory()
    conn.autocommit = True  # each step commits on its own; grouped steps use conn.transaction()
    return conn


def design(conn_factory: ConnFactory, settings: Settings, cycle_id: int) -> DesignOutcome:
    """Claude designs one strategy for a cycle in phase designing; save_strategy stores it."""
    provider = AnthropicProvider(settings)
    conn = _own_connection(conn_factory)
    try:
        snap = Budget(settings).snapshot(conn)
        price = provider.price(settings.design_model, snap.date)  # refused before any call
        cycle = cycles.get(conn, cycle_id)
        if cycle is None or cycle.phase is not Phase.DESIGNING:
            reason = f"cycle {cycle_id} is not in phase designing"
            return DesignOutcome(saved=False, agent_name=provider.agent, failure_reason=reason)
        memory = cycles.research_memory(conn, cycle_id, settings.memory_cycles)
        skipped = cycles.without_research_result(conn)
        user = prompts.design_user(memory, snap, cycles.strategies_tried(conn), skipped)
        loop = ToolLoop(
            conn,
            settings,
            provider,
            cycle_id=cycle_id,
            invocation="design",
            model=settings.design_model,
            price=price,
            system=prompts.design_system(settings),
            tools=design_tools(),
            ctx=ToolContext(conn, settings, cycle_id, provider.agent, "design"),
            finish_tool="save_strategy",
            reconnect=lambda: _own_connection(conn_factory),
        )
        try:
            result = loop.run(user)
        finally:
            loop.conn.close()  # a new one if the database came back on another
        if result.value is not None:
            config, path = result.value
            return DesignOutcome(
                saved=True, agent_name=provider.agent, config=config, strategy_name=config.name, strategy_path=str(path)
            )
        return DesignOutcome(
            saved=False, agent_name=provider.agent, failure_reason=result.failure, failure_blame=result.blame
        )
    finally:
        conn.close()


def assess(conn_factory: ConnFactory, settings: Settings, cycle_id: int) -> AssessmentOutcome:
    """Claude assesses a cycle in phase assessing; save_assessment stores the assessment."""
    provider = AnthropicProvider(settings)
    conn = _own_connection(conn_factory)
    try:
        snap = Budget(settings).snapshot(conn)
        price = provider.price(settings.assess_model, snap.date)
        cycle = cycles.get(conn, cycle_id)
        if cycle is None or cycle.phase is not Phase.ASSESSING:
            reason = f"cycle {cycle_id} is not in phase assessing"
            return AssessmentOutcome(saved=False, agent_name=provider.agent, failure_reason=reason)
        full = prompts.assessment_context(cycle)
        loop = ToolLoop(
            conn,
            settings,
            provider,
            cycle_id=cycle_id,
            invocation="assessment",
            model=settings.assess_model,
            price=price,
            system=prompts.assessment_system(settings),
            tools=assessment_tools(),
            ctx=ToolContext(
                conn, settings, cycle_id, provider.agent, "assessment", backtest=full.get("backtest_results")
            ),
            finish_tool="save_assessment",
            reconnect=lambda: _own_connection(conn_factory),
        )
        user = prompts.assessment_user(full, cycles.strategies_tried(conn))
        try:
            result = loop.run(user)
        finally:
            loop.conn.close()  # a new one if the database came back on another
        if result.value is not None:
            return AssessmentOutcome(saved=True, agent_name=provider.agent, assessment=result.value)
        return AssessmentOutcome(saved=False, agent_name=provider.agent, failure_reason=result.failure)
    finally:
        conn.close()
