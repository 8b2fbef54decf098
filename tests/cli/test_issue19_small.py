"""The smaller points of the researcher's second day: messages in the product's words, help that wraps
between words, an example for every command, and completion of cycle ids and dataset names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

AGENTCTL = str(Path(sys.executable).parent / "agentctl")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run([AGENTCTL, *args], capture_output=True, text=True, timeout=120, env=full)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCTL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)


def test_a_negative_cycle_id_is_named_as_such(isolated):
    p = _run("show", "-1")
    assert p.returncode == 2 and p.stderr.strip() == (
        "agentctl: -1 is not a cycle id: ids are 1, 2, 3, ... (`agentctl cycles --recent` lists them)"
    )


def test_a_bad_choice_names_the_valid_ones_and_the_closest(isolated):
    p = _run("cycles", "--sort", "sharp")
    assert p.returncode == 2 and "Value error" not in p.stderr
    assert (
        "'sharp' is not a valid --sort: choose one of date, sharpe, dsr, return, cost (did you mean sharpe?)"
        in p.stderr
    )


def test_the_outcome_choices_wrap_between_words_in_help(isolated):
    p = _run("cycles", "--help", env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert p.returncode == 0 and "--outcome OUTCOME" in p.stdout
    assert all(len(line) <= 80 for line in p.stdout.splitlines())
    words = set(re.findall(r"[a-z_]+", p.stdout))
    from agentctl.domain import Outcome

    assert {o.value for o in Outcome} <= words  # each whole on its line, none cut in two


@pytest.mark.parametrize("command", ["pause", "resume", "integrity"])
def test_every_command_has_an_example(isolated, command):
    p = _run(command, "--help", env={"NO_COLOR": "1"})
    assert p.returncode == 0 and f"Example: agentctl {command}" in p.stdout


def _complete(words: str) -> list[str]:
    env = {"_AGENTCTL_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    p = _run(env=env)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    return p.stdout.split()


def test_completion_offers_cycle_ids_and_dataset_names(settings, conn):
    ids = [
        conn.execute(
            "INSERT INTO agent_sessions (phase, strategy_name) VALUES ('idle', %s) RETURNING id", (n,)
        ).fetchone()["id"]
        for n in ("a", "b", "c")
    ]
    conn.commit()
    newest_first = [str(i) for i in reversed(ids)]
    assert _complete("agentctl show ") == newest_first
    assert _complete("agentctl compare 1 ") == newest_first
    assert _complete(f"agentctl predict {ids[0]}")[0] == str(ids[0])
    assert _complete("agentctl data remove sp") == ["SP500/1d"]
    assert _complete("agentctl cycles --dataset aapl/") == ["AAPL/1d", "AAPL/1h"]
