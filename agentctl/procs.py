"""Processes: whether one lives (the embedded server's postmaster, a lab worker), and how ours collect garbage."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A command or a lab worker imports its libraries first: a few hundred thousand objects that live
# until it exits. Collecting every 700 allocations (Python's default) walks that growing heap
# hundreds of times during the imports and once more at exit: about a fifth of an idle tick.
# Every 50,000: a process that runs for hours (`run`, a tick calling Claude) still collects its cycles.
COLLECT_EVERY = (50_000, 20, 20)


@contextmanager
def light_gc() -> Iterator[None]:
    """Run a process's work collecting garbage rarely, and leave what lives at the end to the exit."""
    gc.set_threshold(*COLLECT_EVERY)
    try:
        yield
    finally:
        gc.freeze()  # the exit frees everything anyway: its last collection need not walk it


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (dead, its exit not yet collected)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else (the embedded server's system user)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc to ask: it exists
