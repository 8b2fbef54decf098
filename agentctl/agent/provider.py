"""What the tool loop needs from a model provider, and nothing about any one provider.

The loop (agent/loop.py) owns the policy: reserve, call, settle, audit, retry,
limits, redaction. A provider owns the wire: how a call is made, what its errors
mean, how its usage is counted and priced, and the names its calls are logged
under. Requests and replies are Messages-shaped dicts (system, tools, messages;
content blocks of type text, tool_use, tool_result).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

from agentctl.pricing import ModelPrice, UsageReading

# What the loop does after a failed call:
#   retry          worth another attempt (after retry_after_s, when the server said)
#   rejected       the request itself was refused: the invocation fails, retrying will not help
#   misconfigured  a person must fix something no retry can (key, model, credit): the tick exits
#                  with the needs-a-person code and new invocations wait for `agentctl resume`
FailureKind = Literal["retry", "rejected", "misconfigured"]


@dataclass(frozen=True)
class Reply:
    """One reply that arrived (and so was billed): content blocks as dicts, why it stopped, what it used.

    A provider builds one from whatever arrived: blocks it could not read are left out and
    named in `problems`, and a usage block it could not believe reads as `usage.usage is None`
    (the loop then charges the reservation).
    """

    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: UsageReading
    usage_reported: Any = None  # as the provider sent it, for the audit row
    request_id: str | None = None
    model: str | None = None  # the model the reply says served it (None: not said)
    problems: tuple[str, ...] = field(default=())  # what made the reply unusable: content_missing, ...


@dataclass(frozen=True)
class CallFailure:
    """A failed call in the loop's terms; `detail` is logged (after redaction), `fix` shown to a person."""

    kind: FailureKind
    detail: str
    billed: bool = False  # may have been billed (timeout, unreadable reply): charged at the reserved worst case
    retry_after_s: float | None = None
    request_id: str | None = None
    fix: str = ""  # for misconfigured: what to change


class Provider(Protocol):
    """An LLM provider the tool loop can drive."""

    @property
    def agent(self) -> str:
        """The agent name on its action rows and reservations (agent_actions.agent)."""
        ...

    @property
    def call_name(self) -> str:
        """The tool_name of a model call's action row."""
        ...

    @property
    def secret(self) -> str:
        """What must never reach a row, a log line or an error (the API key); empty if none."""
        ...

    def open(self) -> None:
        """Get ready to call (client, connection pool); pairs with close()."""
        ...

    def close(self) -> None: ...

    def call(self, request: dict[str, Any], *, timeout: float, deadline: float) -> Reply:
        """Send one request; stop reading at `deadline` (time.monotonic()); any exception is for classify().

        `timeout` bounds each wait (connect, each read); `deadline` the whole call. Once a reply
        has arrived, return it whatever it holds: never raise for its content or usage.
        """
        ...

    def classify(self, err: BaseException, request: dict[str, Any]) -> CallFailure | None:
        """What the exception `request`'s call raised means; None: not the provider's, let it propagate."""
        ...

    def price(self, model: str, day: date) -> ModelPrice:
        """The model's price on `day`; raises AgentMisconfigured for a model without one."""
        ...

    def prompt_tokens_upper(self, request_bytes: int) -> int:
        """An upper bound of the prompt tokens a request of this many bytes is billed for."""
        ...
