"""What can end an agent invocation early, and the exit code each maps to."""

from __future__ import annotations

from agentctl.store.budget import BudgetExceeded

__all__ = ["AgentMisconfigured", "AgentUnavailable", "BudgetExceeded"]


class AgentMisconfigured(RuntimeError):
    """A person must fix the configuration (no key, rejected key, unknown model): exit 1."""


class AgentUnavailable(RuntimeError):
    """The model API is unreachable or overloaded after bounded retries: exit 75, the next tick retries."""
