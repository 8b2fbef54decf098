"""Anthropic faults at scale: many real cycles with 429/500/529/timeouts/malformed replies injected at random.

Every cycle ends, nothing stays reserved or active, every request the API received
is exactly one logged `messages.create` row, and the ledger's cost invariants hold.
The RNG is seeded: a failure reproduces with the same node id.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque

import pytest
from agent_helpers import SENTINEL_KEY, bad_config, good_config
from fake_anthropic import assessment_input, fake_anthropic, fault, malformed, message, slow, text, thinking, tool_use
from tickutil import OPEN_GATES, check_invariants, session, tick

CALL_TIMEOUT_S = 1.0
MAX_ATTEMPTS = 3  # AGENTCTL_API_MAX_ATTEMPTS: attempts of one call
SHUT_TRAINING_GATE = {"AGENTCTL_GATES__TRAINING_ALPHA": "1e-300"}  # no out-of-fold p-value is that small


def _config(i: int) -> dict:
    cfg = good_config(f"scale-{i}")
    # Distinct per cycle (content hash); short periods and horizons so the open-gate cycles trade.
    cfg["features"] = [{"function": "RSI", "params": {"timeperiod": 3 + i % 10}}]
    cfg["label"] = {"horizon": 1 + i // 10}
    return cfg


class Injector:
    """Scripts each invocation's replies, with random faults in front of any of them."""

    KINDS = ("429", "500", "529", "timeout", "malformed")

    def __init__(self, fake, seed: int, p_fault: float):
        self.fake, self.rng, self.p = fake, random.Random(seed), p_fault
        self.served: list = []
        served = self.served

        class Recording(deque):
            def popleft(self):
                reply = super().popleft()
                served.append(reply)
                return reply

        with fake.lock:
            fake.queue = Recording(fake.queue)

    @property
    def injected(self) -> Counter:
        """Faults the API actually served (scripted ones an invocation never reached do not count)."""
        return Counter(getattr(r, "fault_kind", None) for r in self.served if getattr(r, "fault_kind", None))

    def _faults(self) -> list:
        out = []
        while self.rng.random() < self.p and len(out) < 3:  # sometimes more than the retries can absorb
            kind = self.rng.choice(self.KINDS)
            if kind == "timeout":
                reply = slow(message(text("too late")), CALL_TIMEOUT_S + 0.5)
            elif kind == "malformed":
                reply = malformed()
            else:
                reply = fault(int(kind), retry_after_ms=self.rng.choice([1, 20, 50]))
            reply.fault_kind = kind
            out.append(reply)
        return out

    def script(self, replies: list) -> None:
        with self.fake.lock:
            self.fake.queue.clear()
        for r in replies:
            self.fake.enqueue(*self._faults(), r)

    def design(self, i: int, *, down: bool = False) -> None:
        """Script cycle i's design; `down`: the API fails every attempt of its first call (a failed design)."""
        self.script(
            [
                message(thinking("An idea."), tool_use("validate_strategy", {"config": bad_config()})),
                message(tool_use("validate_strategy", {"config": _config(i)})),
                message(tool_use("save_strategy", {"config": _config(i)})),
            ]
        )
        if down:
            with self.fake.lock:
                for _ in range(MAX_ATTEMPTS):
                    reply = fault(529, retry_after_ms=1)
                    reply.fault_kind = "529"
                    self.fake.queue.appendleft(reply)

    def assessment(self) -> None:
        self.script([message(tool_use("save_assessment", assessment_input(passed=self.rng.random() < 0.5)))])


