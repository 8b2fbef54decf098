"""What one tick saw and did; the CLI turns it into output and an exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentctl.domain import ExitCode


@dataclass
class TickResult:
    trigger_reason: str | None = None
    skip_reason: str | None = None
    agent_invoked: bool = False
    cycle_id: int | None = None
    phase: str | None = None
    outcome: str | None = None
    message: str = ""
    exit_code: ExitCode = ExitCode.OK
    locked_out: bool = False
    agent: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One human line describing the tick."""
        if self.locked_out:
            return "another tick holds the lock: nothing to do"
        parts = [self.trigger_reason or "?"]
        if self.cycle_id is not None:
            parts.append(f"cycle {self.cycle_id}")
        if self.agent_invoked:
            parts.append(f"agent {self.agent} invoked")
        if self.skip_reason:
            parts.append(f"skip: {self.skip_reason}")
        if self.outcome:
            parts.append(f"outcome: {self.outcome}")
        elif self.phase:
            parts.append(f"phase: {self.phase}")
        if self.message:
            parts.append(self.message)
        return " · ".join(parts)
