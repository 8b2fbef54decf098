"""The money soak: hundreds of `agentctl tick` processes, ten at a time, against a fault-injecting fake,
with random SIGKILLs; afterwards the ledger is checked by SQL.

Every reply the fake answers may be broken: no usage, negative usage, output above max_tokens,
an over-long stop reason or request id, no content, a malformed body, a 529, a trickled body.
The day's limit is raised in steps so the budget is both hit and spent again.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from agent_helpers import SENTINEL_KEY, good_config
from fake_anthropic import OMIT, fake_anthropic, fault, malformed, message, patched, text, tool_use, with_request_id
from tickutil import OPEN_GATES

SHUT_TRAINING_GATE = {"AGENTCTL_GATES__TRAINING_ALPHA": "1e-300"}  # no out-of-fold p-value is that small
FAULTS = (
    "ok",
    "ok",
    "ok",
    "no_usage",
    "negative_usage",
    "output_above_max",
    "long_stop_reason",
    "long_request_id",
    "no_content",
    "malformed",
    "overloaded",
    "trickled",
)


class Responder:
    """Answers every request on its own: a design saves a fresh strategy, an assessment saves; any may be broken."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.n = 0
        self.served: Counter = Counter()
        self.lock = threading.Lock()

    def __call__(self, body: dict):
        with self.lock:
            self.n += 1
            n, kind = self.n, self.rng.choice(FAULTS)
            self.served[kind] += 1
        tools = {t.get("name") for t in body.get("tools") or []}
        if "save_assessment" in tools:
            from fake_anthropic import assessment_input

            reply = message(tool_use("save_assessment", assessment_input()))
        else:
            cfg = good_config(f"soak-{n}")
            cfg["features"] = [{"function": "RSI", "params": {"timeperiod": 2 + n % 40}}]
            cfg["label"] = {"horizon": 1 + n // 40}
            reply = message(tool_use("save_strategy", {"config": cfg}))
        return self._break(reply, kind, body)

    def _break(self, reply, kind: str, body: dict):
        if kind == "no_usage":
            return patched(reply, usage=OMIT)
        if kind == "negative_usage":
            return patched(reply, usage={"input_tokens": -5_000_000, "output_tokens": 40})
        if kind == "output_above_max":
            reply.output_tokens = int(body.get("max_tokens") or 0) + 1
        elif kind == "long_stop_reason":
            return message(text("hm"), stop_reason="s" * 150)
        elif kind == "long_request_id":
            return with_request_id(reply, "req_" + "L" * 280 + f"{self.rng.random()}")
        elif kind == "no_content":
            return patched(reply, content=OMIT)
        elif kind == "malformed":
            return malformed()
        elif kind == "overloaded":
            return fault(529, retry_after_ms=10)
        elif kind == "trickled":
            from fake_anthropic import trickled

            return trickled(reply, 0.4)  # 16 pieces: past the 2 s call deadline
        return reply


def _env(fake) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "AGENTCTL_AGENT": "claude",
            "ANTHROPIC_API_KEY": SENTINEL_KEY,
            "AGENTCTL_ANTHROPIC_BASE_URL": fake.url,
            "AGENTCTL_API_CALL_TIMEOUT_S": "2",
            "AGENTCTL_API_RETRY_CAP_S": "3",
            "AGENTCTL_API_MAX_ATTEMPTS": "2",
            "AGENTCTL_RESERVATION_GRACE_S": "1",
            "AGENTCTL_CIRCUIT_BREAKER_FAILURES": "100",  # the soak is about money: every tick may call
            **OPEN_GATES,
            **SHUT_TRAINING_GATE,
        }
    )
    return env


def _wave(env: dict, rng: random.Random, size: int, kill_p: float) -> Counter:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agentctl", "tick"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(size)
    ]
    out: Counter = Counter()
    if rng.random() < kill_p:
        time.sleep(rng.uniform(0.5, 4.0))
        victim = rng.choice(procs)
        if victim.poll() is None:
            victim.send_signal(signal.SIGKILL)
            out["killed"] += 1
    for p in procs:
        try:
            _, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            out["hung"] += 1
            continue
        if p.returncode == -signal.SIGKILL:
            continue
        out[p.returncode] += 1
        if p.returncode not in (0, 75):
            out["bad"] += 1
            print(f"tick exited {p.returncode}: {err[-2000:]}", file=sys.stderr)
        if "Traceback" in err:
            out["traceback"] += 1
            print(err[-3000:], file=sys.stderr)
    return out


def _drain(env: dict, conn, timeout_s: float = 240) -> None:
    """Tick one at a time, no kills, until no cycle is active (the shut gate ends each quickly)."""
    deadline = time.monotonic() + timeout_s
    while True:
        conn.commit()
        if conn.execute("SELECT count(*) AS n FROM agent_sessions WHERE phase <> 'idle'").fetchone()["n"] == 0:
            return
        assert time.monotonic() < deadline, "a cycle is stuck"
        subprocess.run([sys.executable, "-m", "agentctl", "tick"], env=env, capture_output=True, timeout=120)
        time.sleep(0.3)


