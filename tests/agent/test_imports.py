"""What a light path imports: a polling tick loads neither the SDK nor the lab's heavy libraries, the CLI no reports."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded(modules: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` (packages or modules, with their submodules) a fresh process loads on `import modules`."""
    code = (
        f"import json, sys, {modules}\n"
        f"names = {names!r}\n"
        "print(json.dumps(sorted({n for m in sys.modules for n in names if m == n or m.startswith(n + '.')})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_agent_import_is_light():
    heavy = ("anthropic", "httpx2", "pandas", "sklearn", "talib", "numpy")
    assert loaded("agentctl.agent, agentctl.store.budget, agentctl.pricing", heavy) == []


def test_the_tick_path_loads_no_cli_framework_and_no_migration_tool():
    """What `agentctl tick` imports before it knows what to do: no typer, rich, yoyo, settings library or prices."""
    modules = (
        "agentctl.cli.entry, agentctl.cli.errors, agentctl.settings, agentctl.tick, "
        "agentctl.store.migrate, agentctl.tick.lock, agentctl.lab.operations"
    )
    names = ("typer", "rich", "yoyo", "pydantic_settings", "agentctl.pricing", "agentctl.tick.cancel")
    assert loaded(modules, names) == []


def test_the_command_line_loads_no_report_or_database_code_before_a_command_runs():
    """`agentctl --help` and every command start from the typer app alone: reports, store and psycopg load in the command."""
    names = ("agentctl.reports", "agentctl.store", "psycopg", "pandas", "numpy", "agentctl.lab.data")
    assert loaded("agentctl.cli.main", names) == []


def test_a_report_command_loads_its_own_report_only():
    """`agentctl status` (and any report) imports its module, not every report: nothing is re-exported."""
    names = ("agentctl.reports.cycles", "agentctl.reports.research", "agentctl.reports.activity")
    assert loaded("agentctl.cli.reports, agentctl.reports.status, agentctl.reports.doctor", names) == []
