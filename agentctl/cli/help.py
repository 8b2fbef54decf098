"""What every command's help shows beyond its docstring: an example, flags without a type, plain text in a pipe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# One example per command, shown under its help (commands added later may set their own epilog).
EXAMPLES = {
    "": "agentctl status",
    "tick": "agentctl tick   (cron runs this every minute: see `agentctl cron`)",
    "run": "agentctl run --cycles 3 --interval 1",
    "cancel": "agentctl cancel --json",
    "pause": 'agentctl pause --note "holiday until the 12th"',
    "resume": "agentctl resume",
    "integrity": "agentctl integrity --json",
    "cron": "agentctl cron --install",
    "status": "agentctl status --json",
    "cycles": "agentctl cycles --sort dsr --dataset AAPL/1d --recent 20",
    "show": "agentctl show 7 --png cycle7.png",
    "compare": "agentctl compare 7 9 12",
    "export": "agentctl export 7 ./strategy-7",
    "predict": "agentctl predict 7 aapl-latest.csv --json",
    "budget": "agentctl budget --days 30",
    "budget set": "agentctl budget set 2.50 --date 2030-01-31",
    "cost": "agentctl cost --failures 10",
    "actions": "agentctl actions 7 --limit 20",
    "triggers": "agentctl triggers --today",
    "doctor": "agentctl doctor",
    "metrics": "agentctl metrics > /var/lib/node_exporter/agentctl.prom",
    "db": "agentctl db status",
    "db upgrade": "agentctl db upgrade",
    "db status": "agentctl db status --json",
    "db stop": "agentctl db stop",
    "db start": "agentctl db start",
    "data": "agentctl data list",
    "data list": "agentctl data list --json",
    "data import": "agentctl data import btc.csv --symbol BTCUSD --timeframe 1h",
    "data remove": "agentctl data remove BTCUSD/1h",
}
HELP_NAMES = ["-h", "--help"]


def walk(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree with its path, the root first."""
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from walk(sub, (*path, name))


def polish(root: Any) -> None:
    """Finish the help of every command under `root` (idempotent; runs before each invocation)."""
    import typer

    from agentctl.cli.complete import attach
    from agentctl.cli.render import plain

    plain_text = plain()
    for path, cmd in walk(root):
        # typer labels every flag `<bool>`; a flag takes no value, so it shows none.
        helper = cmd.get_help_option(typer.Context(cmd, help_option_names=HELP_NAMES))
        for param in [*cmd.params, helper]:
            if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        for param in cmd.params:
            attach(path, param)
            _choices_in_words(param)
        example = EXAMPLES.get(" ".join(path))
        if example and not cmd.epilog:
            cmd.epilog = f"Example: {example}"
        if plain_text:
            # Help read through a pipe or with NO_COLOR: click's plain layout, no box drawing.
            cmd.rich_markup_mode = None


def choices(param: Any) -> list[str]:
    """The values a parameter accepts when they are a fixed list (an enum), else []."""
    desc = getattr(param, "type_descriptor", None)  # typer's own types
    found = getattr(desc, "choices", None) if getattr(desc, "is_choice", False) else None
    found = found or getattr(getattr(param, "type", None), "choices", None)  # click's Choice
    return [str(getattr(c, "value", c)) for c in found or ()]


def _choices_in_words(param: Any) -> None:
    """A fixed list of values goes in the help text, where it wraps between words, not in one long metavar."""
    values = choices(param)
    if not values or param.metavar is not None:
        return
    param.metavar = param.name.upper()
    if not all(v in (param.help or "") for v in values):
        param.help = f"{param.help or ''} One of: {', '.join(values)}.".strip()
