"""A real pseudo-terminal in front of a real process: what a user at an 80-column terminal sees."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

HANG_GUARD_S = 600  # a command at load 10 takes seconds; this only stops a hung test


def on_terminal(argv: list[str], env: dict[str, str], columns: int = 80, *, stderr_too: bool = True) -> tuple[int, str]:
    """(exit code, everything the process wrote to a columns x 50 terminal), its stderr there too unless not wanted.

    Our end of the follower stays open until the process is gone: once every follower is
    closed, Linux may fail the leader's read with EIO before the last output was read.
    """
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    err = follower if stderr_too else subprocess.DEVNULL
    proc = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=err, env=env)
    chunks = []
    deadline = time.monotonic() + HANG_GUARD_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                chunks.append(os.read(leader, 65536))
            elif proc.poll() is not None:
                break  # gone, and all it wrote is read
        else:
            proc.kill()
            raise AssertionError(f"{argv} still running after {HANG_GUARD_S}s")
    finally:
        os.close(follower)
        os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
