"""Every command has help text and is shown in README.md; report commands stay light to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from agentctl.cli.main import app

REPO = Path(__file__).resolve().parents[2]
REPORT_COMMANDS = {
    "status",
    "cycles",
    "show",
    "budget",
    "budget set",
    "cost",
    "actions",
    "triggers",
    "doctor",
    "metrics",
    "integrity",
}


def _walk(cmd, path=()):
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


COMMANDS = [(" ".join(p), c) for p, c in _walk(typer.main.get_command(app)) if p]


def test_report_commands_are_registered():
    assert {name for name, _ in COMMANDS} >= REPORT_COMMANDS


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help(name, cmd):
    text = (cmd.help or cmd.short_help or "").strip()
    assert text, f"`agentctl {name}` has no help text"
    for param in cmd.params:
        if param.param_type_name == "option" and not param.hidden and param.name != "help":
            assert getattr(param, "help", None), f"`agentctl {name}` option {param.opts} has no help"


@pytest.mark.parametrize("name", [n for n, _ in COMMANDS])
def test_command_in_readme(name):
    readme = (REPO / "README.md").read_text()
    assert f"agentctl {name}" in readme, f"`agentctl {name}` is not in README.md"


def test_report_commands_have_json():
    for name, cmd in COMMANDS:
        if name in REPORT_COMMANDS:
            assert any("--json" in p.opts for p in cmd.params), f"`agentctl {name}` has no --json"


def test_readme_reports_section_comes_before_cron():
    readme = (REPO / "README.md").read_text()
    assert readme.count("\n## Reports\n") == 1
    assert readme.index("\n## Reports\n") < readme.index("\n## Cron\n")


def test_status_does_not_import_heavy_libraries(settings):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from agentctl.cli.main import app\n"
        "r = CliRunner().invoke(app, ['status'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('plotext', 'matplotlib', 'pandas', 'numpy', 'anthropic', 'sklearn', 'talib', 'rich')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ""
