"""AGENTCTL_RAY_RESOURCES: a JSON object of custom Ray resources; anything else is one line, exit 1 (no ray needed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agentctl.settings import Settings


@pytest.mark.parametrize(
    "value, says",
    [
        ("{lab: 1}", "not valid JSON"),
        ('["lab"]', "not a JSON object"),
        ('{"lab": 0}', "lab: 0 is not an amount above 0"),
        ('{"lab": "one"}', "lab: 'one' is not an amount above 0"),
        ('{"CPU": 1}', "'CPU' is not a custom resource"),
    ],
)
def test_bad_ray_resources_are_one_line_exit_1_before_anything_is_written(tmp_path, value, says):
    env = {**os.environ, "AGENTCTL_HOME": str(tmp_path / "home"), "AGENTCTL_CONFIG": os.devnull}
    env.update(AGENTCTL_EXECUTOR="ray", AGENTCTL_RAY_RESOURCES=value)
    p = subprocess.run([sys.executable, "-m", "agentctl", "tick"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith("agentctl: ") and "AGENTCTL_RAY_RESOURCES" in lines[0] and says in lines[0], lines[0]
    assert not (tmp_path / "home").exists()  # not even the embedded database


def test_ray_resources_from_the_environment_or_the_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    monkeypatch.setenv("AGENTCTL_RAY_RESOURCES", '{"lab": 1, "gpu_box": 0.5}')
    assert Settings().ray_resources == {"lab": 1.0, "gpu_box": 0.5}
    monkeypatch.delenv("AGENTCTL_RAY_RESOURCES")
    assert Settings().ray_resources == {}
    config = tmp_path / "config.toml"
    config.write_text("[ray_resources]\nlab = 2\n")
    monkeypatch.setenv("AGENTCTL_CONFIG", str(config))
    assert Settings().ray_resources == {"lab": 2.0}
