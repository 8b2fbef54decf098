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
