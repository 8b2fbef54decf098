"""Claude through the real `anthropic` SDK, with our own tool loop.

Our own loop (not the SDK's tool runner) so that every model call is reserved
against the budget first, recorded as an action row before its tool calls run,
and stoppable on turns, wall time and repeated failures. The SDK is imported
inside the invocation only: importing it costs seconds, a polling tick never does.

Per call: estimate the prompt's upper bound (request bytes: a token is at least a
byte) -> reserve worst case (prompt at the dearest prompt rate + max_tokens of
output, which includes adaptive thinking) -> call -> in one transaction, the
action row and the settlement of the actual cost. Retries (429, 5xx, 529,
timeouts) are ours, each attempt a row: the SDK's own are off, since it would
wait as long as any retry-after says.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from agentctl import pricing
from agentctl.agent import prompts
from agentctl.agent.errors import AgentMisconfigured, AgentUnavailable
from agentctl.agent.outcomes import AssessmentOutcome, DesignOutcome
from agentctl.agent.tools import Tool, ToolContext, assessment_tools, call_tool, design_tools
from agentctl.store import cycles, storable
from agentctl.store.actions import ActionRow, insert_action
from agentctl.store.budget import Budget, BudgetExceeded, Reservation

if TYPE_CHECKING:
    import psycopg

    from agentctl.settings import Settings

log = logging.getLogger("agentctl.agent")

# Anthropic adds a tool-use system prompt of a few hundred tokens; a generous margin.
TOOL_PROMPT_TOKENS = 1024
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


def _secret(settings: Settings) -> str:
    return settings.anthropic_api_key.get_secret_value().strip() if settings.anthropic_api_key else ""


class Redactor:
    """Removes the API key from any text that may reach a row, a log line or an error."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self, text: str) -> str:
        if self.key and len(self.key) >= 8:
            text = text.replace(self.key, "[redacted]")
        return text