def _run_cycles(conn, fake, monkeypatch, n_cycles: int, seed: int, open_every: int, p_fault: float) -> dict:
    import agentctl.agent.loop as loop

    monkeypatch.setattr(loop, "BACKOFF_BASE_S", 0.02)  # the retry logic runs in full, without the waiting
    for k, v in {
        "AGENTCTL_AGENT": "claude",
        "ANTHROPIC_API_KEY": SENTINEL_KEY,
        "AGENTCTL_ANTHROPIC_BASE_URL": fake.url,
        "AGENTCTL_API_CALL_TIMEOUT_S": str(CALL_TIMEOUT_S),
        "AGENTCTL_API_RETRY_CAP_S": "0.5",
        "AGENTCTL_API_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "AGENTCTL_DEFAULT_BUDGET_USD": "10000",
        "AGENTCTL_ASSESSMENT_MAX_ATTEMPTS": "2",
        "AGENTCTL_RESEARCH_MEMORY": "3",
    }.items():
        monkeypatch.setenv(k, v)
    inj = Injector(fake, seed, p_fault=p_fault)
    codes: Counter = Counter()
    timing: Counter = Counter()
    started, assessed = 0, None
    deadline = time.monotonic() + 60 * n_cycles
    while True:
        conn.commit()
        s = conn.execute("SELECT * FROM agent_sessions WHERE phase <> 'idle'").fetchone()
        if s is None:
            if started == n_cycles:
                break
            inj.design(started, down=started == 1)  # one design meets an API down for all its attempts
            gates = OPEN_GATES if started % open_every == 0 else {**OPEN_GATES, **SHUT_TRAINING_GATE}
            started += 1
        elif s["phase"] in ("backtesting", "assessing") and s["id"] != assessed:
            # Once per cycle: the draws may not depend on how many polls the machine's speed allows.
            inj.assessment()
            assessed = s["id"]
        t0 = time.monotonic()
        r = tick(**gates)
        timing[r.trigger_reason or "?"] += time.monotonic() - t0
        codes[r.exit_code] += 1
        assert r.exit_code in (0, 75), r.line()  # 75: the API stayed down for this tick; cron tries again
        assert time.monotonic() < deadline, "cycles are not ending"
        if r.skip_reason == "operation_still_running":
            time.sleep(0.1)
    return {"codes": codes, "injected": inj.injected, "timing": {k: round(v, 1) for k, v in timing.items()}}


def _check(conn, fake, n_cycles: int, report: dict) -> Counter:
    check_invariants(conn)
    conn.commit()
    rows = conn.execute("SELECT * FROM agent_sessions ORDER BY id").fetchall()
    assert len(rows) == n_cycles
    assert all(r["phase"] == "idle" and r["completed_at"] and r["outcome"] for r in rows)  # every cycle ended
    assert len(conn.execute("SELECT * FROM agent_metrics").fetchall()) == n_cycles
    budget = conn.execute("SELECT * FROM agent_budget").fetchall()
    assert all(b["budget_reserved_usd"] == 0 for b in budget)  # no reservation left behind
    logged = conn.execute("SELECT count(*) AS n FROM agent_actions WHERE tool_name = 'messages.create'").fetchone()["n"]
    assert logged == len(fake.message_requests)  # every request the API saw is one row, none twice
    failed = conn.execute(
        "SELECT count(*) AS n FROM agent_actions WHERE tool_name = 'messages.create' AND NOT success"
    ).fetchone()["n"]
    assert failed == sum(report["injected"].values())  # every injected fault was met and logged once
    outcomes = Counter(r["outcome"] for r in rows)
    print(
        f"\n{n_cycles} cycles: outcomes {dict(outcomes)}; faults injected {dict(report['injected'])}; "
        f"tick exit codes {dict(report['codes'])}; model requests {logged}; seconds in ticks {report['timing']}"
    )
    return outcomes


def test_eight_cycles_with_random_api_faults(conn, fake_anthropic, monkeypatch):
    report = _run_cycles(conn, fake_anthropic, monkeypatch, n_cycles=8, seed=7, open_every=3, p_fault=0.25)
    outcomes = _check(conn, fake_anthropic, 8, report)
    assert sum(report["injected"].values()) >= 5
    assert set(outcomes) <= {
        "success",
        "failed_design",
        "failed_training_gate",
        "failed_backtest_gate",
        "failed_assessment",
    }


@pytest.mark.slow
def test_fifty_cycles_with_random_api_faults(conn, fake_anthropic, monkeypatch):
    report = _run_cycles(conn, fake_anthropic, monkeypatch, n_cycles=50, seed=2024, open_every=5, p_fault=0.3)
    outcomes = _check(conn, fake_anthropic, 50, report)
    assert set(report["injected"]) == set(Injector.KINDS)  # every kind of fault was met
    assert outcomes["failed_design"] >= 1 and outcomes["failed_training_gate"] >= 1
