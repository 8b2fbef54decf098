"""Settings checked where they are read, dataset advice and import errors, through the real `agentctl` process.

The exit code rule (README "Errors and exit codes"): 2 when the command line itself is
wrong, 1 when a well-formed command names input (a file, a dataset, a cycle, a setting)
that is wrong or missing.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tickutil import one_line_error as _one_line
from tickutil import run_cli as _run


@pytest.mark.parametrize("command", [["tick"], ["run", "--cycles", "1", "--interval", "0"], ["cron"]])
def test_an_unknown_dataset_in_the_universe_stops_the_command_with_the_closest_name(settings, conn, command):
    p = _run(*command, env={"AGENTCTL_DATASETS": "SP500/1d,NASDQ/1d"})
    _one_line(p, 1, "AGENTCTL_DATASETS", "no dataset NASDQ/1d", "did you mean NASDAQ/1d?")
    assert p.stdout == ""  # cron prints no line carrying it
    # No cycle was started (and so none failed): the tick stopped before it.
    assert conn.execute("SELECT COUNT(*) AS n FROM agent_sessions").fetchone()["n"] == 0


def test_doctor_fails_its_universe_check_and_exits_1(settings):
    p = _run("doctor", env={"AGENTCTL_DATASETS": "NOPE/1d"})
    assert p.returncode == 1 and "Traceback" not in p.stderr, p
    (line,) = [x for x in p.stdout.splitlines() if "universe" in x and "no dataset" in x]
    assert "NOPE/1d" in line and "all good" not in p.stdout


def test_the_universe_is_case_insensitive(settings, monkeypatch):
    monkeypatch.setenv("AGENTCTL_DATASETS", "nasdaq/1d, aapl/1H")
    from agentctl.lab.universe import universe_of
    from agentctl.settings import Settings

    assert universe_of(Settings()) == [("NASDAQ", "1d"), ("AAPL", "1h")]
    p = _run("doctor")
    assert "NASDAQ/1d, AAPL/1h" in p.stdout, p.stdout


def test_a_universe_naming_a_dataset_not_imported_yet_still_lets_it_be_imported(settings, tmp_path):
    env = {"AGENTCTL_DATASETS": "MINE/1d"}
    _one_line(_run("tick", env=env), 1, "no dataset MINE/1d")
    csv = _daily_csv(tmp_path / "mine.csv", 150)
    p = _run("data", "import", str(csv), "--symbol", "MINE", "--timeframe", "1d", env=env)
    assert p.returncode == 0 and p.stdout.startswith("imported MINE/1d"), p.stderr
    assert "universe" in _run("doctor", env=env).stdout


def test_removing_a_bundled_dataset_says_it_cannot_without_suggesting_force(settings, conn):
    conn.execute(
        "INSERT INTO agent_sessions (strategy_name, strategy_config, phase, outcome)"
        ' VALUES (\'s\', \'{"dataset": {"symbol": "SP500", "timeframe": "1d"}}\', \'idle\', \'cancelled\')'
    )
    conn.commit()
    for args in (["SP500/1d"], ["sp500/1d"], ["SP500/1d", "--force"]):
        line = _one_line(_run("data", "remove", *args), 1, "SP500/1d is bundled", "cannot be removed")
        assert "--force" not in line


def _daily_csv(path: Path, n: int, bad_row: int | None = None) -> Path:
    lines = ["timestamp,open,high,low,close,volume"]
    for i in range(n):
        day = f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}"
        lines.append(f"{day},10,11,9,10.5,100")
    data = ("\n".join(lines) + "\n").encode()
    if bad_row is not None:
        at = data.index(lines[bad_row].encode())
        data = data[:at] + b"\xff" + data[at + 1 :]
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_a_non_utf8_byte_is_named_by_file_and_row(settings, tmp_path, gz):
    path = _daily_csv(tmp_path / "bad.csv", 150, bad_row=12)
    if gz:
        path = tmp_path / "bad.csv.gz"
        path.write_bytes(gzip.compress((tmp_path / "bad.csv").read_bytes()))
    p = _run("data", "import", str(path), "--symbol", "BAD", "--timeframe", "1d")
    _one_line(p, 1, f"{path.name}: row 12: byte 0xff", "UTF-8")


def test_an_empty_file_is_one_line_naming_it(settings, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    line = _one_line(_run("data", "import", str(empty), "--symbol", "E", "--timeframe", "1d"), 1, "empty.csv")
    assert "is empty" in line and "EmptyDataError" not in line


@pytest.mark.parametrize(
    "args, code, says",
    [
        (["--symbol", "BAD", "--timeframe", "1d"], 1, "few.csv: 20 rows; at least 100"),  # bad data
        (["--symbol", "BAD", "--timeframe", "1h"], 1, "few.csv: "),  # bad data: too few rows comes first
        (["--symbol", "B@D", "--timeframe", "1d"], 2, "bad symbol"),  # bad command line
        (["--symbol", "BAD", "--timeframe", "1x"], 2, "bad timeframe"),  # bad command line
    ],
)
def test_import_errors_name_the_file_and_follow_the_exit_code_rule(settings, tmp_path, args, code, says):
    path = _daily_csv(tmp_path / "few.csv", 20)
    _one_line(_run("data", "import", str(path), *args), code, says)


def test_a_missing_file_is_bad_input_not_bad_usage(settings, tmp_path):
    _one_line(_run("data", "import", str(tmp_path / "none.csv"), "--symbol", "X", "--timeframe", "1d"), 1, "none.csv")


@pytest.mark.parametrize("command", [["tick"], ["cron"]])
def test_a_model_without_a_price_stops_the_command_with_the_closest_name(settings, conn, command):
    env = {
        "AGENTCTL_AGENT": "claude",
        "ANTHROPIC_API_KEY": "sk-ant-test-not-a-key",
        "AGENTCTL_ASSESS_MODEL": "claude-sonet-5-5",
    }
    p = _run(*command, env=env)
    line = _one_line(p, 1, "AGENTCTL_ASSESS_MODEL: no price known for model 'claude-sonet-5-5'")
    assert "did you mean claude-sonnet-5-5?" in line and "sk-ant" not in p.stderr + p.stdout
    assert conn.execute("SELECT COUNT(*) AS n FROM agent_sessions").fetchone()["n"] == 0
    # The baseline calls no model: the same setting does not stop it.
    assert _run("cron", env={**env, "AGENTCTL_AGENT": "baseline"}).returncode == 0
