"""Write a benchmark's markdown into BENCHMARKS.md under `## Lab`, replacing its own subsection."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}; "
        f"1-min load average {load:.1f} when the run ended (other work shares these cores, so figures are noisy)"
    )


def write_subsection(title: str, body: str) -> None:
    """Replace (or append) `### title` inside `## Lab`, creating either if missing."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    if not re.search(r"^## Lab\s*$", text, re.MULTILINE):
        text = text.rstrip("\n") + "\n\n## Lab\n"
    start = re.search(r"^## Lab\s*$", text, re.MULTILINE).end()
    nxt = re.search(r"^## ", text[start:], re.MULTILINE)
    end = start + nxt.start() if nxt else len(text)
    lab = text[start:end]
    block = f"### {title}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^### {re.escape(title)}\s*$.*?(?=^### |\Z)", re.MULTILINE | re.DOTALL)
    lab = pattern.sub(lambda _: block, lab) if pattern.search(lab) else lab.rstrip("\n") + "\n\n" + block
    BENCHMARKS.write_text(text[:start] + "\n" + lab.strip("\n") + "\n" + ("\n" + text[end:] if text[end:] else ""))
