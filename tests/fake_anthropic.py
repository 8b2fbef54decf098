"""A fake Anthropic Messages API: a real HTTP server on 127.0.0.1 for the real SDK.

Replies are scripted in a queue beforehand (so a subprocess such as `agentctl tick`
pointed at it through AGENTCTL_ANTHROPIC_BASE_URL gets them too); every request
received is kept in `.requests`. Usage is realistic: the prefix up to the last
`cache_control` breakpoint is a cache write the first time it is seen and a cache
read afterwards, as on the real API, so a test can tell whether the prefix stayed
byte-identical.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_fake{next(_ids):06d}"


def tokens_of(obj: Any) -> int:
    """A stand-in tokenizer: about four bytes of JSON per token."""
    raw = obj if isinstance(obj, (bytes, str)) else json.dumps(obj, separators=(",", ":"))
    n = len(raw.encode() if isinstance(raw, str) else raw)
    return max(1, n // 4)


# ---- reply builders -------------------------------------------------------------


def text(t: str) -> dict:
    return {"type": "text", "text": t}


def thinking(t: str = "Let me think about this.") -> dict:
    return {"type": "thinking", "thinking": t, "signature": "sig_" + hashlib.sha1(t.encode()).hexdigest()}


def tool_use(name: str, input: dict, id: str | None = None) -> dict:
    return {"type": "tool_use", "id": id or _id("toolu"), "name": name, "input": input}


@dataclass
class Reply:
    """One scripted answer to one POST /v1/messages."""

    content: list[dict] = field(default_factory=list)
    stop_reason: str | None = "end_turn"
    status: int = 200
    usage: dict | None = None  # None: computed from the request
    output_tokens: int | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None  # sent as is (malformed bodies)
    error_type: str | None = None
    patch: dict | None = None  # top-level fields of the message replaced; OMIT removes one
    trickle_s: float = 0.0  # send the body a few bytes at a time, this long between pieces
    # Faults of the body after the headers: "cut" (content-length, then half the body and a hang-up),
    # "cut_chunked" (one chunk, then a hang-up), "bad_gzip" (content-encoding gzip, a body that is not),
    # "stall" (half the body, then nothing for stall_s).
    body_fault: str | None = None
    stall_s: float = 30.0
    before: Any = None  # called (with no argument) after the request is read and before the reply is sent


OMIT = object()  # in Reply.patch: leave the field out of the message


def message(
    *blocks: dict,
    stop_reason: str | None = None,
    usage: dict | None = None,
    output_tokens: int | None = None,
    delay_s: float = 0.0,
) -> Reply:
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return Reply(
        content=list(blocks), stop_reason=stop_reason, usage=usage, output_tokens=output_tokens, delay_s=delay_s
    )


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


def fault(
    status: int,
    *,
    retry_after_ms: int | None = None,
    retry_after_s: float | None = None,
    message: str = "fault injected by fake_anthropic",
    delay_s: float = 0.0,
) -> Reply:
    headers: dict[str, str] = {}
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    if retry_after_s is not None:
        headers["retry-after"] = str(retry_after_s)
    # The real API tells the SDK whether to retry; we retry ourselves, so say it plainly.
    headers["x-should-retry"] = "true" if status in (408, 409, 429) or status >= 500 else "false"
    body = {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}
    return Reply(status=status, headers=headers, raw_body=json.dumps(body).encode(), stop_reason=None, delay_s=delay_s)


def malformed(status: int = 200) -> Reply:
    return Reply(status=status, raw_body=b'{"id": "msg_broken", "type": "message", "content": [', stop_reason=None)


def slow(reply: Reply, delay_s: float) -> Reply:
    reply.delay_s = delay_s
    return reply


def refusal() -> Reply:
    return message(text("I can't help with that."), stop_reason="refusal")


def patched(reply: Reply, **fields: object) -> Reply:
    """A reply whose message has these top-level fields replaced (OMIT: left out), e.g. usage=OMIT."""
    reply.patch = {**(reply.patch or {}), **fields}
    return reply


def with_request_id(reply: Reply, request_id: str) -> Reply:
    reply.headers = {**reply.headers, "request-id": request_id}
    return reply


def broken_body(reply: Reply, kind: str, stall_s: float = 30.0) -> Reply:
    """A reply whose headers arrive and whose body is cut, stalls or cannot be decoded (see Reply.body_fault)."""
    reply.body_fault, reply.stall_s = kind, stall_s
    return reply


def credit_exhausted() -> Reply:
    """The API's answer when the account's credit has run out: a 400 no retry can fix."""
    return fault(
        400, message="Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing."
    )


def before(reply: Reply, action: Any) -> Reply:
    """Run `action` after the request arrived and before its reply is sent (a fault elsewhere, mid-call)."""
    reply.before = action
    return reply


def trickled(reply: Reply, pause_s: float) -> Reply:
    reply.trickle_s = pause_s
    return reply


# ---- the server -----------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: dict | None

    @property
    def cacheable_prefix(self) -> bytes:
        return _prefix_bytes(self.body or {})


def _prefix_bytes(body: dict) -> bytes:
    """Bytes of tools + system up to the last cache_control breakpoint (the cached prefix)."""
    parts: list[Any] = []
    cut: list[Any] | None = None
    for t in body.get("tools") or []:
        parts.append(t)
        if "cache_control" in t:
            cut = list(parts)
    system = body.get("system")
    if isinstance(system, list):
        for block in system:
            parts.append(block)
            if "cache_control" in block:
                cut = list(parts)
    if cut is None:
        return b""
    return json.dumps(cut, sort_keys=True, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    """Serves one FakeAnthropic's scripted replies; a subclass per server names it in `fake`."""

    fake: FakeAnthropic
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self.fake.lock:
            self.fake.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, raw, body))
            self.fake.log.append(("received", str(len(self.fake.requests))))
            reply = self.fake.queue.popleft() if self.fake.queue else None
        if reply is None and self.fake.responder is not None:
            reply = self.fake.responder(body or {})
        if not self.path.startswith("/v1/messages"):
            self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
            return
        if reply is None:
            self._send(
                400,
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "fake_anthropic: no scripted reply left",
                    },
                },
                {"x-should-retry": "false"},
            )
            return
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.before is not None:
            reply.before()
        if reply.body_fault is not None:
            self._send_broken(reply, json.dumps(self.fake._message(reply, body or {})).encode())
            return
        if reply.raw_body is not None:
            self._send_raw(reply.status, reply.raw_body, reply.headers, reply.trickle_s)
            return
        self._send(reply.status, self.fake._message(reply, body or {}), reply.headers, reply.trickle_s)

    def _send_broken(self, reply: Reply, data: bytes) -> None:
        """A 200 whose headers arrive (so it is billed) and whose body does not, whole."""
        request_id = reply.headers.get("request-id") or _id("req")
        half = data[: len(data) // 2]
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("request-id", request_id)
        if reply.body_fault == "cut_chunked":
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            self.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
        elif reply.body_fault == "bad_gzip":
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(half)
        with self.fake.lock:
            self.fake.log.append(("billed", request_id))
        try:
            self.wfile.flush()
            if reply.body_fault == "stall":
                time.sleep(reply.stall_s)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True
        if reply.body_fault != "bad_gzip":
            try:
                self.connection.shutdown(2)  # the hang-up: the client sees the body end early
            except OSError:
                pass  # the client hung up first (a stall it stopped waiting for)

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None, trickle_s: float = 0.0) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers or {}, trickle_s)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str], trickle_s: float = 0.0) -> None:
        headers = dict(headers)
        request_id = headers.pop("request-id", None) or _id("req")
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", request_id)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if trickle_s:
                step = max(1, len(data) // 16)
                for i in range(0, len(data), step):
                    self.wfile.write(data[i : i + step])
                    self.wfile.flush()
                    time.sleep(trickle_s)
            else:
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with self.fake.lock:
                self.fake.log.append(("cut", request_id))
            return  # the client gave up (timeout test)
        if status == 200:
            with self.fake.lock:
                self.fake.log.append(("billed", request_id))


class FakeAnthropic:
    """The server object: `.url`, `.enqueue(...)`, `.requests`, `.close()`."""

    def __init__(self) -> None:
        self.queue: deque[Reply] = deque()
        self.requests: list[Received] = []
        self.cached: set[str] = set()
        # What the fake did, in order: ("received", n), ("billed", request id) for each 200 it
        # finished sending, ("cut", request id) when the client hung up mid-body.
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.default_model = "claude-sonnet-5-5"
        # Answers a request when the queue is empty (a soak's ticks in other processes): body -> Reply.
        self.responder: Any = None
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-anthropic", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _message(self, reply: Reply, body: dict) -> dict:
        usage = reply.usage or self._usage(reply, body)
        msg = {
            "id": _id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body.get("model") or self.default_model,
            "content": reply.content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        for key, value in (reply.patch or {}).items():
            if value is OMIT:
                msg.pop(key, None)
            else:
                msg[key] = value
        return msg

    def _usage(self, reply: Reply, body: dict) -> dict:
        prefix = _prefix_bytes(body)
        total = tokens_of(
            json.dumps({k: body.get(k) for k in ("tools", "system", "messages")}, sort_keys=True, separators=(",", ":"))
        )
        cached = tokens_of(prefix) if prefix else 0
        key = hashlib.sha256(prefix).hexdigest()
        with self.lock:
            hit = bool(prefix) and key in self.cached
            if prefix:
                self.cached.add(key)
        out = reply.output_tokens if reply.output_tokens is not None else tokens_of(reply.content) + 40
        return {
            "input_tokens": max(1, total - cached),
            "output_tokens": out,
            "cache_creation_input_tokens": 0 if hit else cached,
            "cache_read_input_tokens": cached if hit else 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0 if hit else cached, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
        }

    def enqueue(self, *replies: Reply) -> FakeAnthropic:
        with self.lock:
            self.queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        return len(self.queue)

    @property
    def billed(self) -> list[str]:
        """Request ids of every 200 the fake finished sending (each was billed)."""
        with self.lock:
            return [rid for kind, rid in self.log if kind == "billed"]

    @property
    def message_requests(self) -> list[Received]:
        return [r for r in self.requests if r.path.startswith("/v1/messages")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- whole scripted invocations ---------------------------------------------------


def script_design(fake: FakeAnthropic, bad_config: dict, good_config: dict) -> None:
    """A design invocation: validate a config that fails, validate a fixed one, save it (which ends it)."""
    fake.enqueue(
        message(
            thinking("First idea."),
            text("Checking a first idea."),
            tool_use("validate_strategy", {"config": bad_config}),
        ),
        message(text("Fixing the errors."), tool_use("validate_strategy", {"config": good_config})),
        message(tool_use("save_strategy", {"config": good_config})),
    )


def assessment_input(passed: bool = True, verdict: str = "promising") -> dict:
    return {
        "passed": passed,
        "verdict": verdict,
        "explanation": "Out-of-sample Sharpe holds up after costs and beats buy-and-hold on drawdown.",
        "strengths": ["positive deflated Sharpe", "moderate drawdown"],
        "weaknesses": ["few trades"],
        "suggestions": ["try a longer label horizon"],
    }


def script_assessment(fake: FakeAnthropic, passed: bool = True, verdict: str = "promising") -> None:
    """An assessment invocation: one save_assessment call (which ends it)."""
    fake.enqueue(
        message(thinking("Weighing the evidence."), tool_use("save_assessment", assessment_input(passed, verdict)))
    )


@pytest.fixture
def fake_anthropic():
    server = FakeAnthropic()
    try:
        yield server
    finally:
        server.close()
