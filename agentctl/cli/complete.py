"""Shell completion of the values a person cannot guess: cycle ids (from the database) and dataset names.

Attached by parameter in cli/help.py `polish`, so every command taking an ID or a dataset
offers them. Completion never fails loudly: an unreachable database offers no ids.
"""

from __future__ import annotations

from typing import Any

# Parameters completed with cycle ids, and (command path, parameter) pairs completed with dataset names.
CYCLE_PARAMS = {"cycle_id", "cycle_ids"}
DATASET_PARAMS = {(("data", "remove"), "name"), (("cycles",), "dataset")}


def cycle_ids(ctx: Any, param: Any, incomplete: str) -> list[str]:
    """The newest cycles' ids starting with `incomplete`, newest first."""
    try:
        from agentctl.settings import get_settings
        from agentctl.store import open_database
        from agentctl.store import reports as store

        with open_database(get_settings(), autocommit=True) as conn:
            choices = store.cycle_choices(conn)
    except Exception:  # completion runs on every TAB: a broken setup offers nothing rather than a trace
        return []
    return [str(c.id) for c in choices if str(c.id).startswith(incomplete)]


def dataset_names(ctx: Any, param: Any, incomplete: str) -> list[str]:
    """Installed SYMBOL/TIMEFRAME names starting with `incomplete`, whatever its case."""
    try:
        from agentctl.lab.universe import installed_datasets
        from agentctl.settings import get_settings

        names = [f"{s}/{t}" for s, t in installed_datasets(get_settings().home).values()]
    except Exception:  # as above: nothing to offer is better than a trace in the shell
        return []
    return [n for n in names if n.lower().startswith(incomplete.lower())]


def attach(path: tuple[str, ...], param: Any) -> None:
    """Give `param` of the command at `path` its completion, unless it has one."""
    if getattr(param, "_custom_shell_complete", None) is not None:
        return
    if param.name in CYCLE_PARAMS:
        param._custom_shell_complete = cycle_ids
    elif (path, param.name) in DATASET_PARAMS:
        param._custom_shell_complete = dataset_names
