"""Importing the agent (as a polling tick does) loads neither the SDK nor the lab's heavy libraries."""

from __future__ import annotations

import subprocess
import sys


def test_agent_import_is_light():
    code = (
        "import sys, agentctl.agent, agentctl.store.budget, agentctl.pricing\n"
        "heavy = [m for m in ('anthropic', 'httpx2', 'pandas', 'sklearn', 'talib', 'numpy') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_tick_path_loads_no_cli_framework_and_no_migration_tool():
    """What `agentctl tick` imports before it knows what to do: no typer, rich, yoyo, settings library or prices."""
    code = (
        "import sys, agentctl.cli.entry, agentctl.cli.errors, agentctl.settings, agentctl.tick\n"
        "import agentctl.store.migrate, agentctl.tick.lock, agentctl.lab.operations\n"
        "names = {'typer', 'rich', 'yoyo', 'pydantic_settings', 'agentctl.pricing', 'agentctl.tick.cancel'}\n"
        "print(sorted(m for m in sys.modules if m in names or m.split('.')[0] in names))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
