"""`agentctl cron`: the crontab lines for this installation, printed, installed or removed.

The lines name this very executable and the data directory the terminal uses, so cron
and `agentctl status` read the same database. `--install` keeps them in one marked
block of the user's crontab (replaced on each install, nothing else touched).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import typer

from agentctl.cli import render
from agentctl.cli.errors import fail, handle_errors
from agentctl.domain import ExitCode

BEGIN = "# BEGIN agentctl"
END = "# END agentctl"
# Never copied into a crontab: `crontab -l` would show the key. The key file's path is.
SECRETS = {"ANTHROPIC_API_KEY", "AGENTCTL_ANTHROPIC_API_KEY"}
# Set by the crontab line itself, or meaningless to cron.
OWN = {"AGENTCTL_HOME", "AGENTCTL_ANTHROPIC_API_KEY_FILE"}


def cron(
    install: bool = typer.Option(False, "--install", help="Add the lines to your crontab (again: replaces them)."),
    remove: bool = typer.Option(False, "--remove", help="Take agentctl's lines out of your crontab."),
    log: Path | None = typer.Option(
        None, "--log", metavar="PATH", help="Where the tick's output goes [default: DATA_DIR/logs/tick.log]."
    ),
) -> None:
    """Print the crontab lines that run `agentctl tick` every minute for this installation.

    They name this executable, the data directory in use, the key file when one is set, and a log
    file you can write. --install puts them in your crontab between `# BEGIN agentctl` and
    `# END agentctl`; --remove takes that block out.
    """
    _cron(install, remove, log)


@handle_errors
def _cron(install: bool, remove: bool, log: Path | None) -> None:
    if install and remove:
        raise typer.BadParameter("--install and --remove do not go together", param_hint="'--install'")
    if remove:
        _remove()
        return
    from agentctl.lab.universe import check_run_time_settings
    from agentctl.settings import get_settings

    check_run_time_settings(get_settings())  # a crontab line must not carry a setting every tick would refuse
    block = cron_block(log)
    if not install:
        typer.echo(block)
        return
    log_file = Path(_log_path(log))
    log_file.parent.mkdir(parents=True, exist_ok=True)
    current = _read_crontab()
    updated = put_block(current, block)
    if updated == current:
        render.echo("crontab already has these lines: nothing changed (`crontab -l` shows them)")
        return
    _write_crontab(updated)
    verb = "updated" if BEGIN in current else "installed"
    render.echo(f"{verb}: `agentctl tick` runs every minute, output in {log_file}")
    render.echo("check in two minutes: `agentctl status` shows the last tick")


def _remove() -> None:
    current = _read_crontab()
    if BEGIN not in current:
        render.echo("no agentctl lines in your crontab: nothing to remove")
        return
    _write_crontab(strip_block(current))
    render.echo("removed agentctl's lines from your crontab")


def executable() -> str:
    """The absolute path of the `agentctl` being run (a venv's bin/agentctl stays as it is, not resolved)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "agentctl" and argv0.exists():
        # `make install`'s link (~/.local/bin/agentctl): cron gets the venv's own script it points to.
        return str(argv0.resolve() if argv0.is_symlink() else argv0.absolute())
    beside = Path(sys.executable).parent / "agentctl"
    if beside.exists():
        return str(beside)
    return f"{sys.executable} -m agentctl"


def _log_path(log: Path | None) -> str:
    from agentctl.settings import get_settings

    return str((log or get_settings().home / "logs" / "tick.log").expanduser().absolute())


def cron_block(log: Path | None = None) -> str:
    """The marked crontab block: the tick every minute with the environment this terminal uses."""
    from agentctl.settings import get_settings

    settings = get_settings()
    env = {"AGENTCTL_HOME": str(settings.home)}
    if settings.anthropic_api_key_file is not None:
        env["AGENTCTL_ANTHROPIC_API_KEY_FILE"] = str(settings.anthropic_api_key_file.expanduser().absolute())
    for name in sorted(os.environ):
        if name.startswith("AGENTCTL_") and name not in OWN | SECRETS:
            env[name] = os.environ[name]
    # cron passes no environment: the settings go on the line itself, so no other job of yours sees them.
    assign = " ".join(f"{k}={_cron_quote(v)}" for k, v in env.items())
    command = f"{_cron_quote(executable())} tick >> {_cron_quote(_log_path(log))} 2>&1"
    lines = [f"{BEGIN} (written by `agentctl cron --install`; `agentctl cron --remove` takes it out)"]
    if settings.anthropic_api_key is not None and settings.anthropic_api_key_file is None:
        lines.append(
            "# the API key in your environment is not copied here: put it in a file (chmod 600)"
            " and set AGENTCTL_ANTHROPIC_API_KEY_FILE, then run this again"
        )
    lines += [f"* * * * * {assign} {command}", END]
    return "\n".join(lines)


def _cron_quote(value: str) -> str:
    # cron turns an unescaped % in a command into a newline; URL-encoded paths have them.
    return shlex.quote(value).replace("%", "\\%")


def strip_block(text: str) -> str:
    """`text` without agentctl's marked block (every copy of it, should there be more than one)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith(BEGIN):
            inside = True
        elif inside and line.startswith(END):
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out).rstrip("\n") + "\n" if any(out) else ""


def put_block(text: str, block: str) -> str:
    """`text` with agentctl's block replaced by `block` (appended when absent), other lines untouched."""
    if text.count(BEGIN) == 1 and _block_of(text) == block:
        return text
    return strip_block(text) + block + "\n"


def _block_of(text: str) -> str:
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(BEGIN))
        end = next(i for i in range(start, len(lines)) if lines[i].startswith(END))
    except StopIteration:
        return ""
    return "\n".join(lines[start : end + 1])


def _crontab(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("crontab")
    if exe is None:
        fail(
            "no `crontab` command here: install cron (e.g. `apt-get install cron`), "
            "or give your scheduler the lines `agentctl cron` prints",
            ExitCode.NEEDS_PERSON,
        )
    return subprocess.run([exe, *args], input=stdin, capture_output=True, text=True, timeout=30)


def _read_crontab() -> str:
    p = _crontab(["-l"])
    if p.returncode != 0:
        if "no crontab" in (p.stderr or "").lower():
            return ""
        fail(f"`crontab -l` failed: {_first(p.stderr) or p.returncode}", ExitCode.NEEDS_PERSON)
    return p.stdout


def _write_crontab(text: str) -> None:
    p = _crontab(["-"], stdin=text)
    if p.returncode != 0:
        fail(f"`crontab -` refused the new crontab: {_first(p.stderr) or p.returncode}", ExitCode.NEEDS_PERSON)


def _first(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""
