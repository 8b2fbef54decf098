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
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agentctl import pricing
from agentctl.agent.errors import AgentMisconfigured, AgentUnavailable
from agentctl.agent.tools import Tool, ToolContext, call_tool
from agentctl.store import storable
from agentctl.store.actions import ActionRow, insert_action
from agentctl.store.budget import Budget, BudgetExceeded, Reservation

if TYPE_CHECKING:
    import psycopg

    from agentctl.agent.provider import CallFailure, Provider, Reply
    from agentctl.settings import Settings

log = logging.getLogger("agentctl.agent")

MIN_CALL_S = 5.0  # do not start a call with less wall time than this left
BACKOFF_BASE_S = 1.0
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


class _Stop(Exception):
    """Ends the loop with a failure reason (not an outage, not a misconfiguration)."""


class Redactor:
    """Removes the API key from any text that may reach a row, a log line or an error."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self, text: str) -> str:
        if self.key and len(self.key) >= 8:
            text = text.replace(self.key, "[redacted]")
        return text


class ToolLoop:
    """One invocation: model calls and tool calls until a save, a limit or a failure."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        settings: Settings,
        provider: Provider,
        *,
        session_id: int,
        invocation: str,
        model: str,
        price: pricing.ModelPrice,
        system: list[dict[str, Any]],
        tools: list[Tool],
        ctx: ToolContext,
        finish_tool: str,
    ):
        self.conn, self.settings, self.provider = conn, settings, provider
        self.session_id, self.invocation, self.model, self.price = session_id, invocation, model, price
        self.system, self.tools, self.ctx, self.finish_tool = system, {t.name: t for t in tools}, ctx, finish_tool
        self.tool_defs = [t.api_definition() for t in tools]
        self.budget = Budget(settings)
        self.redact = Redactor(provider.secret)
        self.deadline = time.monotonic() + settings.invocation_timeout_s
        self.calls = 0  # attempts made (reserved), for "did this invocation start"
        self.turns = 0
        self.last_failure: tuple[str, str] | None = None
        self.same_failures = 0

    # ---- the conversation -------------------------------------------------------

    def run(self, first_user: str) -> LoopResult:
        self.provider.open()
        try:
            return self._converse([{"role": "user", "content": first_user}])
        except _Stop as stop:
            return LoopResult(failure=self.redact(str(stop)))
        except BudgetExceeded as err:
            if self.calls == 0:
                raise  # nothing happened yet: the tick records a budget skip
            return LoopResult(failure=f"budget exceeded midway: {err}")
        finally:
            self.provider.close()

    def _converse(self, messages: list[dict[str, Any]]) -> LoopResult:
        nudged = False
        truncations = 0
        while True:
            if self.turns >= self.settings.max_turns:
                raise _Stop(f"turn limit ({self.settings.max_turns}) reached without {self.finish_tool}")
            reply = self._call(messages)
            self.turns += 1
            # Echoed back on the next call: 1e309 (parsed as inf) or a lone surrogate in a tool input
            # would make that request unencodable.
            content = [storable.json_value(b, nul=False) for b in reply.content]
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
                raise _Stop(f"the model stopped with stop_reason {stop!r}")

    def _run_tools(self, messages: list[dict[str, Any]], content: list[dict[str, Any]]) -> LoopResult | None:
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
                reply = self.provider.call(request, timeout=timeout)
            except Exception as err:
                failure = self.provider.classify(err, request)
                if failure is None:
                    raise
                last_error = self._failed(failure, reservation, args, _ms(started), attempt)
                continue
            self._record_success(reservation, args, reply, _ms(started), attempt)
            return reply
        raise AgentUnavailable(f"model API unavailable after {self.settings.api_max_attempts} attempts: {last_error}")

    def _reserve(self, worst: Decimal, timeout: float) -> Reservation:
        reservation = self.budget.reserve(
            self.conn,
            worst,
            agent=self.provider.agent,
            call_name=self.provider.call_name,
            session_id=self.session_id,
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
        self._record_failure(reservation, args, detail, latency, failure.request_id, attempt, charge=failure.billed)
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

    # ---- the audit rows --------------------------------------------------------------

    def _action(self, reservation: Reservation, args: dict[str, Any], **fields: Any) -> ActionRow:
        return ActionRow(
            session_id=self.session_id,
            tool_name=self.provider.call_name,
            agent=self.provider.agent,
            invocation=self.invocation,
            tool_args=args,
            model=self.model,
            budget_date=reservation.date,
            **fields,
        )

    def _record_success(
        self, reservation: Reservation, args: dict[str, Any], reply: Reply, latency: int, attempt: int
    ) -> None:
        usage = reply.usage
        cost = pricing.cost(self.price, usage)
        summary = {
            "stop_reason": reply.stop_reason,
            "content": [_block_summary(b) for b in reply.content],
            "usage": reply.usage_reported,
            "cost_exact_usd": str(cost),
        }
        with self.conn.transaction():
            spent = self.budget.settle(self.conn, reservation, cost)
            row = self._action(
                reservation,
                args,
                tool_result=summary,
                success=True,
                tokens_input=usage.input_tokens,
                tokens_output=usage.output_tokens,
                tokens_cache_write=usage.cache_write_tokens,
                tokens_cache_read=usage.cache_read_tokens,
                cost_usd=spent,
                latency_ms=latency,
                request_id=reply.request_id,
                stop_reason=reply.stop_reason,
                attempt=attempt,
            )
            insert_action(self.conn, row)
        log.info(
            "agent: %s call %d (%s): %d in + %d cache-write + %d cache-read / %d out tokens, $%s, %d ms",
            self.invocation,
            self.turns + 1,
            self.model,
            usage.input_tokens,
            usage.cache_write_tokens,
            usage.cache_read_tokens,
            usage.output_tokens,
            spent,
            latency,
        )

    def _record_failure(
        self,
        reservation: Reservation,
        args: dict[str, Any],
        detail: str,
        latency: int,
        request_id: str | None,
        attempt: int,
        *,
        charge: bool,
    ) -> None:
        amount = reservation.amount if charge else Decimal(0)
        if charge:
            detail += "; outcome unknown, charged at the reserved worst case"
        with self.conn.transaction():
            spent = self.budget.settle(self.conn, reservation, amount)
            row = self._action(
                reservation,
                args,
                success=False,
                error_message=detail,
                cost_usd=spent,
                latency_ms=latency,
                request_id=request_id,
                attempt=attempt,
            )
            insert_action(self.conn, row)
        log.warning("agent: %s call attempt %d failed: %s", self.invocation, attempt, detail)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _block_summary(block: dict[str, Any]) -> dict[str, Any]:
    """What a content block said, compactly (thinking is not kept)."""
    if block.get("type") == "text":
        return {"type": "text", "text": str(block.get("text", ""))[:2000]}
    if block.get("type") == "tool_use":
        return {"type": "tool_use", "id": block.get("id"), "name": block.get("name")}
    return {"type": block.get("type")}


def _append_user_text(messages: list[dict[str, Any]], text: str) -> None:
    last = messages[-1]
    if isinstance(last["content"], str):
        last["content"] = [{"type": "text", "text": last["content"]}]
    last["content"] = [*last["content"], {"type": "text", "text": text}]