def retry_after_s(headers: Any) -> float | None:
    """Seconds the server asks us to wait: retry-after-ms, then retry-after (seconds or a date)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


class ToolLoop:
    """One invocation: model calls and tool calls until a save, a limit or a failure."""

    def __init__(
        self,
        conn: psycopg.Connection,
        settings: Settings,
        *,
        session_id: int,
        invocation: str,
        model: str,
        price: pricing.ModelPrice,
        system: list[dict],
        tools: list[Tool],
        ctx: ToolContext,
        finish_tool: str,
    ):
        self.conn, self.settings = conn, settings
        self.session_id, self.invocation, self.model, self.price = session_id, invocation, model, price
        self.system, self.tools, self.ctx, self.finish_tool = system, {t.name: t for t in tools}, ctx, finish_tool
        self.tool_defs = [t.api_definition() for t in tools]
        self.budget = Budget(settings)
        self.redact = Redactor(_secret(settings))
        self.deadline = time.monotonic() + settings.invocation_timeout_s
        self.calls = 0  # attempts made (reserved), for "did this invocation start"
        self.turns = 0
        self.last_failure: tuple[str, str] | None = None
        self.same_failures = 0

    # ---- the conversation -------------------------------------------------------

    def run(self, first_user: str) -> LoopResult:
        import anthropic

        client = anthropic.Anthropic(
            api_key=_secret(self.settings),
            base_url=self.settings.anthropic_base_url,
            max_retries=0,  # ours: bounded, logged, budget-aware
            timeout=self.settings.api_call_timeout_s,
        )
        messages: list[dict] = [{"role": "user", "content": first_user}]
        nudged = False
        truncations = 0
        try:
            while True:
                if self.turns >= self.settings.max_turns:
                    raise _Stop(f"turn limit ({self.settings.max_turns}) reached without {self.finish_tool}")
                msg = self._call(client, anthropic, messages)
                self.turns += 1
                # Echoed back on the next call: 1e309 (parsed as inf) or a lone surrogate in a tool input
                # would make that request unencodable.
                content = [storable.json_value(b.to_dict(), nul=False) for b in msg.content]
                stop = msg.stop_reason
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
        except _Stop as stop:
            return LoopResult(failure=self.redact(str(stop)))
        except BudgetExceeded as err:
            if self.calls == 0:
                raise  # nothing happened yet: the tick records a budget skip
            return LoopResult(failure=f"budget exceeded midway: {err}")
        finally:
            client.close()

    def _run_tools(self, messages: list[dict], content: list[dict]) -> LoopResult | None:
        results: list[dict] = []
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

    def _count_failure(self, block: dict, ok: bool) -> None:
        key = (block["name"], json.dumps(block.get("input"), sort_keys=True, default=str))
        if ok:
            self.last_failure, self.same_failures = None, 0
            return
        self.same_failures = self.same_failures + 1 if key == self.last_failure else 1
        self.last_failure = key
        if self.same_failures >= IDENTICAL_FAILURES_LIMIT:
            raise _Stop(f"the same failing {block['name']} call {IDENTICAL_FAILURES_LIMIT} times in a row")

    # ---- one model call, with retries ----------------------------------------------

    def _request(self, messages: list[dict]) -> dict:
        return {
            "model": self.model,
            "max_tokens": self.settings.max_tokens,
            "system": self.system,
            "tools": self.tool_defs,
            "messages": messages,
        }

    def _call(self, client: Any, anthropic: Any, messages: list[dict]) -> Any:
        request = self._request(messages)
        request_bytes = len(json.dumps(request, separators=(",", ":")).encode())
        upper = request_bytes + TOOL_PROMPT_TOKENS
        worst = pricing.worst_case(self.price, upper, self.settings.max_tokens)
        last_error = "no attempt made"
        for attempt in range(1, self.settings.api_max_attempts + 1):
            remaining = self.deadline - time.monotonic()
            if remaining < MIN_CALL_S:
                raise _Stop(f"wall time limit ({self.settings.invocation_timeout_s:g} s) reached")
            timeout = min(self.settings.api_call_timeout_s, remaining)
            reservation = self.budget.reserve(
                self.conn,
                worst,
                agent="claude",
                call_name="messages.create",
                session_id=self.session_id,
                model=self.model,
                ttl_s=timeout,
            )
            if self.calls == 0:
                self.budget.count_invocation(self.conn)
            self.calls += 1
            args = {
                "turn": self.turns + 1,
                "max_tokens": self.settings.max_tokens,
                "messages": len(messages),
                "request_bytes": request_bytes,
                "reserved_usd": str(reservation.amount),
            }
            started = time.monotonic()
            request_id = None
            try:
                raw = client.messages.with_raw_response.create(**request, timeout=timeout)
                request_id = raw.request_id
                msg = raw.parse()
            except anthropic.APIStatusError as err:
                latency = _ms(started)
                status = err.status_code
                detail = self.redact(f"HTTP {status}: {_error_message(err)}")
                self._record_failure(reservation, args, detail, latency, err.request_id, attempt, charge=False)
                if status in (401, 403):
                    raise AgentMisconfigured(f"API key rejected ({status}): check ANTHROPIC_API_KEY") from None
                if status == 404:
                    raise AgentMisconfigured(f"model {self.model!r} not found (404): check the model setting") from None
                if status in (408, 409, 429) or status >= 500:
                    last_error = detail
                    self._backoff(attempt, retry_after_s(err.response.headers), detail)
                    continue
                raise _Stop(f"the API rejected the request: {detail}") from None
            except anthropic.APIConnectionError as err:
                latency = _ms(started)
                # A timeout or a dropped response may have been billed: charge the worst case.
                # A refused connection never reached the API: nothing billed.
                sent = not _never_sent(err)
                kind = "timeout" if isinstance(err, anthropic.APITimeoutError) else "connection error"
                detail = self.redact(f"{kind}: {err}")
                self._record_failure(reservation, args, detail, latency, None, attempt, charge=sent)
                last_error = detail
                self._backoff(attempt, None, detail)
                continue
            except (ValueError, RecursionError, anthropic.APIResponseValidationError) as err:
                # A 200 with a body we cannot read (RecursionError: JSON nested too deep): probably billed,
                # usage unknown.
                latency = _ms(started)
                detail = self.redact(f"malformed response: {type(err).__name__}: {str(err)[:300]}")
                self._record_failure(reservation, args, detail, latency, request_id, attempt, charge=True)
                last_error = detail
                self._backoff(attempt, None, detail)
                continue
            self._record_success(reservation, args, msg, _ms(started), request_id, attempt)
            return msg
        raise AgentUnavailable(f"model API unavailable after {self.settings.api_max_attempts} attempts: {last_error}")

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

    def _record_success(
        self, reservation: Reservation, args: dict, msg: Any, latency: int, request_id: str | None, attempt: int
    ) -> None:
        usage = pricing.TokenUsage.from_api(msg.usage)
        cost = pricing.cost(self.price, usage)
        summary = {
            "stop_reason": msg.stop_reason,
            "content": [_block_summary(b) for b in msg.content],
            "usage": msg.usage.to_dict(),
            "cost_exact_usd": str(cost),
        }
        with self.conn.transaction():
            spent = self.budget.settle(self.conn, reservation, cost)
            insert_action(
                self.conn,
                ActionRow(
                    session_id=self.session_id,
                    tool_name="messages.create",
                    agent="claude",
                    invocation=self.invocation,
                    tool_args=args,
                    tool_result=summary,
                    success=True,
                    tokens_input=usage.input_tokens,
                    tokens_output=usage.output_tokens,
                    tokens_cache_write=usage.cache_write_tokens,
                    tokens_cache_read=usage.cache_read_tokens,
                    model=self.model,
                    cost_usd=spent,
                    budget_date=reservation.date,
                    latency_ms=latency,
                    request_id=request_id,
                    stop_reason=msg.stop_reason,
                    attempt=attempt,
                ),
            )
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
        args: dict,
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
            insert_action(
                self.conn,
                ActionRow(
                    session_id=self.session_id,
                    tool_name="messages.create",
                    agent="claude",
                    invocation=self.invocation,
                    tool_args=args,
                    success=False,
                    error_message=detail,
                    model=self.model,
                    cost_usd=spent,
                    budget_date=reservation.date,
                    latency_ms=latency,
                    request_id=request_id,
                    attempt=attempt,
                ),
            )
        log.warning("agent: %s call attempt %d failed: %s", self.invocation, attempt, detail)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _never_sent(err: Exception) -> bool:
    cause = err.__cause__ or err.__context__
    return type(cause).__name__ in ("ConnectError", "ConnectTimeout")


def _error_message(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        return f"{inner.get('type', 'error')}: {str(inner.get('message', ''))[:300]}"
    return str(err)[:300]


def _block_summary(block: Any) -> dict:
    """What a content block said, compactly (thinking is not kept)."""
    if block.type == "text":
        return {"type": "text", "text": block.text[:2000]}
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name}
    return {"type": block.type}


def _append_user_text(messages: list[dict], text: str) -> None:
    last = messages[-1]
    if isinstance(last["content"], str):
        last["content"] = [{"type": "text", "text": last["content"]}]
    last["content"] = [*last["content"], {"type": "text", "text": text}]


# ---- the two invocations ------------------------------------------------------------


def _own_connection(conn_factory) -> psycopg.Connection:
    conn = conn_factory()
    conn.autocommit = True  # each step commits on its own; grouped steps use conn.transaction()
    return conn


def _price(settings: Settings, model: str, day) -> pricing.ModelPrice:
    try:
        return pricing.price_for(model, day, settings.price_overrides)
    except pricing.UnknownModel as err:
        raise AgentMisconfigured(str(err)) from None


def design(conn_factory, settings: Settings, session_id: int) -> DesignOutcome:
    conn = _own_connection(conn_factory)
    try:
        budget = Budget(settings)
        snap = budget.snapshot(conn)
        price = _price(settings, settings.design_model, snap.date)  # refused before any call
        row = cycles.session(conn, session_id)
        if row is None or row["phase"] != "designing":
            return DesignOutcome(
                saved=False, agent_name="claude", failure_reason=f"session {session_id} is not in phase designing"
            )
        memory = cycles.research_memory(conn, session_id, settings.memory_cycles)
        user = prompts.design_user(memory, snap, cycles.strategies_tried(conn))
        ctx = ToolContext(conn, settings, session_id, "claude", "design")
        loop = ToolLoop(
            conn,
            settings,
            session_id=session_id,
            invocation="design",
            model=settings.design_model,
            price=price,
            system=prompts.design_system(settings.home),
            tools=design_tools(),
            ctx=ctx,
            finish_tool="save_strategy",
        )
        result = loop.run(user)
        if result.value is not None:
            config, path = result.value
            return DesignOutcome(
                saved=True, agent_name="claude", config=config, strategy_name=config.name, strategy_path=str(path)
            )
        return DesignOutcome(saved=False, agent_name="claude", failure_reason=result.failure)
    finally:
        conn.close()


def assess(conn_factory, settings: Settings, session_id: int, context: dict) -> AssessmentOutcome:
    conn = _own_connection(conn_factory)
    try:
        snap = Budget(settings).snapshot(conn)
        price = _price(settings, settings.assess_model, snap.date)
        row = cycles.session(conn, session_id)
        if row is None or row["phase"] != "assessing":
            return AssessmentOutcome(
                saved=False, agent_name="claude", failure_reason=f"session {session_id} is not in phase assessing"
            )
        full = prompts.assessment_context(row, context)
        ctx = ToolContext(conn, settings, session_id, "claude", "assessment", backtest=full.get("backtest_results"))
        loop = ToolLoop(
            conn,
            settings,
            session_id=session_id,
            invocation="assessment",
            model=settings.assess_model,
            price=price,
            system=prompts.assessment_system(),
            tools=assessment_tools(),
            ctx=ctx,
            finish_tool="save_assessment",
        )
        result = loop.run(prompts.assessment_user(full, cycles.strategies_tried(conn)))
        if result.value is not None:
            return AssessmentOutcome(saved=True, agent_name="claude", assessment=result.value)
        return AssessmentOutcome(saved=False, agent_name="claude", failure_reason=result.failure)
    finally:
        conn.close()
