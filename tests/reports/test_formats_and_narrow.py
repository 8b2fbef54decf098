"""One format for every figure, no Python reprs, and the narrow layouts designed for 80 columns."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from agentctl import fmt
from agentctl.reports.gate_words import short_name

from .research import seed_research
from .test_every_command_80_columns import terminal

AGENTCTL = str(Path(sys.executable).parent / "agentctl")
# What Python prints when a value reaches the reader unformatted.
REPRS = re.compile(r"\b(True|False|None)\b|\btotal_trades\b|\+ -\d|- of \d|\d\.0\b(?![\d%])|\d\.\d{5,}")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5, "$5.00"),
        (Decimal("5.0000"), "$5.00"),
        (0.015, "$0.02"),
        (0.0042, "$0.0042"),
        (1234.5, "$1,234.50"),
        (-0.25, "-$0.25"),
        (None, "-"),
    ],
)
def test_money_has_cents_and_more_only_below_a_cent(value, text):
    assert fmt.money(value) == text


def test_ratios_percentages_p_values_dates_and_parameters():
    assert (fmt.ratio(0.1026), fmt.ratio(1.5), fmt.ratio(None)) == ("0.10", "1.50", "-")
    assert (fmt.pct(2.077), fmt.pct(-0.015, signed=True, places=2)) == ("207.7%", "-1.50%")
    assert (fmt.p_value(0.5745), fmt.p_value(0.0001)) == ("0.575", "<0.001")
    assert fmt.day(datetime(2001, 8, 29)) == "2001-08-29" and fmt.day(date(2001, 8, 29)) == "2001-08-29"
    assert fmt.day("2001-08-29T14:30:00+00:00") == "2001-08-29 14:30"
    assert fmt.when(datetime(2026, 1, 2, 3, 4, 5, 678901)) == "2026-01-02 03:04:05"
    assert fmt.text({"timeperiod": 37.0, "matype": 0, "adjust": True}) == "timeperiod=37, matype=0, adjust=yes"
    assert (fmt.duration(185), fmt.plural(1, "trade"), fmt.plural(None, "trade")) == ("3m05s", "1 trade", "- trades")


@pytest.mark.parametrize(
    ("seconds", "duration", "age"),
    [
        (0, "0s", "0s"),
        (59, "59s", "59s"),
        (60, "1m00s", "60s"),
        (119, "1m59s", "119s"),
        (120, "2m00s", "2m"),
        (3599, "59m59s", "59m"),
        (3661, "1h01m", "61m"),
        (7200, "2h00m", "2h00m"),
        (86399, "23h59m", "23h59m"),
        (90061, "1d01h", "25h01m"),
        (172800, "2d00h", "2d"),
        (500000, "5d18h", "5d"),
        (12.7, "12s", "12s"),
    ],
)
def test_a_duration_keeps_two_units_and_an_age_is_coarser(seconds, duration, age):
    assert (fmt.duration(seconds), fmt.age(seconds)) == (duration, age)
    assert fmt.duration(None) == "-"


def test_a_baseline_name_drops_its_prefix_in_narrow_tables():
    assert short_name("baseline-12-bbands-rsi-aapl") == "bbands-rsi-aapl"
    assert short_name("rsi-baseline-1-x") == "rsi-baseline-1-x" and short_name("baseline-3-") == "baseline-3-"


def test_reports_print_no_python_reprs(settings, seeded):
    for args in (
        ["show", str(seeded["success"])],
        ["show", str(seeded["failed_backtest_gate"])],
        ["cycles"],
        ["compare", str(seeded["success"]), str(seeded["failed_assessment"])],
        ["cost"],
        ["budget"],
    ):
        out = subprocess.run([AGENTCTL, *args], capture_output=True, text=True, timeout=120).stdout
        # Times are the one place digits run long; drop them before looking for reprs.
        prose = re.sub(r"\d{4}-\d\d-\d\d( \d\d:\d\d(:\d\d)?)?", "", out).replace("(starts at 1.0)", "")
        assert not REPRS.search(prose), f"{args}: {REPRS.search(prose).group(0)!r} in\n{out}"


def test_integrity_stacks_its_headers_at_80_columns(settings, conn):
    seed_research(conn)
    code, lines = terminal(["integrity"], {})
    assert code == 0, "\n".join(lines)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert not any("…" in line for line in lines), "\n".join(lines)  # headers stacked, not cut
    # The two-word headers on two lines, the last line of the header beside `dataset`.
    head = next(i for i, line in enumerate(lines) if line.lstrip().startswith("dataset"))
    assert "training" in lines[head - 1] and "backtest" in lines[head - 1]
    assert "gate" in lines[head] and "chance" in lines[head]
    assert any(line.startswith("overfitting and power by dataset:") for line in lines)


def test_cycles_on_a_terminal_drop_the_baseline_prefix_a_pipe_keeps_it(settings, conn):
    from .research import insert_cycle

    sid = insert_cycle(conn, 1, strategy_name="baseline-7-bbands-rsi-aapl", outcome="failed_training_gate")
    conn.execute(
        "INSERT INTO agent_metrics (session_id, outcome, cycle_completed_at) VALUES (%s, 'failed_training_gate', NOW())",
        (sid,),
    )
    conn.execute("UPDATE agent_sessions SET completed_at = NOW() WHERE id = %s", (sid,))
    conn.commit()
    _, lines = terminal(["cycles"], {})
    row = next(line for line in lines if line.strip().startswith(str(sid)))
    assert "bbands-rsi-aapl" in row and "baseline-7-" not in row
    piped = subprocess.run([AGENTCTL, "cycles"], capture_output=True, text=True, timeout=120).stdout
    assert "baseline-7-bbands-rsi-aapl" in piped
