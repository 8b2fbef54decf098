"""The detached worker: `python -m agentctl.lab.worker OP_ID`.

Claims its pending operation, heartbeats from a thread, records progress, and
writes the result or the error. Holds no SQL of its own beyond the named
statements in agentctl/store/sql/operations.sql. Output goes to the operation's log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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
    return EXIT_OK


class _Heartbeat(threading.Thread):
    """Beats on its own connection; stops the process if the operation was cancelled or failed."""

    def __init__(self, settings, op_id: str):
        super().__init__(daemon=True)
        self.settings, self.op_id = settings, op_id
        self.interval = min(15.0, max(0.5, settings.heartbeat_timeout_s / 4))
        self.stopped = threading.Event()

    def run(self) -> None:
        from agentctl.store import connect
        from agentctl.store.queries import load

        conn = connect(self.settings, autocommit=True)
        try:
            while not self.stopped.wait(self.interval):
                if conn.execute(load("operations")["heartbeat"], {"id": self.op_id}).fetchone() is None:
                    _log(f"{self.op_id} is no longer running (cancelled or failed elsewhere); exiting")
                    os._exit(EXIT_OK)
        except Exception as exc:
            _log(f"heartbeat stopped: {type(exc).__name__}: {exc}")
        finally:
            conn.close()


def run(op_id: str) -> int:
    """Run one operation to completion or failure."""
    from agentctl.settings import Settings
    from agentctl.store import connect
    from agentctl.store.queries import load

    settings = Settings()
    q = load("operations")
    conn = connect(settings, autocommit=True)
    row = conn.execute(q["claim_operation"], {"id": op_id, "pid": os.getpid(), "host": socket.gethostname()}).fetchone()
    if row is None:
        _log(f"{op_id}: not pending (cancelled or already claimed); nothing to do")
        return EXIT_OK
    _log(f"{op_id}: running {row['kind']} as pid {os.getpid()}")
    beat = _Heartbeat(settings, op_id)
    beat.start()

    last = [0.0]

    def progress(pct: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and pct < 100:
            return  # at most two progress writes a second
        last[0] = now
        conn.execute(q["set_progress"], {"id": op_id, "pct": max(0.0, min(100.0, pct)), "message": message[:200]})

    try:
        result = _execute(row["kind"], row["params"], settings, progress)
    except Exception as exc:
        from agentctl.lab.data import DatasetError
        from agentctl.lab.features import LabError

        reason = str(exc) if isinstance(exc, (LabError, DatasetError)) else f"{type(exc).__name__}: {exc}"
        _log(f"{op_id}: failed: {reason}\n{traceback.format_exc()}")
        conn.execute(q["fail_operation"], {"id": op_id, "error": reason[:2000]})
        return EXIT_FAILED
    finally:
        beat.stopped.set()
    done = conn.execute(q["complete_operation"], {"id": op_id, "result": json.dumps(result)}).fetchone()
    _log(f"{op_id}: {'completed' if done else 'finished, but was no longer running (cancelled?)'}")
    conn.close()
    return EXIT_OK


def _execute(kind: str, params: dict, settings, progress) -> dict:
    from pathlib import Path

    from agentctl.lab.features import LabError
    from agentctl.lab.strategy import validate_strategy

    # The same validator as the agent's tools: a config must still be valid at run time.
    report = validate_strategy(params.get("config"), settings.home)
    if not report.ok:
        raise LabError("invalid strategy config: " + "; ".join(report.errors))
    from agentctl.lab.artifacts import is_url

    model_path = params["model_path"] if is_url(params["model_path"]) else Path(params["model_path"])
    if kind == "training":
        from agentctl.lab.training import train

        return train(report.config, settings.home, model_path, progress).model_dump(mode="json")
    if kind == "backtest":
        from agentctl.lab.backtest import run_backtest

        progress(10, "backtesting on the holdout")
        result = run_backtest(report.config, model_path, settings.home, int(params.get("n_trials", 1)))
        progress(100, "done")
        return result.model_dump(mode="json")
    raise LabError(f"unknown operation kind {kind!r}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--detach":
        return detach(args[1])
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m agentctl.lab.worker [--detach] OP_ID", file=sys.stderr)
        return EXIT_USAGE
    return run(args[0])


if __name__ == "__main__":
    sys.exit(main())