def soak(conn, fake, *, ticks: int, seed: int) -> dict:
    rng = random.Random(seed)
    fake.responder = responder = Responder(seed)
    env = _env(fake)
    from agentctl.settings import Settings
    from agentctl.store.budget import Budget

    budget = Budget(Settings())
    limit = Decimal("2.00")
    budget.set_limit(conn, limit)
    totals: Counter = Counter()
    for wave in range(ticks // 10):
        if wave and wave % 10 == 0:
            limit += Decimal("2.00")  # spent again after being hit
            budget.set_limit(conn, limit)
        totals.update(_wave(env, rng, 10, kill_p=0.35))
    env["AGENTCTL_PAUSED"] = "1"  # the drain finishes cycles; it starts none
    _drain(env, conn)
    # An orphaned reservation is charged once it expires: one more tick after its grace.
    time.sleep(3)
    subprocess.run([sys.executable, "-m", "agentctl", "tick"], env=env, capture_output=True, timeout=120)
    return {"totals": totals, "served": responder.served, "limit": limit}


def check_ledger(conn, fake) -> dict:
    conn.commit()
    q = conn.execute
    days = q("SELECT * FROM agent_budget").fetchall()
    for d in days:
        spent = q("SELECT COALESCE(SUM(cost_usd), 0) AS s FROM agent_actions WHERE budget_date = %s", [d["date"]])
        assert d["budget_used_usd"] == spent.fetchone()["s"], d
        assert d["overrun_at"] is None and d["budget_used_usd"] <= d["budget_limit_usd"], d
        assert d["budget_reserved_usd"] == 0, d
    assert q("SELECT count(*) AS n FROM agent_actions WHERE cost_usd < 0").fetchone()["n"] == 0
    assert q("SELECT count(*) AS n FROM agent_budget_reservations").fetchone()["n"] == 0
    assert q("SELECT count(*) AS n FROM agent_sessions WHERE phase <> 'idle'").fetchone()["n"] == 0
    actions = q("SELECT COALESCE(SUM(cost_usd), 0) AS s FROM agent_actions").fetchone()["s"]
    metrics = q("SELECT COALESCE(SUM(estimated_cost_usd), 0) AS s FROM agent_metrics").fetchone()["s"]
    used = q("SELECT COALESCE(SUM(budget_used_usd), 0) AS s FROM agent_budget").fetchone()["s"]
    assert used == actions == metrics, (used, actions, metrics)
    dup = q(
        "SELECT request_id, count(*) AS n FROM agent_actions WHERE request_id IS NOT NULL "
        "GROUP BY request_id HAVING count(*) > 1"
    ).fetchall()
    assert not dup, dup
    recorded = {r["request_id"] for r in q("SELECT request_id FROM agent_actions WHERE request_id IS NOT NULL")}
    billed = fake.billed
    from agentctl.store.actions import COLUMN_WIDTH, fit

    missing = [rid for rid in billed if fit(rid, COLUMN_WIDTH["request_id"]) not in recorded]
    orphans = q("SELECT count(*) AS n FROM agent_actions WHERE 'orphaned' = ANY(flags)").fetchone()["n"]
    # A tick killed after the reply arrived and before its commit leaves no row with the request id;
    # its reservation is charged as an orphan instead (at its worst case, never less).
    assert len(missing) <= orphans, (missing, orphans)
    basis = Counter(
        r["charge_basis"]
        for r in q("SELECT charge_basis FROM agent_actions WHERE tool_name = 'messages.create'").fetchall()
    )
    return {
        "days": [(str(d["date"]), str(d["budget_used_usd"]), str(d["budget_limit_usd"])) for d in days],
        "billed": len(billed),
        "billed_without_row": len(missing),
        "orphan_charges": orphans,
        "model_call_rows": sum(basis.values()),
        "charge_basis": dict(basis),
        "cycles": q("SELECT count(*) AS n FROM agent_sessions").fetchone()["n"],
        "spent": str(used),
    }


def _run(conn, fake, ticks: int, seed: int) -> None:
    started = time.monotonic()
    report = soak(conn, fake, ticks=ticks, seed=seed)
    figures = check_ledger(conn, fake)
    totals = report["totals"]
    assert totals["hung"] == 0 and totals["bad"] == 0 and totals["traceback"] == 0, totals
    print(
        f"\nmoney soak: {ticks} ticks in waves of 10, {totals['killed']} SIGKILLed, exit codes "
        f"{ {k: v for k, v in totals.items() if isinstance(k, int)} }; replies served {dict(report['served'])}; "
        f"{figures}; {time.monotonic() - started:.0f} s"
    )


@pytest.mark.slow
def test_money_soak_500_ticks(conn, fake_anthropic):
    _run(conn, fake_anthropic, ticks=500, seed=11)


@pytest.mark.slow
def test_money_soak_short(conn, fake_anthropic):
    _run(conn, fake_anthropic, ticks=100, seed=5)
