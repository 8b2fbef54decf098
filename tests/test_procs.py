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


def _in_a_process(code: str, **env: str) -> str:
    """What a fresh interpreter prints running `code` (its collector's settings are its own)."""
    base = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", code], env=base | env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_light_gc_process_collects_rarely_and_leaves_what_lives_to_the_exit():
    code = (
        "import gc\n"
        "from agentctl.procs import COLLECT_EVERY, light_gc\n"
        "default = gc.get_threshold()\n"
        "with light_gc():\n"
        "    inside = gc.get_threshold()\n"
        "    assert gc.get_freeze_count() == 0\n"
        "print(default != COLLECT_EVERY, inside == COLLECT_EVERY, gc.get_freeze_count() > 0, gc.isenabled())\n"
    )
    assert _in_a_process(code) == "True True True True"  # Python's default (700 on 3.11) is not ours


def test_commands_run_without_pydantic_plugins_unless_the_user_says_otherwise():
    code = (
        "import os, sys\n"
        "sys.argv = ['agentctl', '--version']\n"
        "from agentctl.cli.entry import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS')))\n"
    )
    assert _in_a_process(code).splitlines()[-1] == "'__all__'"
    assert _in_a_process(code, PYDANTIC_DISABLE_PLUGINS="").splitlines()[-1] == "''"
