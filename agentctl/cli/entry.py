"""Console-script entry point.

`agentctl tick` runs every minute from cron, so it skips typer (and its import
cost); everything else goes through the typer app in agentctl.cli.main.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

from agentctl.procs import light_gc


def main() -> None:
    """Dispatch: the bare `tick` fast path, or the full command line."""
    # agentctl uses no pydantic plugin, and one installed beside it would see every value validated,
    # the API key among them. Not looking for them also spares every command a scan of the installed
    # packages (a fortieth of an idle tick). Setting the variable yourself (even empty) wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    with light_gc():
        if sys.argv[1:] == ["tick"]:
            sys.exit(tick())
        from agentctl.cli.main import main as full

        full()


def tick() -> int:
    """`agentctl tick` without typer; same output and exit codes as the typer command."""
    from agentctl.cli.errors import classify

    try:
        from agentctl.lab.universe import check_run_time_settings
        from agentctl.settings import get_settings
        from agentctl.tick import Tick

        settings = get_settings()
        # A bad universe stops here with exit 1 (cron mails it), before a cycle starts and fails.
        check_run_time_settings(settings)
        result = Tick(settings).run()
    except Exception as err:
        known = classify(err)
        if known is None:
            raise
        print(f"agentctl: {known[1]}", file=sys.stderr)
        return known[0]
    if result.locked_out:
        print("agentctl: another tick holds the lock: exiting without doing anything", file=sys.stderr)
        return 0
    # The tick's log (cron appends to it every minute) needs to say when each line was written.
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"{stamp} {result.line()}", flush=True)
    if result.exit_code and result.message:
        print(f"agentctl: {result.message}", file=sys.stderr)
    return result.exit_code
