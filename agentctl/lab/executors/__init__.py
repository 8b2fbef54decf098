"""Where lab operations run, chosen by AGENTCTL_EXECUTOR.

`local`: a detached worker process on this machine. `ray`: a Ray job on a
cluster, through the Ray Jobs API. Both run `python -m agentctl.lab.worker OP_ID`,
which writes state to PostgreSQL; an executor only launches, watches and stops
it. Executors are imported on demand, so polling a local operation never imports
ray.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agentctl.domain import Gate
    from agentctl.settings import Settings
    from agentctl.store.operations import Operation


class Executor(Protocol):
    """Launches, watches and stops the worker of an operation; the worker itself records its state."""

    def extra_params(self, settings: Settings) -> dict[str, Any]:
        """What the operation's params must carry for a later poll or cancel to reach its worker."""
        ...

    def log_path(self, settings: Settings, op_id: str) -> str:
        """Where the worker's output goes, as shown to a person."""
        ...

    def submit(self, settings: Settings, op_id: str, kind: Gate, log_path: str) -> str | None:
        """Start the worker of a recorded operation; the reason it could not be started, or None."""
        ...

    def failure_reason(self, op: Operation, settings: Settings) -> str | None:
        """Why an operation the database calls active has in fact failed (dead, silent), or None."""
        ...

    def stop(self, op: Operation) -> None:
        """Stop the worker if it still runs (it also exits at its next heartbeat)."""
        ...

    def node_of(self, op: Operation) -> str | None:
        """The cluster node the operation's worker runs on (asked by the worker itself), or None."""
        ...

    def unavailable(self, settings: Settings) -> str | None:
        """Why no operation can be started now (a cluster that does not answer), or None."""
        ...


def _local() -> Executor:
    from agentctl.lab.executors.local import LocalExecutor

    return LocalExecutor()


def _ray() -> Executor:
    from agentctl.lab.executors.ray import RayExecutor

    return RayExecutor()


EXECUTORS: dict[str, Callable[[], Executor]] = {"local": _local, "ray": _ray}


def get(name: str) -> Executor:
    """The executor called `name`."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}: use one of {', '.join(EXECUTORS)}")
    return EXECUTORS[name]()


def for_operation(op: Operation) -> Executor:
    """The executor that started a recorded operation (operations from before executors count as local)."""
    name = op.params.get("executor", "local")
    return get(name if isinstance(name, str) else "local")


def silence_reason(op: Operation, settings: Settings) -> str | None:
    """A worker that never started, or stopped heartbeating, for longer than the heartbeat timeout."""
    if op.silent_s > settings.heartbeat_timeout_s:
        what = "never started" if op.status == "pending" else f"sent no heartbeat for {op.silent_s:.0f}s"
        return f"{worker_name(op)} {what} (limit {settings.heartbeat_timeout_s:.0f}s; see {op.log_path})"
    return None


def worker_name(op: Operation) -> str:
    """The worker as a person can find it: its pid, host and (on Ray) node."""
    if op.pid is None:
        return "worker"
    node = f", ray node {op.node_id}" if op.node_id else ""
    return f"worker (pid {op.pid} on {op.host}{node})"
