"""The `local` executor: a detached worker process on this machine.

The warm lab (warm.py) forks the worker when one answers. Otherwise
`python -m agentctl.lab.worker --detach OP_ID` re-spawns the real worker in its
own session and exits: the worker is reparented away from the caller (no
zombie, survives the caller) and claims its row itself. A dead pid on this host,
or a silent heartbeat, fails the operation.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.lab.executors import silence_reason
from agentctl.procs import alive

if TYPE_CHECKING:
    from agentctl.domain import Gate
    from agentctl.settings import Settings
    from agentctl.store.operations import Operation


class LocalExecutor:
    """A detached worker process on this machine."""

    def extra_params(self, settings: Settings) -> dict[str, Any]:
        return {}  # rows without "executor" are local: the same params as before executors existed

    def log_path(self, settings: Settings, op_id: str) -> str:
        path = Path(settings.home) / "logs" / "operations" / f"{op_id}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)

    def submit(self, settings: Settings, op_id: str, kind: Gate, log_path: str) -> str | None:
        """Fork the worker from the warm lab, else spawn it cold; a launch failure raises."""
        from agentctl.lab.executors import warm  # here, not above: a polling tick only watches workers

        env = worker_env(settings)
        if settings.lab_warm_idle_s > 0 and warm.submit(op_id, Path(log_path), env) is not None:
            return None
        _spawn(op_id, Path(log_path), env)
        if settings.lab_warm_idle_s > 0:
            warm.start(env, settings.lab_warm_idle_s, Path(log_path))  # for the next one: this one did not wait
        return None

    def failure_reason(self, op: Operation, settings: Settings) -> str | None:
        if op.pid and op.host == socket.gethostname() and not alive(op.pid):
            return f"worker process {op.pid} died without reporting (see {op.log_path})"
        return silence_reason(op, settings)

    def stop(self, op: Operation) -> None:
        # Workers on another host notice the status change at their next heartbeat and exit.
        if not op.pid or op.host != socket.gethostname() or not _is_worker_of(op.pid, op.id):
            return
        try:
            os.killpg(op.pid, signal.SIGTERM)  # the worker leads its own process group (its helpers too)
        except (ProcessLookupError, PermissionError):
            pass

    def node_of(self, op: Operation) -> str | None:
        return None  # the row's host says where

    def unavailable(self, settings: Settings) -> str | None:
        return None  # this machine is always there


def worker_env(settings: Settings) -> dict[str, str]:
    """The caller's environment, pinned to the caller's database and home, without the API key."""
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "AGENTCTL_ANTHROPIC_API_KEY")}
    env["AGENTCTL_HOME"] = str(settings.home)
    env["AGENTCTL_HEARTBEAT_TIMEOUT_S"] = str(settings.heartbeat_timeout_s)
    if settings.database_url:
        env["AGENTCTL_DATABASE_URL"] = settings.database_url
    return env


def _spawn(op_id: str, log_path: Path, env: dict[str, str]) -> None:
    """Launch the detached worker; the short-lived launcher is waited for, so nothing is left to reap."""
    with open(log_path, "ab") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "agentctl.lab.worker", "--detach", op_id],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    launcher.wait(timeout=60)


def _is_worker_of(pid: int, op_id: str) -> bool:
    """Whether `pid` still runs this operation's worker: a dead worker's pid may be reused by anything."""
    try:
        # A worker forked by the warm lab sets its command line as one string: split on spaces too.
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    except OSError:
        return False
    return b"agentctl.lab.worker" in argv and op_id.encode() in argv
