"""What can end an agent invocation early, and the exit code each maps to."""

from __future__ import annotations

from agentctl.store.budget import BudgetExceeded, FencedOut

__all__ = ["AgentMisconfigured", "AgentUnavailable", "BudgetExceeded", "FencedOut"]


class AgentMisconfigured(RuntimeError):
    """A person must fix what no retry can (no key, a revoked key, an unknown model, no credit): exit 1."""


class AgentUnavailable(RuntimeError):
    """The model API is unreachable or overloaded after bounded retries: exit 75, the next tick retries."""
