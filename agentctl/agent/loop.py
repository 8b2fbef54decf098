"""The tool loop: model calls and tool calls until a save, a limit or a failure.

Our own loop (not an SDK's tool runner) so that every model call is reserved
against the budget first, recorded as an action row before its tool calls run,
and stoppable on turns, wall time and repeated failures. It drives any Provider
(agent/provider.py) and knows none in particular.

Per call: estimate the prompt's upper bound from the request's size -> reserve the
worst case (prompt at the dearest prompt rate + max_tokens of output, which
includes any thinking) -> call -> in one transaction, the action row and the
settlement of the actual cost. Retries are ours, each attempt a row.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentctl import pricing
from agentctl.agent.audit import Audit
from agentctl.agent.errors import AgentMisconfigured, AgentUnavailable
from agentctl.agent.provider import CallFailure
from agentctl.agent.tools import Tool, ToolContext, call_tool
from agentctl.domain import Blame
from agentctl.store import actions, storable
from agentctl.store.budget import Budget, BudgetExceeded, Reservation, check_fence

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

    from agentctl.agent.provider import Provider, Reply
    from agentctl.settings import Settings

log = logging.getLogger("agentctl.agent")

MIN_CALL_S = 5.0  # do not start a call with less wall time than this left
BACKOFF_BASE_S = 1.0
DEADLINE_SLACK_S = 0.5  # the provider stops at the deadline itself (and says why); the loop waits this much more
IDENTICAL_FAILURES_LIMIT = 3
NUDGE = "You ended your turn without saving. Call {tool} now with your final answer; that is the only way to finish."
MAX_TOKENS_NOTE = (
    "Your previous reply reached the max_tokens limit ({n}) before it finished and was discarded. "
    "Think less and call the tool directly, with a compact input."
)


@dataclass
class LoopResult:
    value: Any = None
    failure: str | None = None
    blame: Blame = Blame.AGENT  # a failure's: the budget's ends no run of the agent's own failures


class _Stop(Exception):
    """Ends the loop with a failure reason (not an outage, not a misconfiguration) and whose doing it was."""

    def __init__(self, reason: str, blame: Blame = Blame.AGENT):
        super().__init__(reason)
        self.blame = blame


class _CallDeadline(Exception):
    """The provider's call did not return by its deadline (the loop's own clock)."""


class Redactor(logging.Filter):
    """Removes the API key from any text or JSON value that may reach a row, a log line or an error.

    Also a logging filter: while an invocation runs, agentctl's log records pass through it.
    """

    def __init__(self, key: str):
        super().__init__()
        self.key = key if key and len(key) >= 8 else ""

    def __call__(self, text: str) -> str:
        return text.replace(self.key, "[redacted]") if self.key else text

    def json(self, value: Any) -> Any:
        """A copy of a JSON-like value with the key replaced in every string and key."""
        if not self.key:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(str(k)): self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if self.key:
            message = record.getMessage()
            if self.key in message:
                record.msg, record.args = self(message), None
        return True


class ToolLoop:
    """One invocation: model calls and tool calls until a save, a limit or a failure."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        settings: Settings,
        provider: Provider,
        *,
        cycle_id: int,
        invocation: str,
        model: str,
        price: pricing.ModelPrice,
        system: list[dict[str, Any]],
        tools: list[Tool],
        ctx: ToolContext,
        finish_tool: str,
        reconnect: Callable[[], psycopg.Connection[Any]] | None = None,
    ):
        self.conn, self.settings, self.provider = conn, settings, provider
        self.cycle_id, self.invocation, self.model, self.price = cycle_id, invocation, model, price
        self.system, self.tools, self.ctx, self.finish_tool = system, {t.name: t for t in tools}, ctx, finish_tool
        self.tool_defs = [t.api_definition() for t in tools]
        self.budget = Budget(settings)
        self.redact = Redactor(provider.secret)
        actions.hide(provider.secret)  # every action row, the tools' too, is searched for the key
        self.audit = Audit(
            conn,
            self.budget,
            provider,
            cycle_id=cycle_id,
            invocation=invocation,
            model=model,
            reconnect=reconnect,
            on_reconnect=self._reconnected,
        )
        self.deadline = time.monotonic() + settings.invocation_timeout_s
        self.calls = 0  # attempts made (reserved), for "did this invocation start"
        self.turns = 0
        self.last_failure: tuple[str, str] | None = None
        self.same_failures = 0

    def _reconnected(self, conn: psycopg.Connection[Any]) -> None:
        """The database came back on a new connection: the loop and its tools use it from now on."""
        self.conn = self.ctx.conn = conn

    # ---- the conversation -------------------------------------------------------

    def run(self, first_user: str) -> LoopResult:
        root = logging.getLogger("agentctl")
        root.addFilter(self.redact)
        self.provider.open()
        try:
            return self._converse([{"role": "user", "content": first_user}])
        except _Stop as stop:
            return LoopResult(failure=self.redact(str(stop)), blame=stop.blame)
        except BudgetExceeded as err:
            if self.calls == 0:
                raise  # nothing happened yet: the tick records a budget skip
            return LoopResult(failure=f"budget exceeded midway: {err}", blame=Blame.BUDGET)
        except AgentUnavailable as err:
            raise AgentUnavailable(self.redact(str(err))) from None
        finally:
            self.provider.close()
            root.removeFilter(self.redact)

    def _converse(self, messages: list[dict[str, Any]]) -> LoopResult:
        nudged = False
        truncations = 0
        while True:
            if self.turns >= self.settings.max_turns:
                raise _Stop(f"turn limit ({self.settings.max_turns}) reached without {self.finish_tool}")
            reply = self._call(messages)
            self.turns += 1
            if reply.problems:
                raise _Stop(f"the model's reply was unusable ({', '.join(reply.problems)})")
            # Echoed back on the next call: 1e309 (parsed as inf) or a lone surrogate in a tool input
            # would make that request unencodable. The key, echoed, reaches no tool, file or row.
            content = [self.redact.json(storable.json_value(b, nul=False)) for b in reply.content]
            stop = reply.stop_reason
            if stop == "max_tokens":
                truncations += 1
                if truncations >= 2:
                    raise _Stop(f"replies hit max_tokens ({self.settings.max_tokens}) twice")
                _append_user_text(messages, MAX_TOKENS_NOTE.format(n=self.settings.max_tokens))
                continue
            messages.append({"role": "assistant", "content": content})
            if stop == "tool_use":
                result = self._run_tools(messages, content)
                if result is not None:
                    return result
            elif stop == "pause_turn":
                continue  # the API paused a long turn: send it back as is to let it continue
            elif stop in ("end_turn", "stop_sequence"):
                if nudged:
                    raise _Stop(f"the model ended its turn twice without calling {self.finish_tool}")
                nudged = True
                messages.append({"role": "user", "content": NUDGE.format(tool=self.finish_tool)})
            elif stop == "refusal":
                raise _Stop("the model refused (stop_reason refusal)")
            else:
                raise _Stop(f"the model stopped with stop_reason {str(stop)[:60]!r}")

    def _run_tools(self, messages: list[dict[str, Any]], content: list[dict[str, Any]]) -> LoopResult | None:
        check_fence(self.conn)  # a tick that lost its lock writes no strategy, no assessment
        results: list[dict[str, Any]] = []
        for block in content:
            if block.get("type") != "tool_use":
                continue
            outcome = call_tool(self.ctx, self.tools, block["name"], block.get("input"), tool_use_id=block["id"])
            if outcome.ends:
                return LoopResult(value=outcome.value) if outcome.ok else LoopResult(failure=outcome.error)
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block["id"],
                    "content": json.dumps(outcome.result, default=str),
                    "is_error": not outcome.ok,
                }
            )
            self._count_failure(block, outcome.ok)
        if not results:
            raise _Stop("stop_reason tool_use without a tool_use block")
        messages.append({"role": "user", "content": results})
        return None

    def _count_failure(self, block: dict[str, Any], ok: bool) -> None:
        key = (block["name"], json.dumps(block.get("input"), sort_keys=True, default=str))
        if ok:
            self.last_failure, self.same_failures = None, 0
            return
        self.same_failures = self.same_failures + 1 if key == self.last_failure else 1
        self.last_failure = key
        if self.same_failures >= IDENTICAL_FAILURES_LIMIT:
            raise _Stop(f"the same failing {block['name']} call {IDENTICAL_FAILURES_LIMIT} times in a row")

    # ---- one model call, with retries ----------------------------------------------

    def _request(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "model": self.model,
            "max_tokens": self.settings.max_tokens,
            "system": self.system,
            "tools": self.tool_defs,
            "messages": messages,
        }

    def _call(self, messages: list[dict[str, Any]]) -> Reply:
        request = self._request(messages)
        request_bytes = len(json.dumps(request, separators=(",", ":")).encode())
        upper = self.provider.prompt_tokens_upper(request_bytes)
        worst = pricing.worst_case(self.price, upper, self.settings.max_tokens)
        last_error = "no attempt made"
        for attempt in range(1, self.settings.api_max_attempts + 1):
            remaining = self.deadline - time.monotonic()
            if remaining < MIN_CALL_S:
                raise _Stop(f"wall time limit ({self.settings.invocation_timeout_s:g} s) reached")
            timeout = min(self.settings.api_call_timeout_s, remaining)
            reservation = self._reserve(worst, timeout)
            args = {
                "turn": self.turns + 1,
                "max_tokens": self.settings.max_tokens,
                "messages": len(messages),
                "request_bytes": request_bytes,
                "reserved_usd": str(reservation.amount),
            }
            started = time.monotonic()
            try:
                reply = self._timed_call(request, timeout)
            except Exception as err:
                failure = self._classify(err, request, timeout)
                last_error = self._failed(failure, reservation, args, _ms(started), attempt)
                continue
            self._settle_reply(reservation, args, reply, _ms(started), attempt, upper)
            return reply
        raise AgentUnavailable(f"model API unavailable after {self.settings.api_max_attempts} attempts: {last_error}")

    def _timed_call(self, request: dict[str, Any], timeout: float) -> Reply:
        """The provider's call, on a thread the loop stops waiting for at the call's deadline.

        The SDK's timeout bounds each read, not the call: a body trickled a byte at a time
        would hold the tick indefinitely. The thread is left to end on its own (the provider
        stops reading at the same deadline).
        """
        deadline = time.monotonic() + timeout
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["reply"] = self.provider.call(request, timeout=timeout, deadline=deadline)
            except BaseException as err:  # handed to the loop's thread, which classifies it
                box["error"] = err

        worker = threading.Thread(target=run, name="model-call", daemon=True)
        worker.start()
        worker.join(timeout + DEADLINE_SLACK_S)
        if worker.is_alive():
            raise _CallDeadline(f"no complete reply within {timeout:g} s (the call's total deadline)")
        if "error" in box:
            raise box["error"]
        reply: Reply = box["reply"]
        return reply

    def _classify(self, err: Exception, request: dict[str, Any], timeout: float) -> CallFailure:
        """What a failed call means; an error nobody recognises may have been billed: charged, and it ends the invocation."""
        if isinstance(err, _CallDeadline):
            return CallFailure("retry", str(err), billed=True)
        failure = self.provider.classify(err, request)
        if failure is not None:
            return failure
        # One line (cron mails stderr): the class and the message say what happened.
        log.error("agent: %s call failed unexpectedly: %s: %s", self.invocation, type(err).__name__, str(err)[:300])
        return CallFailure("rejected", f"unexpected {type(err).__name__}: {str(err)[:300]}", billed=True)

    def _reserve(self, worst: Decimal, timeout: float) -> Reservation:
        reservation = self.budget.reserve(
            self.conn,
            worst,
            agent=self.provider.agent,
            call_name=self.provider.call_name,
            cycle_id=self.cycle_id,
            model=self.model,
            ttl_s=timeout,
        )
        if self.calls == 0:
            self.budget.count_invocation(self.conn)
        self.calls += 1
        return reservation

    def _failed(
        self, failure: CallFailure, reservation: Reservation, args: dict[str, Any], latency: int, attempt: int
    ) -> str:
        """Record a failed attempt; raise if the invocation cannot go on, else wait and return its detail."""
        detail = self.redact(failure.detail)
        self.audit.failure(reservation, args, detail, latency, failure.request_id, attempt, charge=failure.billed)
        if failure.kind == "misconfigured":
            raise AgentMisconfigured(failure.fix) from None
        if failure.kind == "rejected":
            raise _Stop(f"the API rejected the request: {detail}") from None
        self._backoff(attempt, failure.retry_after_s, detail)
        return detail

    def _backoff(self, attempt: int, asked: float | None, detail: str) -> None:
        if attempt >= self.settings.api_max_attempts:
            return
        wait = asked if asked is not None else BACKOFF_BASE_S * 2 ** (attempt - 1) * random.uniform(0.8, 1.2)
        if wait > self.settings.api_retry_cap_s:
            raise AgentUnavailable(f"model API asks to wait {wait:.0f} s: {detail}")
        if time.monotonic() + wait + MIN_CALL_S > self.deadline:
            raise AgentUnavailable(f"model API still failing near the wall time limit: {detail}")
        log.info("agent: %s call failed (%s), retrying in %.1f s", self.invocation, detail, wait)
        time.sleep(wait)

    # ---- the audit rows ----------------------------------------------------------------

    def _settle_reply(
        self, reservation: Reservation, args: dict[str, Any], reply: Reply, latency: int, attempt: int, upper: int
    ) -> None:
        """Charge and record a reply that arrived; an overrun ends the invocation (new ones wait for a person)."""
        from agentctl.agent.charge import charge_for

        served_price, served_flags = self._served_price(reply, reservation)
        charge = charge_for(
            self.price,
            reply.usage,
            reserved=reservation.amount,
            max_tokens=self.settings.max_tokens,
            prompt_upper=upper,
            served_price=served_price,
        )
        if served_flags:
            charge = replace(charge, flags=(*charge.flags, *served_flags))
            if served_price is None:  # no price for the model that served it: at least the reservation
                charge = replace(charge, amount=max(charge.amount, reservation.amount), basis="reservation")
        spent = self.audit.reply(reservation, args, reply, charge, latency, attempt)
        if spent > reservation.amount:
            raise _Stop(
                f"budget overrun: a call cost ${spent}, more than the ${reservation.amount} it reserved; "
                "new invocations wait for `agentctl resume`",
                Blame.BUDGET,
            )

    def _served_price(self, reply: Reply, reservation: Reservation) -> tuple[pricing.ModelPrice | None, list[str]]:
        """A reply served by another model than the one asked for: its price (None: unknown) and the flags."""
        served = reply.model
        if not served or served == self.model:
            return None, []
        try:
            price = pricing.price_for(served, reservation.date, self.settings.price_overrides)
        except pricing.UnknownModel:
            return None, ["model_substituted", f"served_by:{served[:100]}", "served_model_unpriced"]
        if price == self.price:
            return None, []  # the dated name of the same model (or another at the same price)
        return price, ["model_substituted", f"served_by:{served[:100]}"]


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _append_user_text(messages: list[dict[str, Any]], text: str) -> None:
    last = messages[-1]
    if isinstance(last["content"], str):
        last["content"] = [{"type": "text", "text": last["content"]}]
    last["content"] = [*last["content"], {"type": "text", "text": text}]
