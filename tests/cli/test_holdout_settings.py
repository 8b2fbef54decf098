"""Issue 17's settings are refused in one line naming the setting, exit 1, before anything is written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _agentctl(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "AGENTCTL_HOME": str(tmp_path / "home"), "AGENTCTL_CONFIG": os.devnull, **env}
    return subprocess.run(
        [sys.executable, "-m", "agentctl", *args], env=full, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "env, named",
    [
        ({"AGENTCTL_HOLDOUT_SHARE": "0.7"}, "AGENTCTL_HOLDOUT_SHARE"),
        ({"AGENTCTL_HOLDOUT_SHARE": "0"}, "AGENTCTL_HOLDOUT_SHARE"),
        ({"AGENTCTL_SEARCH": "annealing"}, "AGENTCTL_SEARCH"),
        ({"AGENTCTL_MIN_HOLDOUT_BARS": '{"1d": 5000}'}, "AGENTCTL_MIN_HOLDOUT_BARS"),
        ({"AGENTCTL_MIN_HOLDOUT_BARS": '{"daily": 10}'}, "AGENTCTL_MIN_HOLDOUT_BARS"),
    ],
)
def test_a_bad_holdout_or_search_setting_is_one_line_exit_1(tmp_path, env, named):
    p = _agentctl(tmp_path, "data", "list", **env)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in p.stderr
    assert not (tmp_path / "home" / "search").exists()  # nothing half-written
