"""The detached worker: `python -m agentctl.lab.worker OP_ID`.

Claims its pending operation, heartbeats from a thread, records progress, and
writes the result or the error, all through agentctl/store/operations.py.
Output goes to the operation's log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.domain import ExitCode
from agentctl.procs import light_gc

if TYPE_CHECKING:
    from agentctl.lab.models import Progress
    from agentctl.settings import Settings
    from agentctl.store.operations import Operation


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def detach(op_id: str) -> int:
    """Start the real worker in a new session and return at once (the caller reaps us)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentctl.lab.worker", op_id],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    _log(f"worker for {op_id} started as pid {proc.pid}")
    return ExitCode.OK


class _Heartbeat(threading.Thread):
    """Beats on its own connection; stops the process if the operation was cancelled or failed."""

    def __init__(self, settings: Settings, op_id: str):
        super().__init__(daemon=True)
        self.settings, self.op_id = settings, op_id
        self.interval = min(15.0, max(0.5, settings.heartbeat_timeout_s / 4))
        self.stopped = threading.Event()

    def run(self) -> None:
        from agentctl.store import connect
        from agentctl.store import operations as store

        conn = connect(self.settings, autocommit=True)
        try:
            while not self.stopped.wait(self.interval):
                if not store.heartbeat(conn, self.op_id):
                    _log(f"{self.op_id} is no longer running (cancelled or failed elsewhere); exiting")
                    os._exit(ExitCode.OK)
        except Exception as exc:
            _log(f"heartbeat stopped: {type(exc).__name__}: {exc}")
        finally:
            conn.close()


def _record_node(settings: Settings, op: Operation) -> None:
    """Where this worker runs, when its executor can say (a Ray node); the work goes on without it."""
    from agentctl.lab import executors
    from agentctl.store import connect
    from agentctl.store import operations as store

    try:
        node = executors.for_operation(op).node_of(op)
        if node:
            with connect(settings, autocommit=True) as conn:
                store.set_node(conn, op.id, node)
            _log(f"{op.id}: running on node {node}")
    except Exception as exc:
        _log(f"{op.id}: could not record this worker's node: {type(exc).__name__}: {exc}")


def run(op_id: str) -> int:
    """Run one operation to completion or failure."""
    from agentctl.settings import Settings
    from agentctl.store import connect
    from agentctl.store import operations as store

    settings = Settings()
    conn = connect(settings, autocommit=True)
    op = store.claim(conn, op_id, os.getpid(), socket.gethostname())
    if op is None:
        _log(f"{op_id}: not pending (cancelled or already claimed); nothing to do")
        return ExitCode.OK
    _log(f"{op_id}: running {op.kind} as pid {os.getpid()}")
    beat = _Heartbeat(settings, op_id)
    beat.start()
    # Asking Ray takes seconds (it imports ray): beside the work, not before it.
    where = threading.Thread(target=_record_node, args=(settings, op), daemon=True)
    where.start()

    last = [0.0]

    def progress(pct: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and pct < 100:
            return  # at most two progress writes a second
        last[0] = now
        store.set_progress(conn, op_id, pct, message)

    try:
        result = _execute(op.kind, op.params, settings, progress)
    except Exception as exc:
        from agentctl.lab.data import DatasetError
        from agentctl.lab.features import LabError

        reason = str(exc) if isinstance(exc, (LabError, DatasetError)) else f"{type(exc).__name__}: {exc}"
        _log(f"{op_id}: failed: {reason}\n{traceback.format_exc()}")
        store.fail(conn, op_id, reason)
        return ExitCode.NEEDS_PERSON
    finally:
        beat.stopped.set()
        where.join(timeout=30)  # the row says where it ran before it says how it ended
    done = store.complete(conn, op_id, result)
    _log(f"{op_id}: {'completed' if done else 'finished, but was no longer running (cancelled?)'}")
    conn.close()
    return ExitCode.OK


def _execute(kind: str, params: dict[str, Any], settings: Settings, progress: Progress) -> dict[str, Any]:
    from agentctl.lab.features import LabError
    from agentctl.lab.strategy import validate_strategy

    # The same validator as the agent's tools: a config must still be valid at run time.
    report = validate_strategy(params.get("config"), settings.home)
    if report.config is None:
        raise LabError("invalid strategy config: " + "; ".join(report.errors))
    config = report.config
    if kind == "training":
        from agentctl.lab.training import DEFAULT_FOLDS, train

        folds = int(params.get("folds", DEFAULT_FOLDS))
        return train(config, settings.home, _model_path(params), progress, folds).model_dump(mode="json")
    if kind == "backtest":
        from agentctl.lab.backtest import run_backtest

        progress(10, "backtesting the out-of-fold predictions")
        trials = [float(s) for s in params.get("trial_sharpes") or []]
        paths = [str(p) for p in params.get("trial_paths") or []]
        n_trials = int(params.get("n_trials", 1))
        result = run_backtest(config, _model_path(params), settings.home, n_trials, trials, paths)
        progress(100, "done")
        return result.model_dump(mode="json")
    if kind == "holdout":
        from agentctl.lab.holdout import run_holdout

        return run_holdout(config, settings.home, progress).model_dump(mode="json")
    raise LabError(f"unknown operation kind {kind!r}")


def _model_path(params: dict[str, Any]) -> Path | str:
    from agentctl.lab.artifacts import is_url

    location = params["model_path"]
    return location if is_url(location) else Path(location)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--detach":
        return detach(args[1])
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m agentctl.lab.worker [--detach] OP_ID", file=sys.stderr)
        return ExitCode.USAGE
    return run(args[0])


if __name__ == "__main__":
    with light_gc():
        sys.exit(main())
