"""Claude through the real `anthropic` SDK: the one Provider implementation.

The SDK is imported in open() only: importing it costs seconds, and a polling tick
never opens a provider. The SDK's own retries are off: the loop's are bounded,
logged and budget-aware, and the SDK would wait as long as any retry-after says.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Final

from agentctl import pricing
from agentctl.agent.errors import AgentMisconfigured
from agentctl.agent.provider import CallFailure, Reply

if TYPE_CHECKING:
    from agentctl.settings import Settings

# Anthropic adds a tool-use system prompt of a few hundred tokens; a generous margin.
TOOL_PROMPT_TOKENS = 1024
RETRYABLE_STATUS = (408, 409, 429)  # and every 5xx (529: overloaded)


class AnthropicProvider:
    """The Messages API (`messages.create`), priced from agentctl.pricing."""

    agent: Final = "claude"
    call_name: Final = "messages.create"

    def __init__(self, settings: Settings):
        self.settings = settings
        key = settings.anthropic_api_key
        self.secret = key.get_secret_value().strip() if key else ""
        self._sdk: Any = None
        self._client: Any = None

    def open(self) -> None:
        import anthropic

        self._sdk = anthropic
        self._client = anthropic.Anthropic(
            api_key=self.secret,
            base_url=self.settings.anthropic_base_url,
            max_retries=0,  # ours: bounded, logged, budget-aware
            timeout=self.settings.api_call_timeout_s,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def call(self, request: dict[str, Any], *, timeout: float, deadline: float) -> Reply:
        request_id = None
        try:
            # Streamed, so the body is read in chunks and the whole call stops at its deadline:
            # the SDK's timeout bounds each read, and a trickled body never ends a read.
            with self._client.messages.with_streaming_response.create(**request, timeout=timeout) as raw:
                request_id = raw.request_id
                body = _read_body(raw, deadline, request_id)
            data = json.loads(body)
        except (ValueError, RecursionError) as err:
            # A 200 with a body we cannot read (RecursionError: JSON nested too deep).
            raise _Malformed(err, request_id) from err
        return reply_of(data, request_id)

    def classify(self, err: BaseException, request: dict[str, Any]) -> CallFailure | None:
        sdk = self._sdk
        if isinstance(err, _DeadlinePassed):
            detail = f"reply not complete by the call's deadline ({err.timeout:g} s in all)"
            return CallFailure("retry", detail, billed=True, request_id=err.request_id)
        if isinstance(err, _Malformed):
            # Probably billed, usage unknown.
            cause = err.cause
            detail = f"malformed response: {type(cause).__name__}: {str(cause)[:300]}"
            return CallFailure("retry", detail, billed=True, request_id=err.request_id)
        if isinstance(err, sdk.APIStatusError):
            return _status_failure(err, request["model"])
        if isinstance(err, sdk.APIConnectionError):
            # A timeout or a dropped response may have been billed: charge the worst case.
            # A refused connection never reached the API: nothing billed.
            kind = "timeout" if isinstance(err, sdk.APITimeoutError) else "connection error"
            return CallFailure("retry", f"{kind}: {err}", billed=not _never_sent(err))
        return None

    def price(self, model: str, day: date) -> pricing.ModelPrice:
        try:
            return pricing.price_for(model, day, self.settings.price_overrides)
        except pricing.UnknownModel as err:
            raise AgentMisconfigured(str(err)) from None

    def prompt_tokens_upper(self, request_bytes: int) -> int:
        # A token is at least a byte; the tool-use prompt the API adds comes on top.
        return request_bytes + TOOL_PROMPT_TOKENS


def _status_failure(err: Any, model: str) -> CallFailure:
    status = err.status_code
    detail = f"HTTP {status}: {_error_message(err)}"
    if status in (401, 403):
        fix = f"API key rejected ({status}): check ANTHROPIC_API_KEY"
        return CallFailure("misconfigured", detail, request_id=err.request_id, fix=fix)
    if status == 404:
        fix = f"model {model!r} not found (404): check the model setting"
        return CallFailure("misconfigured", detail, request_id=err.request_id, fix=fix)
    if status == 402 or _needs_credit(err):
        fix = f"the API account cannot pay ({status}: {_error_message(err)[:120]}): add credit or check the plan"
        return CallFailure("misconfigured", detail, request_id=err.request_id, fix=fix)
    if status in RETRYABLE_STATUS or status >= 500:
        wait = retry_after_s(err.response.headers)
        return CallFailure("retry", detail, retry_after_s=wait, request_id=err.request_id)
    return CallFailure("rejected", detail, request_id=err.request_id)


def _read_body(raw: Any, deadline: float, request_id: str | None) -> bytes:
    """The whole body of a reply whose headers arrived: from here on, any failure is a billed one."""
    chunks = []
    started = time.monotonic()
    try:
        for chunk in raw.iter_bytes():
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _DeadlinePassed(time.monotonic() - started, request_id)
    except _DeadlinePassed:
        raise
    except Exception as err:
        # Cut mid-body, a stalled read, a bad gzip stream, a reset: whatever the transport says,
        # the request reached the API and may be billed (retried like a 5xx).
        raise _Malformed(err, request_id) from err
    return b"".join(chunks)


def reply_of(data: Any, request_id: str | None) -> Reply:
    """A Reply from a decoded Messages body, whatever it holds (see Reply)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        problems.append("body_not_an_object")
        data = {}
    content = data.get("content")
    blocks: list[dict[str, Any]] = []
    if not isinstance(content, list):
        problems.append("content_missing")
    else:
        blocks = [b for b in content if _readable(b)]
        if len(blocks) < len(content):
            problems.append("content_block_unreadable")
    stop = data.get("stop_reason")
    if stop is not None and not isinstance(stop, str):
        problems.append("stop_reason_unreadable")
        stop = str(stop)[:100]
    usage = data.get("usage")
    model = data.get("model")
    return Reply(
        model=str(model)[:100] if model is not None else None,
        content=blocks,
        stop_reason=stop,
        usage=pricing.read_usage(usage),
        usage_reported=usage if isinstance(usage, dict) else repr(usage)[:200],
        request_id=request_id,
        problems=tuple(problems),
    )


