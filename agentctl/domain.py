"""The words of the domain: phases, outcomes, why a tick did what it did."""

from __future__ import annotations

from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import PlainSerializer


class Phase(StrEnum):
    IDLE = "idle"
    DESIGNING = "designing"
    TRAINING = "training"
    BACKTESTING = "backtesting"
    ASSESSING = "assessing"


def _usd_number(value: Decimal) -> float:
    return float(round(value, 4))


# Money: an exact Decimal in the code (USD), a number with at most 4 decimal places in JSON.
Money = Annotated[Decimal, PlainSerializer(_usd_number, return_type=float, when_used="json")]

# The lab's three tests, each run as one operation (lab_operations.kind) and judged by
# the gate of the same name (a verdict's `gate`): walk-forward training, the research
# backtest, the sealed final holdout.
Gate = Literal["training", "backtest", "holdout"]


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILED_DESIGN = "failed_design"
    FAILED_TRAINING = "failed_training"
    FAILED_TRAINING_GATE = "failed_training_gate"
    FAILED_BACKTEST = "failed_backtest"
    FAILED_BACKTEST_GATE = "failed_backtest_gate"
    FAILED_ASSESSMENT = "failed_assessment"
    CANCELLED = "cancelled"


class TriggerReason(StrEnum):
    START_NEW_CYCLE = "start_new_cycle"
    TRAINING_COMPLETED = "training_completed"
    TRAINING_FAILED = "training_failed"
    BACKTEST_COMPLETED = "backtest_completed"
    BACKTEST_FAILED = "backtest_failed"
    GATE_CHECK = "gate_check"


class SkipReason(StrEnum):
    BUDGET_EXCEEDED = "budget_exceeded"
    PAUSED = "paused"
    CYCLE_LIMIT = "cycle_limit"
    OPERATION_STILL_RUNNING = "operation_still_running"
    GATE_FAILED = "gate_failed"
    NO_AGENT_NEEDED = "no_agent_needed"
    OPERATION_FAILED = "operation_failed"
    SESSION_INTERRUPTED = "session_interrupted"
    ASSESSMENT_FAILED = "assessment_failed"
    AGENT_MISCONFIGURED = "agent_misconfigured"
    BUDGET_OVERRUN = "budget_overrun"  # a call cost more than it reserved: invocations wait for `agentctl resume`
    CIRCUIT_OPEN = "circuit_open"  # the agent failed several cycles in a row: new cycles back off
    EXECUTOR_UNAVAILABLE = "executor_unavailable"  # the Ray cluster does not answer: no cycle starts (exit 75)


class Blame(StrEnum):
    """Whose doing a failed cycle's end was: only the agent's own failures open the circuit breaker."""

    AGENT = "agent"  # the designer or the assessor failed (or the lab or a gate said no)
    BUDGET = "budget"  # the day's budget ran out, or a call cost more than it reserved
    INTERRUPTED = "interrupted"  # the tick that ran the cycle was killed (a signal, a lost lock)


class ExitCode(IntEnum):
    """How a command ends; cron mails a person on anything but OK and TEMPFAIL."""

    OK = 0
    NEEDS_PERSON = 1  # a person must fix something (configuration, key, stuck state)
    USAGE = 2  # bad arguments
    TEMPFAIL = 75  # EX_TEMPFAIL: the database or the API is down; the next tick tries again


class StateMoved(RuntimeError):
    """A guarded update found the cycle in another phase than expected: never guess."""
