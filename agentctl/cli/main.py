"""`agentctl`: the entry point. Commands import their libraries lazily so a tick stays light."""

from __future__ import annotations

import sys

import typer

from agentctl.cli import cycle, data, db, reports

app = typer.Typer(
    name="agentctl",
    help="An autonomous, budget-capped research agent for trading strategies, driven by cron.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("tick")(cycle.tick)
app.command("run")(cycle.run)
app.command("cancel")(cycle.cancel)
app.add_typer(db.app, name="db")


app.add_typer(data.app, name="data")
# Report commands live beside the others at the top level (status, cycles, ...).
reports.register(app)


def main() -> None:
    """Console-script entry point: usage errors become one line on stderr and exit 2."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except typer.Abort:
        print("agentctl: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as err:
        # click's exceptions (vendored by newer typer): matched by shape, not import path.
        if not hasattr(err, "format_message") or not hasattr(err, "exit_code"):
            raise
        ctx = getattr(err, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None and err.exit_code == 2 else ""
        print(f"agentctl: {err.format_message()}{hint}", file=sys.stderr)
        sys.exit(err.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
