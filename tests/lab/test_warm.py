"""The warm lab: real operations forked from a process that imported the lab's libraries once.

Each test has its own runtime folder, so its own warm lab (the suite's shared one is
not touched), and stops what it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
from lab_helpers import strategy
from tickutil import process_gone, wait_for_operation

from agentctl.lab.executors import local, warm
from agentctl.lab.operations import cancel_operation, start_training
from agentctl.lab.strategy import validate_strategy
from agentctl.procs import alive
from agentctl.reports.doctor import doctor

pytestmark = pytest.mark.heavy

SLOW_MODEL = {"family": "mlp", "hidden_units": 256, "hidden_layers": 3, "max_epochs": 500, "early_stopping": False}
FORKED = "forked by the warm lab"
# What differs between two runs of one training: when and where it ran, and how long it took.
RUN_FIELDS = {"model_path", "duration_s", "seconds", "trial_path"}


@pytest.fixture
def folder(monkeypatch):
    """This test's own runtime folder (short: a socket's path has at most 107 bytes); its warm labs are stopped."""
    run = Path(tempfile.mkdtemp(prefix="agentctl-warm-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    yield run / "agentctl"
    for pid in _lab_pids(run / "agentctl"):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(run, ignore_errors=True)


def _lab_pids(folder: Path) -> list[int]:
    return [pid for pid in warm.pids(folder) if alive(pid)]  # a killed one may linger as a zombie


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _ready(folder: Path, timeout: float = 300.0) -> int:  # a hang guard, sized for a loaded machine
    """The pid of the warm lab once its socket listens."""
    deadline = time.monotonic() + timeout
    while not (list(folder.glob("*.sock")) and _lab_pids(folder)):
        assert time.monotonic() < deadline, "no warm lab came up"
        time.sleep(0.1)
    (pid,) = _lab_pids(folder)
    return pid


def _started(settings, folder: Path) -> int:
    """A warm lab started as the executor starts one, without an operation's cold worker beside it: its pid."""
    warm.start(local.worker_env(settings), settings.lab_warm_idle_s, folder.parent / "start.log")
    return _ready(folder)


def _train(conn, settings, **changes) -> tuple[str, dict, str]:
    report = validate_strategy(strategy(**changes))
    op_id = start_training(conn, settings, report.config, None)
    op = wait_for_operation(conn, settings, op_id, lambda o: not o.active, timeout=300)
    assert op.status == "completed", op.error
    return op_id, op.result, Path(op.log_path).read_text()


def test_the_next_operations_are_forked_warm_and_give_the_cold_workers_figures(conn, settings, folder):
    assert doctor(settings).check("warm_lab").detail.startswith("none running")
    _, cold, cold_log = _train(conn, settings)
    assert FORKED not in cold_log  # the first found no warm lab: it ran cold and started one
    lab = _ready(folder)
    assert doctor(settings).check("warm_lab").detail.startswith(f"pid {lab} forks the workers")
    op_id, forked, log = _train(conn, settings)
    assert f"worker for {op_id} {FORKED} (pid {lab})" in log and f"{op_id}: completed" in log
    assert {k: v for k, v in forked.items() if k not in RUN_FIELDS} == {
        k: v for k, v in cold.items() if k not in RUN_FIELDS
    }
    assert _ready(folder) == lab  # one warm lab serves every operation
    environ = Path(f"/proc/{lab}/environ").read_bytes()
    assert b"ANTHROPIC_" not in environ and b"AGENTCTL_" not in environ  # no key, no caller's database URL


def test_a_forked_worker_is_found_by_its_command_line_and_outlives_its_warm_lab(conn, settings, folder):
    # A heartbeat too slow to end the worker within the test: only `stop` (by command line) can.
    settings = settings.model_copy(update={"heartbeat_timeout_s": 600.0})
    lab = _started(settings, folder)
    config = validate_strategy(strategy(dataset={"symbol": "SP500", "timeframe": "1d"}, model=SLOW_MODEL)).config
    op_id = start_training(conn, settings, config, None)
    op = wait_for_operation(conn, settings, op_id, lambda o: o.status == "running" and o.pid is not None, timeout=300)
    assert FORKED in Path(op.log_path).read_text()
    argv = _cmdline(op.pid).replace(b"\0", b" ").split()
    assert argv[-3:] == [b"-m", b"agentctl.lab.worker", op_id.encode()] and local._is_worker_of(op.pid, op_id)
    assert os.getsid(op.pid) == op.pid  # it leads its own session, as a cold worker does
    # It holds nothing of the warm lab's: a held lock would outlive the warm lab and bar a new one.
    opened = [os.readlink(f"/proc/{op.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{op.pid}/fd")]
    assert not [f for f in opened if str(folder) in f], opened
    os.kill(lab, signal.SIGKILL)
    assert process_gone(lab)
    _, _, log = _train(conn, settings)  # while the forked worker runs: cold, and a new warm lab starts
    assert FORKED not in log and _ready(folder) != lab
    assert cancel_operation(conn, op_id) is True
    # Within its heartbeat interval (15 s here), so it was `stop` that ended it.
    assert process_gone(op.pid, timeout=10), "forked worker still alive after cancel"


