"""`agentctl` from any shell: `make install` links it onto PATH, cron's line still names the venv's by its
absolute path, and the README's first section ends saying so (a new user never meets `command not found`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_AGENTCTL = Path(sys.executable).parent / "agentctl"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is how the README installs it")
def test_make_install_puts_agentctl_on_path_and_cron_names_the_venv(tmp_path):
    if VENV_AGENTCTL.parent.parent != REPO / ".venv":
        pytest.skip("the suite runs from another environment than the clone's .venv")
    prefix = tmp_path / "prefix"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    p = subprocess.run(["make", "-s", "install", f"PREFIX={prefix}"], cwd=REPO, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    link = prefix / "bin" / "agentctl"
    assert link.resolve() == VENV_AGENTCTL.resolve()
    assert f"{prefix}/bin is not on your PATH" in p.stdout  # it says how to add it
    assert "agentctl cron --install" in p.stdout and "--install-completion" in p.stdout

    # A shell that has the prefix on PATH finds it by its bare name, from anywhere.
    shell = {**os.environ, "PATH": f"{prefix}/bin:/usr/bin:/bin", "AGENTCTL_HOME": str(tmp_path / "h")}
    shell["AGENTCTL_CONFIG"] = os.devnull
    v = subprocess.run(["agentctl", "--version"], cwd=tmp_path, env=shell, capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("agentctl "), v.stderr
    cron = subprocess.run(["agentctl", "cron"], cwd=tmp_path, env=shell, capture_output=True, text=True)
    assert cron.returncode == 0, cron.stderr
    (line,) = [x for x in cron.stdout.splitlines() if not x.startswith("#")]
    assert f" {VENV_AGENTCTL} tick >> " in line and str(link) not in line  # absolute, not via ~/.local/bin


def test_the_readme_first_section_ends_with_agentctl_from_any_shell():
    text = (REPO / "README.md").read_text()
    first = text.split("\n## ", 2)[1]  # the first section, its subsections included
    last = first.split("\n### ")[-1]
    assert last.startswith("`agentctl` from any shell")
    for command in ("make install", "agentctl cron --install", "agentctl --install-completion"):
        assert command in last
    # From there on, no hint sends anyone to write the crontab line by hand first.
    assert not re.search(r"see crontab\.example", text)


@pytest.mark.skipif(shutil.which("make") is None, reason="the Makefile's pip line is what is tested")
def test_the_makefiles_quiet_install_prints_no_setuptools_warning_box(tmp_path):
    if VENV_AGENTCTL.parent.parent != REPO / ".venv":
        pytest.skip("the suite runs from another environment than the clone's .venv")
    show = subprocess.run(
        ["make", "-s", "--eval=show-pip: ; @echo '$(PIP)'", "show-pip"], cwd=REPO, capture_output=True, text=True
    )
    pip = show.stdout.strip()
    assert "--quiet" in pip, show.stderr
    # The same install `make run` does (the package only: its dependencies are already there), into a
    # prefix of its own: reinstalling into the suite's venv rewrote bin/agentctl while other tests ran it.
    into = f"--no-deps --ignore-installed --prefix {tmp_path / 'prefix'}"
    p = subprocess.run(f"{pip} {into} -e .", shell=True, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "*****" not in p.stderr and "Editable installation" not in p.stderr, p.stderr
