"""The money soak: hundreds of `agentctl tick` processes, ten at a time, against a fault-injecting fake,
with random SIGKILLs; afterwards the ledger is checked by SQL.

Every reply the fake answers may be broken: no usage, negative usage, output above max_tokens,
an over-long stop reason or request id, no content, a malformed body, a 529, a trickled body;
and the faults nobody planned for: counts of 2^31 or 10^30, counts that are not integers, a
body cut after its headers (content-length or chunked), a bad gzip body, a stalled body, a
reply from a dearer model, an account out of credit (a person resumes after it). Besides the
SIGKILLs, the tick lock's connection is killed mid-wave (a takeover) and the database server
restarts once. The day's limit is raised in steps so the budget is both hit and spent again.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal

import psycopg
import pytest
from agent_helpers import SENTINEL_KEY, good_config
from fake_anthropic import OMIT, fake_anthropic, fault, malformed, message, patched, text, tool_use, with_request_id
from psycopg.rows import dict_row
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
    "huge_output",
    "huge_input",
    "vast_input",
    "float_count",
    "cut",
    "cut_chunked",
    "bad_gzip",
    "stall",
    "substituted",
    "credit",
)
_BODY_FAULTS = ("cut", "cut_chunked", "bad_gzip", "stall")
_USAGE_FAULTS = {
    "huge_output": {"input_tokens": 100, "output_tokens": 2**31 - 1},
    "huge_input": {"input_tokens": 10**12, "output_tokens": 40, "cache_read_input_tokens": 10**12},
    "vast_input": {"input_tokens": 10**30, "output_tokens": 40},
    "float_count": {"input_tokens": 1.5e3, "output_tokens": 40},
}


class Responder:
    """Answers every request on its own: a design saves a fresh strategy, an assessment saves; any may be broken."""

    def __init__(self, seed: int, strike=None):
        self.rng = random.Random(seed)
        self.strike = strike  # n -> an action to run mid-call (a takeover, a restart), or None
        self.n = 0
        self.served: Counter = Counter()
        self.lock = threading.Lock()

    def __call__(self, body: dict):
        with self.lock:
            self.n += 1
            n, kind = self.n, self.rng.choice(FAULTS)
            self.served[kind] += 1
        reply = self._reply(n, body)
        action = self.strike(n) if self.strike is not None else None
        if action is not None:
            from fake_anthropic import before

            before(reply, action)  # after the request arrived, before its reply: mid-call
        return self._break(reply, kind, body)

    def _reply(self, n: int, body: dict):
        tools = {t.get("name") for t in body.get("tools") or []}
        if "save_assessment" in tools:
            from fake_anthropic import assessment_input

            reply = message(tool_use("save_assessment", assessment_input()))
        else:
            cfg = good_config(f"soak-{n}")
            cfg["features"] = [{"function": "RSI", "params": {"timeperiod": 2 + n % 40}}]
            cfg["label"] = {"horizon": 1 + n // 40}
            reply = message(tool_use("save_strategy", {"config": cfg}))
        return reply

    def _break(self, reply, kind: str, body: dict):
        from fake_anthropic import broken_body, credit_exhausted

        if kind in _USAGE_FAULTS:
            return patched(reply, usage=_USAGE_FAULTS[kind])
        if kind in _BODY_FAULTS:
            return broken_body(reply, kind, stall_s=3)
        if kind == "substituted":
            return patched(reply, model="claude-opus-5-5")
        if kind == "credit":
            return credit_exhausted()
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
            "AGENTCTL_RESERVATION_GRACE_S": "6",  # long enough to reconnect after a restart
            "AGENTCTL_CIRCUIT_BREAKER_FAILURES": "100",  # the soak is about money: every tick may call
            **OPEN_GATES,
            **SHUT_TRAINING_GATE,
        }
    )
    return env


def _take_lock_over(url: str) -> int:
    """Kill the connection that holds the tick lock (the other ticks of the wave take it over)."""
    from agentctl.store.cycles import TICK_LOCK_KEY

    with psycopg.connect(url, autocommit=True) as c:
        rows = c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            [TICK_LOCK_KEY],
        ).fetchall()
    return len(rows)


def _restart(pg_server) -> None:
    server, _ = pg_server
    server.stop("fast")
    time.sleep(1.0)  # down for a moment: ticks starting now find no server (exit 75)
    server.start()


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
        if p.returncode == 1 and "credit" in err:
            out["needs_person"] += 1  # the account ran out of credit: cron mails a person
        elif p.returncode not in (0, 75):
            out["bad"] += 1
            print(f"tick exited {p.returncode}: {err[-2000:]}", file=sys.stderr)
        if "Traceback" in err:
            out["traceback"] += 1
            print(err[-3000:], file=sys.stderr)
    return out


def _drain(env: dict, url: str, timeout_s: float = 240) -> None:
    """Tick one at a time, no kills, until no cycle is active (the shut gate ends each quickly)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with _connect(url) as conn:
            n = conn.execute("SELECT count(*) AS n FROM agent_sessions WHERE phase <> 'idle'").fetchone()["n"]
        if n == 0:
            return
        assert time.monotonic() < deadline, "a cycle is stuck"
        subprocess.run([sys.executable, "-m", "agentctl", "tick"], env=env, capture_output=True, timeout=120)
        time.sleep(0.3)


def _connect(url: str):
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def _spend(url: str) -> dict:
    with _connect(url) as c:
        return {
            str(r["date"]): r["budget_used_usd"] for r in c.execute("SELECT date, budget_used_usd FROM agent_budget")
        }