def test_a_killed_warm_lab_means_a_cold_worker_and_a_new_warm_lab(conn, settings, folder):
    first = _started(settings, folder)
    os.kill(first, signal.SIGKILL)
    assert process_gone(first)
    _, _, log = _train(conn, settings)  # its socket is still there, but nobody answers on it
    assert FORKED not in log
    assert _ready(folder) != first


def test_an_idle_warm_lab_exits_and_none_starts_when_switched_off(conn, settings, folder):
    warm.start(local.worker_env(settings), 1.0, folder.parent / "start.log")  # as the executor starts one
    deadline = time.monotonic() + 300
    # The lock is written, with the warm lab's pid, before its imports.
    while not ((locks := list(folder.glob("*.lock"))) and locks[0].read_text().strip()):
        assert time.monotonic() < deadline, "no warm lab started"
        time.sleep(0.1)
    (lock,) = locks
    assert process_gone(int(lock.read_text()), timeout=300), "the warm lab outlived its idle time"
    assert "idle for 1s; exiting" in lock.with_suffix(".log").read_text()
    assert not list(folder.glob("*.sock"))
    off = settings.model_copy(update={"lab_warm_idle_s": 0.0})
    _, _, log = _train(conn, off)
    assert FORKED not in log and not _lab_pids(folder)
    assert doctor(off).check("warm_lab").detail.startswith("off")


def test_a_folder_others_can_enter_is_not_used(tmp_path, monkeypatch):
    run = tmp_path / "shared"
    (run / "agentctl").mkdir(parents=True, mode=0o755)
    os.chmod(run / "agentctl", 0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    assert warm.runtime_dir() is None
    assert warm.submit("op-x", tmp_path / "x.log", dict(os.environ)) is None
    os.chmod(run / "agentctl", 0o700)
    assert warm.runtime_dir() == run / "agentctl"


def test_doctor_says_a_warm_lab_is_not_used_by_another_executor(settings):
    from agentctl.reports.doctor import _check_warm_lab

    check = _check_warm_lab(settings.model_copy(update={"executor": "ray"}))
    assert check.ok and check.detail == "not used: operations run on ray"


def test_the_key_changes_with_what_a_warm_lab_fixed_at_its_start():
    env = {"PATH": "/bin"}
    assert warm.key(env) == warm.key(dict(env, AGENTCTL_HOME="/elsewhere"))  # read per operation
    assert warm.key(env) != warm.key(dict(env, OMP_NUM_THREADS="1"))
    assert warm.key(env) != warm.key(dict(env, PYTHONPATH="/other/tree"))


def test_a_warm_lab_that_cannot_start_costs_only_the_warm_start(conn, settings, folder):
    folder.mkdir(mode=0o700)
    (folder / f"{warm.key(local.worker_env(settings))}.log").mkdir()  # its log cannot be opened
    _, _, log = _train(conn, settings)
    assert FORKED not in log and not _lab_pids(folder)
    assert "no warm lab started (this operation runs cold): IsADirectoryError" in log


def test_a_socket_path_too_long_fails_before_the_imports(conn, settings, monkeypatch):
    run = Path(tempfile.mkdtemp(prefix="agentctl-warm-", dir="/tmp")) / ("x" * 90)
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    try:
        _, _, log = _train(conn, settings)
        assert FORKED not in log
        (lock,) = (run / "agentctl").glob("*.lock")
        deadline = time.monotonic() + 300
        while "too long" not in (text := lock.with_suffix(".log").read_text()):
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
        assert "ready after importing" not in text  # it failed before it imported the lab's libraries
    finally:
        shutil.rmtree(run.parent, ignore_errors=True)
