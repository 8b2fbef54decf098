"""Tables on an 80-column terminal: one line per row; in a pipe: every column, no box drawing.

The terminal is a real pseudo-terminal (python's pty module) in front of the real
`agentctl` process, sized 80x50, so rich measures it the way it measures a user's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from terminal import on_terminal

pytestmark = pytest.mark.heavy

AGENTCTL = str(Path(sys.executable).parent / "agentctl")
LONG = "rsi_reversion_with_volume_confirmation_on_aapl_daily_bars_v2"
BOX = re.compile("[\u2500-\u257f\u2580-\u259f]")  # box drawing and block elements
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _seed(conn, n: int = 3) -> list[int]:
    """`n` completed cycles with long names and verdicts, each with actions and a trigger."""
    ids = []
    for i in range(n):
        sid = conn.execute(
            """INSERT INTO agent_sessions (phase, strategy_name, assessment, outcome, failure_reason,
                   created_at, updated_at, completed_at)
               VALUES ('idle', %s, %s, 'failed_backtest_gate', 'too few trades for the gate to trust it',
                       NOW() - interval '2 hours', NOW() - interval '1 hour', NOW() - make_interval(mins => %s))
               RETURNING id""",
            (f"{LONG}_{i}", json.dumps({"verdict": "promising but thin: beats buy and hold by a whisker"}), i),
        ).fetchone()["id"]
        conn.execute(
            """INSERT INTO agent_metrics (session_id, cycle_started_at, cycle_completed_at, cycle_duration_seconds,
                   backtest_sharpe, backtest_win_rate, backtest_max_drawdown, backtest_total_trades,
                   estimated_cost_usd, outcome)
               SELECT id, created_at, completed_at, 3725, 0.41, 0.48, 0.22, 6, 0.0812, outcome
               FROM agent_sessions WHERE id = %s""",
            (sid,),
        )
        conn.execute(
            """INSERT INTO agent_actions (session_id, tool_name, agent, invocation, model, tokens_input,
                   tokens_output, tokens_cache_write, tokens_cache_read, cost_usd, budget_date, latency_ms,
                   success, error_message)
               VALUES (%s, 'validate_strategy_configuration', 'claude', 'design', 'claude-sonnet-5-5-20260101',
                       12000, 2000, 500, 0, 0.0200, CURRENT_DATE, 900, FALSE,
                       'the feature list names an indicator this dataset cannot compute for hourly bars')""",
            (sid,),
        )
        conn.execute(
            """INSERT INTO agent_triggers (triggered_at, trigger_reason, session_id, agent_invoked, skip_reason,
                   budget_used_today_usd, budget_remaining_usd, context)
               VALUES (NOW() - make_interval(mins => %s), 'backtest_completed', %s, FALSE,
                       'operation_still_running', 0.0812, 4.9188, '{}')""",
            (i, sid),
        )
        ids.append(sid)
    conn.commit()
    return ids


def _on_terminal(args: list[str], columns: int = 80) -> tuple[int, str]:
    """Run agentctl with its stdout on a pseudo-terminal of `columns` columns; (exit code, text without ANSI)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    code, text = on_terminal([AGENTCTL, *args], env, columns, stderr_too=False)
    return code, ANSI.sub("", text)


def _plain(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AGENTCTL, *args], capture_output=True, text=True, timeout=120)


def _rows(text: str, marker: str) -> list[str]:
    return [line for line in text.splitlines() if marker in line]


@pytest.mark.parametrize(
    "args, marker, rows",
    [
        (["cycles", "--recent", "10"], "failed_backtest", 3),
        (["actions"], "validate_strat", 3),
        (["triggers"], "backtest_compl", 3),
    ],
)
def test_each_row_is_one_line_at_80_columns(settings, conn, args, marker, rows):
    _seed(conn)
    code, out = _on_terminal(args)
    assert code == 0, out
    lines = out.rstrip("\n").splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert len(_rows(out, marker)) == rows, out
    header = lines[0].split()
    assert "id" in header and not any(len(h) < 2 for h in header), lines[0]  # headers whole, not folded
    if args[0] == "cycles":
        assert "…" in out and LONG not in out  # the long name cut with an ellipsis, not wrapped
        assert len(lines) == 2 + rows  # header, rule, one line per cycle


def test_a_wider_terminal_shows_more(settings, conn):
    _seed(conn, 1)
    _, narrow = _on_terminal(["cycles"], 80)
    _, wide = _on_terminal(["cycles"], 200)
    assert f"{LONG}_0" in wide and "verdict" in wide.splitlines()[0]
    assert len(wide.splitlines()[0].split()) > len(narrow.splitlines()[0].split())


def test_data_list_is_one_line_per_dataset_at_80_columns(settings):
    code, out = _on_terminal(["data", "list"])
    assert code == 0, out
    lines = out.rstrip("\n").splitlines()
    assert all(len(line) <= 80 for line in lines), out
    assert len(_rows(out, " 1d ")) + len(_rows(out, " 1h ")) == len(lines) - 2


def test_budget_fits_and_shows_limits_set_ahead(settings, conn):
    _seed(conn, 1)
    assert _plain(["budget", "set", "7.25", "--date", "2099-12-31"]).returncode == 0
    code, out = _on_terminal(["budget"])
    assert code == 0, out
    table = [line for line in out.splitlines() if re.match(r"(date|\d{4}-\d\d-\d\d) ", line)]
    assert len(table) == 4 and all(len(line) <= 80 for line in table), out  # prose lines may wrap; rows may not
    assert "scheduled limits" in out and "2099-12-31" in out and "$7.25" in out
    data = json.loads(_plain(["budget", "--json"]).stdout)
    assert data["scheduled"] == [{"date": "2099-12-31", "limit_usd": 7.25}]


def test_plain_output_keeps_every_column_and_draws_no_boxes(settings, conn):
    _seed(conn)
    for args in (["cycles"], ["actions"], ["triggers"], ["data", "list"], ["budget"], ["--help"], ["cycles", "-h"]):
        p = _plain(args)
        assert p.returncode == 0, (args, p.stderr)
        assert not BOX.search(p.stdout), (args, p.stdout)
    cycles = _plain(["cycles"]).stdout
    assert f"{LONG}_0" in cycles and cycles.splitlines()[0].split()[-1] == "verdict"


def test_show_in_plain_mode_prints_the_equity_as_a_series(settings, conn):
    sid = _seed(conn, 1)[0]
    curve = [[f"2024-01-{d:02d}T00:00:00+00:00", 1.0 + 0.01 * d] for d in range(1, 31)]
    conn.execute(
        "UPDATE agent_sessions SET backtest_results = %s WHERE id = %s",
        (json.dumps({"sharpe": 0.4, "total_trades": 6, "equity_curve": curve}), sid),
    )
    conn.commit()
    p = _plain(["show", str(sid)])
    assert p.returncode == 0, p.stderr
    assert "equity (starts at 1.0), 2024-01-01 to 2024-01-30, 30 points" in p.stdout
    assert "2024-01-30  1.300" in p.stdout and "min 1.010  max 1.300  last 1.300" in p.stdout
    assert not BOX.search(p.stdout), p.stdout
    code, out = _on_terminal(["show", str(sid)])
    rows = [line for line in out.splitlines() if re.match(r"(id  time|\s*\d+  \d{4}-)", line)]
    assert code == 0 and len(rows) == 4, out  # the actions and triggers tables: a header and a row each
    assert all(len(line) <= 80 for line in rows), out  # prose lines may wrap; table rows may not
