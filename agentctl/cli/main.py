"""`agentctl`: the entry point. Commands import their libraries lazily so a tick stays light."""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from agentctl.cli import admission, cron, cycle, data, db, reports
from agentctl.cli.help import polish


class _Root(TyperGroup):
    """The top-level group: every command's help is finished (flags, examples, plain text) before it runs."""

    def main(self, *args, **kwargs):
        polish(self)
        return super().main(*args, **kwargs)


app = typer.Typer(
    name="agentctl",
    help="An autonomous, budget-capped research agent for trading strategies, driven by cron.",
    cls=_Root,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"agentctl {version('agentctl')}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """An autonomous, budget-capped research agent for trading strategies, driven by cron."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


app.command("tick")(cycle.tick)
app.command("run")(cycle.run)
app.command("cancel")(cycle.cancel)
app.command("pause")(admission.pause)
app.command("resume")(admission.resume)
app.command("cron")(cron.cron)
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
