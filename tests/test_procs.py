"""`procs.alive`: the one answer to "does this process still run", for the server and the lab's workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from agentctl.procs import alive


def test_a_running_process_lives_and_a_zombie_or_reaped_one_does_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert alive(child.pid)
    finally:
        child.kill()
    deadline = time.monotonic() + 30
    while alive(child.pid):  # killed, not yet waited for: a zombie until reaped
        assert time.monotonic() < deadline, "a killed child still counts as alive"
        time.sleep(0.05)
    assert os.waitpid(child.pid, os.WNOHANG)[0] == child.pid  # it was a zombie: its exit was still there to collect
    child.returncode = -9  # reaped here: Popen must not wait for it again
    assert not alive(child.pid)


def test_our_own_process_lives():
    assert alive(os.getpid())
