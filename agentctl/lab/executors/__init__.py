"""Where lab operations run, chosen by AGENTCTL_EXECUTOR.

`local`: a detached worker process on this machine. `ray`: a Ray job on a
cluster, through the Ray Jobs API. Both run `python -m agentctl.lab.worker OP_ID`,
which writes state to PostgreSQL; an executor only launches, watches and stops
it. Each executor module has the same functions: extra_params, log_path, submit,
failure_reason, stop. Modules are imported on demand, so polling a local
operation never imports ray.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = ("local", "ray")


def get(name: str) -> ModuleType:
    """The executor module called `name`."""
    if name not in NAMES:
        raise ValueError(f"unknown executor {name!r}: use one of {', '.join(NAMES)}")
    return importlib.import_module(f"agentctl.lab.executors.{name}")


def for_row(row: dict) -> ModuleType:
    """The executor that started a recorded operation (rows from before executors count as local)."""
    params = row.get("params") or {}
    return get(params.get("executor", "local") if isinstance(params, dict) else "local")


def silence_reason(row: dict, settings) -> str | None:
    """A worker that never started, or stopped heartbeating, for longer than the heartbeat timeout."""
    silent = float(row["silent_s"])
    if silent > settings.heartbeat_timeout_s:
        what = "never started" if row["status"] == "pending" else f"sent no heartbeat for {silent:.0f}s"
        return f"worker {what} (limit {settings.heartbeat_timeout_s:.0f}s; see {row['log_path']})"
    return None