def soak(url: str, fake, pg_server, *, ticks: int, seed: int) -> dict:
    from agentctl.settings import Settings
    from agentctl.store import admission
    from agentctl.store.budget import Budget

    rng = random.Random(seed)
    struck: Counter = Counter()

    def strike(n: int):
        # Mid-call, in the fake's handler: the 6th request meets a database restart, one in
        # eight others a takeover of the tick lock (its connection killed).
        if n == 6:
            return lambda: (_restart(pg_server), struck.update(["restarts_mid_call"]))
        if rng_strike.random() < 0.125:
            return lambda: struck.update(takeovers_mid_call=_take_lock_over(url))
        return None

    rng_strike = random.Random(seed + 1)
    fake.responder = responder = Responder(seed, strike)
    env = _env(fake)
    budget = Budget(Settings())
    limit = Decimal("2.00")
    with _connect(url) as c:
        budget.set_limit(c, limit)
    totals: Counter = Counter()
    waves = ticks // 10
    spends = [_spend(url)]
    for wave in range(waves):
        with _connect(url) as c:
            if wave and wave % 10 == 0:
                limit += Decimal("2.00")  # spent again after being hit
                budget.set_limit(c, limit)
            if admission.state(c).needs_person_at is not None:
                admission.resume(c)  # the person added credit
                totals["resumed"] += 1
        totals.update(_wave(env, rng, 10, kill_p=0.35))
        spends.append(_spend(url))
    env["AGENTCTL_PAUSED"] = "1"  # the drain finishes cycles; it starts none
    _drain(env, url)
    subprocess.run([sys.executable, "-m", "agentctl", "tick"], env=env, capture_output=True, timeout=120)
    spends.append(_spend(url))
    totals.update(struck)
    return {"totals": totals, "served": responder.served, "limit": limit, "spends": spends}


def _check_days(q, spends: list[dict]) -> list[dict]:
    """Each day's budget and each cycle's metrics equal their actions; returns the budget days."""
    # budget_used never goes down within a day (sampled after every wave).
    for before, after in itertools.pairwise(spends):
        for day, used in before.items():
            assert after.get(day, used) >= used, (day, used, after.get(day))
    # Each cycle's metrics equal its actions.
    apart = q(
        "SELECT m.session_id, m.estimated_cost_usd, COALESCE(SUM(a.cost_usd), 0) AS actions FROM agent_metrics m "
        "LEFT JOIN agent_actions a ON a.session_id = m.session_id GROUP BY m.session_id, m.estimated_cost_usd "
        "HAVING m.estimated_cost_usd <> COALESCE(SUM(a.cost_usd), 0)"
    ).fetchall()
    assert not apart, apart
    assert q("SELECT count(*) AS n FROM agent_actions WHERE 'refunded' = ANY(flags)").fetchone()["n"] == 0
    days = q("SELECT * FROM agent_budget").fetchall()
    for d in days:
        spent = q("SELECT COALESCE(SUM(cost_usd), 0) AS s FROM agent_actions WHERE budget_date = %s", [d["date"]])
        assert d["budget_used_usd"] == spent.fetchone()["s"], d
        assert d["overrun_at"] is None and d["budget_used_usd"] <= d["budget_limit_usd"], d
        assert d["budget_reserved_usd"] == 0, d
    return days


def check_ledger(url: str, fake, spends: list[dict]) -> dict:
    conn = _connect(url)
    q = conn.execute
    days = _check_days(q, spends)
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
    late = q("SELECT count(*) AS n FROM agent_actions WHERE 'after_orphan_charge' = ANY(flags)").fetchone()["n"]
    flagged = Counter(
        f.split(":")[0]
        for r in q("SELECT flags FROM agent_actions WHERE flags IS NOT NULL").fetchall()
        for f in r["flags"]
        if not f.startswith(("raw:", "served_by:"))
    )
    basis = Counter(
        r["charge_basis"]
        for r in q("SELECT charge_basis FROM agent_actions WHERE tool_name = 'messages.create'").fetchall()
    )
    return {
        "days": [(str(d["date"]), str(d["budget_used_usd"]), str(d["budget_limit_usd"])) for d in days],
        "billed": len(billed),
        "billed_without_row": len(missing),
        "orphan_charges": orphans,
        "late_rows_after_an_orphan_charge": late,
        "flags": dict(flagged.most_common(12)),
        "model_call_rows": sum(basis.values()),
        "charge_basis": dict(basis),
        "cycles": q("SELECT count(*) AS n FROM agent_sessions").fetchone()["n"],
        "spent": str(used),
    }


def _run(url: str, fake, pg_server, ticks: int, seed: int) -> None:
    started = time.monotonic()
    report = soak(url, fake, pg_server, ticks=ticks, seed=seed)
    figures = check_ledger(url, fake, report["spends"])
    totals = report["totals"]
    assert totals["hung"] == 0 and totals["bad"] == 0 and totals["traceback"] == 0, totals
    print(
        f"\nmoney soak: {ticks} ticks in waves of 10, {totals['killed']} SIGKILLed, exit codes "
        f"{ {k: v for k, v in totals.items() if isinstance(k, int)} }; "
        f"faults { {k: v for k, v in totals.items() if isinstance(k, str)} }; replies served {dict(report['served'])}; "
        f"{figures}; {time.monotonic() - started:.0f} s"
    )


@pytest.mark.slow
def test_money_soak_500_ticks(settings, db_url, fake_anthropic, pg_server):
    _run(db_url, fake_anthropic, pg_server, ticks=500, seed=11)


@pytest.mark.slow
def test_money_soak_short(settings, db_url, fake_anthropic, pg_server):
    _run(db_url, fake_anthropic, pg_server, ticks=100, seed=5)
