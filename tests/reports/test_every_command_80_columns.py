"""Every command on an 80-column pseudo-terminal prints no line over 80 characters.

The commands come from the app itself, so a new command without an entry here fails the
test. Real cycles first: `agentctl run` with the baseline designer, real training,
backtests and holdout, its live progress and summary on the terminal too (stdout and
stderr both on the pseudo-terminal, as a user sees them).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import typer
from terminal import on_terminal
from tickutil import OPEN_GATES

from agentctl.cli.main import app

pytestmark = pytest.mark.heavy

AGENTCTL = str(Path(sys.executable).parent / "agentctl")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
COLUMNS = 80
# `agentctl cron` prints the crontab text to paste: crontab reads one line per entry, so these stay whole.
CRONTAB_ENTRY = ("* * * * * ", "# BEGIN agentctl")


def terminal(args: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    """agentctl with stdout and stderr on an 80x50 pseudo-terminal: (exit code, the lines a user sees)."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    full.update(env, TERM="xterm-256color")
    code, text = on_terminal([AGENTCTL, *args], full, COLUMNS)
    text = ANSI.sub("", text)
    # A live display redraws its line with a carriage return: what stays on screen is the last draw.
    lines = [line.split("\r")[-1] if line.strip("\r") else "" for line in text.split("\n")]
    return code, lines


def _commands() -> set[str]:
    def walk(cmd, prefix=()):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, (*prefix, name))
        else:
            yield " ".join(prefix)

    return set(walk(typer.main.get_command(app)))


def _plan(ids: list[int], tmp: Path, bars: Path) -> list[tuple[str, list[str], set[int]]]:
    """(command, arguments, exit codes it may end with) for every command, in an order that leaves no work behind."""
    one, two = (str(i) for i in ids)
    return [
        ("status", ["status"], {0}),
        ("summary", ["summary"], {0}),
        ("cycles", ["cycles"], {0}),
        ("show", ["show", one, "--trades"], {0}),
        ("compare", ["compare", one, two], {0}),
        ("export", ["export", one, str(tmp / "export")], {0}),
        ("predict", ["predict", one, str(bars)], {0}),
        ("integrity", ["integrity"], {0}),
        ("cost", ["cost"], {0}),
        ("actions", ["actions"], {0}),
        ("triggers", ["triggers"], {0}),
        ("metrics", ["metrics"], {0}),
        ("doctor", ["doctor"], {0, 1}),  # no API key here: doctor says so, exit 1
        ("budget set", ["budget", "set", "3"], {0}),
        ("cron", ["cron"], {0}),
        ("pause", ["pause"], {0}),
        ("tick", ["tick"], {0}),  # paused: the tick starts nothing
        ("cancel", ["cancel"], {0}),
        ("resume", ["resume"], {0}),
        ("data list", ["data", "list"], {0}),
        ("data import", ["data", "import", str(bars), "--symbol", "WIDE", "--timeframe", "1d"], {0}),
        ("data remove", ["data", "remove", "WIDE/1d"], {0}),
        ("db status", ["db", "status"], {0}),
        ("db upgrade", ["db", "upgrade"], {0}),
        ("db stop", ["db", "stop"], {1}),  # the tests' server is external: refused, one line
        ("db start", ["db", "start"], {1}),
    ]


def test_every_command_fits_80_columns(settings, conn, tmp_path, monkeypatch):
    env = {"AGENTCTL_AGENT": "baseline", **OPEN_GATES}
    code, lines = terminal(["run", "--cycles", "1", "--interval", "0"], env)
    assert code == 0, "\n".join(lines)
    too_wide = [line for line in lines if len(line) > COLUMNS]
    assert not too_wide, "run:\n" + "\n".join(too_wide)
    assert any(line.startswith("cycle ") and "->" in line for line in lines), "\n".join(lines)
    # A second strategy to compare: the same cycle with another fee (one real cycle keeps the test short).
    first = conn.execute("SELECT id FROM agent_sessions").fetchone()["id"]
    second = conn.execute(
        """INSERT INTO agent_sessions (phase, strategy_name, strategy_config, training_results, backtest_results,
               outcome, created_at, completed_at)
           SELECT phase, strategy_name || '-fee', jsonb_set(strategy_config, '{trading,fee_bps}', '9'),
                  training_results, backtest_results, 'failed_assessment', created_at, completed_at
           FROM agent_sessions WHERE id = %s RETURNING id""",
        (first,),
    ).fetchone()["id"]
    conn.commit()
    ids = [first, second]

    from agentctl.lab.data import load_ohlcv

    cfg = conn.execute("SELECT strategy_config FROM agent_sessions WHERE id = %s", (ids[0],)).fetchone()
    ds = cfg["strategy_config"]["dataset"]
    df = load_ohlcv(ds["symbol"], ds["timeframe"], settings.home).reset_index()
    bars = tmp_path / "bars.csv"
    df.assign(timestamp=df["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")).to_csv(bars, index=False)

    plan = _plan(ids, tmp_path, bars)
    assert {name for name, _, _ in plan} | {"run"} == _commands(), "a command has no entry in this test"
    failures = []
    for _name, args, codes in plan:
        code, lines = terminal(args, env)
        wide = [line for line in lines if len(line) > COLUMNS and not line.startswith(CRONTAB_ENTRY)]
        if code not in codes or wide or "Traceback" in "\n".join(lines):
            failures.append(f"agentctl {' '.join(args)} (exit {code}):\n" + "\n".join(wide or lines))
    assert not failures, "\n\n".join(failures)