def _readable(block: Any) -> bool:
    """A content block the loop can act on: a dict with a type; a tool_use with its id, name and input."""
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return False
    if block["type"] == "tool_use":
        return isinstance(block.get("id"), str) and isinstance(block.get("name"), str)
    return True


class _DeadlinePassed(Exception):
    """The reply kept coming past the call's deadline: it may be billed, its usage is unknown."""

    def __init__(self, timeout: float, request_id: str | None):
        super().__init__(f"deadline passed after {timeout:.1f} s")
        self.timeout, self.request_id = timeout, request_id


class _Malformed(Exception):
    """A reply that arrived but could not be read; keeps its request id."""

    def __init__(self, cause: BaseException, request_id: str | None):
        super().__init__(str(cause))
        self.cause, self.request_id = cause, request_id


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


def _never_sent(err: BaseException) -> bool:
    cause = err.__cause__ or err.__context__
    return type(cause).__name__ in ("ConnectError", "ConnectTimeout")


# What an error says when the account, not the request, is at fault (billing, credit, quota).
_ACCOUNT_WORDS = ("credit balance", "billing", "insufficient credit", "payment", "quota exceeded", "plans & billing")


def _needs_credit(err: Any) -> bool:
    """A 400/403/429 that no retry fixes: the account's credit or billing (the message says so)."""
    if err.status_code not in (400, 403, 429):
        return False
    return any(word in _error_message(err).lower() for word in _ACCOUNT_WORDS)


def _error_message(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body["error"] if isinstance(body.get("error"), dict) else body
        return f"{inner.get('type', 'error')}: {str(inner.get('message', ''))[:300]}"
    return str(err)[:300]
