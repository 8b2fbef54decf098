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
        message = usage_message(err)
        asked = err.exit_code == 2 and "`agentctl" not in message  # one pointer is enough
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None and asked else ""
        print(f"agentctl: {message}{hint}", file=sys.stderr)
        sys.exit(err.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def usage_message(err: Exception) -> str:
    """click's message in the product's words: no validator prefix, the valid choices named, ids as ids."""
    import difflib
    import re

    from agentctl.cli.help import choices

    message = err.format_message().replace("Value error, ", "")  # type: ignore[attr-defined]  # click's errors have it
    option = getattr(err, "option_name", None)
    if option and re.fullmatch(r"-\d+", option):
        # `show -1`: a negative number reads as an option to the parser; it is a cycle id that cannot exist.
        return f"{option} is not a cycle id: ids are 1, 2, 3, ... (`agentctl cycles --recent` lists them)"
    param = getattr(err, "param", None)
    valid = choices(param) if param is not None else []
    given = re.search(r"'([^']*)' is not (?:one of|a valid)", message)
    if param is not None and valid and given:
        close = difflib.get_close_matches(given.group(1), valid, n=1)
        maybe = f" (did you mean {close[0]}?)" if close else ""
        name = (getattr(param, "opts", None) or [param.name])[0]
        return f"{given.group(1)!r} is not a valid {name}: choose one of {', '.join(valid)}{maybe}"
    return message
