"""A hold that needs a person, seen the way the person sees it: `status` and `doctor` from the shell.

Credit that has run out is no fault a retry can fix: the tick stops asking the API and every
screen a researcher looks at says why and what to run. Here through the real CLI in a
subprocess, against the fake Messages API, as cron and a terminal would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys

from agent_helpers import SENTINEL_KEY
from fake_anthropic import credit_exhausted, fake_anthropic
from reports.test_every_command_80_columns import terminal

from agentctl.domain import ExitCode

__all__ = ["fake_anthropic"]  # the fixture, imported for pytest


def agentctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentctl", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_status_and_doctor_say_a_person_is_needed_until_resume(settings, fake_anthropic):
    env = dict(os.environ)
    env.update(
        AGENTCTL_AGENT="claude",
        ANTHROPIC_API_KEY=SENTINEL_KEY,
        AGENTCTL_ANTHROPIC_BASE_URL=fake_anthropic.url,
        AGENTCTL_API_CALL_TIMEOUT_S="60",
        NO_COLOR="1",
        COLUMNS="80",
    )
    fake_anthropic.enqueue(credit_exhausted())
    tick = agentctl("tick", env=env)
    assert tick.returncode == ExitCode.NEEDS_PERSON, tick.stderr
    # The attempt's log line, then the one-line error that names the fix: no traceback.
    assert "Traceback" not in tick.stderr and "add credit" in tick.stderr.strip().splitlines()[-1]

    status = agentctl("status", env=env)  # a pipe gets each line whole, for scripts
    assert status.returncode == 0, status.stderr
    head = status.stdout.splitlines()[0]
    assert "needs a person" in head and "credit" in head and "agentctl resume" in head
    code, screen = terminal(["status"], env)  # a terminal gets it wrapped at 80 columns
    assert code == 0 and "needs a person" in screen[0]
    assert max(len(line) for line in screen) <= 80

    doctor = agentctl("doctor", env=env)
    assert doctor.returncode != 0
    [admission] = [line for line in doctor.stdout.splitlines() if "admission" in line]
    assert "needs a person" in admission
    assert "agentctl resume" in doctor.stdout

    assert agentctl("resume", env=env).returncode == 0
    assert "needs a person" not in agentctl("status", env=env).stdout
    after = agentctl("doctor", env=env).stdout
    assert "needs a person" not in after
    assert len(fake_anthropic.message_requests) == 1  # nothing after the credit ran out asked the API again
