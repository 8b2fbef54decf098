"""A Ray cluster of several nodes on this machine, in a child process, and the Ray tests' fixtures.

`python ray_cluster.py TEMP_DIR PORT` starts a head node with Ray's own
`ray.cluster_utils.Cluster` (each node its own raylet, as on separate machines)
and prints the Jobs API address. It then reads one command a line on stdin:
`add RESOURCE` starts a node that has one unit of the custom resource RESOURCE
and prints its node id; `kill NODE_ID` SIGKILLs that node's Ray processes (a
lost machine) and prints `killed`. When stdin closes it shuts down exactly what
it started (not `ray stop`, which would end every Ray process on the machine).

The tests' fixtures are here too, imported by name: a conftest.py in this
folder would shadow tests/conftest.py, whose helpers other tests import as
`conftest` (and an __init__.py would make this folder shadow the `ray` package).
Jobs that ask for no custom resource run on the head (two CPUs); with
AGENTCTL_RAY_RESOURCES='{"lab": 1}' they must run on the second node, which
holds the one `lab` unit. A test that kills a node adds its own.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HEAD_CPUS = 2  # the jobs that ask for no custom resource run here, two at a time
REPLY = "ray-cluster> "  # marks the process's answers among whatever Ray itself prints


def main(temp_dir: str, port: int) -> None:
    from ray.cluster_utils import Cluster

    os.makedirs(os.path.join(temp_dir, "ray"), exist_ok=True)  # RAY_TMPDIR: where Ray notes the cluster's address
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": HEAD_CPUS,
            "include_dashboard": True,
            "dashboard_host": "127.0.0.1",
            "dashboard_port": port,
            "dashboard_agent_listen_port": free_port(),  # not Ray's fixed default, which every node would want
            "temp_dir": temp_dir,
        },
    )
    nodes = {}
    print(f"{REPLY}http://127.0.0.1:{port}", flush=True)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "add":
            node = cluster.add_node(
                num_cpus=1, resources={arg: 1}, temp_dir=temp_dir, dashboard_agent_listen_port=free_port()
            )
            nodes[node.node_id] = node
            print(f"{REPLY}{node.node_id}", flush=True)
        elif command == "kill":
            cluster.remove_node(nodes.pop(arg), allow_graceful=False)
            print(f"{REPLY}killed", flush=True)
    cluster.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RayCluster:
    """The cluster process; `address` is its Jobs API (dashboard) URL."""

    lab_node: str = ""  # the node holding the `lab` resource, once added

    def __init__(self, temp_dir: str, timeout_s: float = 180):
        # Token auth off: a throwaway test cluster (its Jobs API on 127.0.0.1); Ray would write ~/.ray/auth_token.
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", RAY_TMPDIR=temp_dir)
        for key in [k for k in env if "ANTHROPIC" in k]:
            del env[key]  # Ray's logs keep its processes' environment: no API key goes there
        # Job entrypoints run `python`: it must be this environment's, as on a real cluster's nodes.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, temp_dir, str(free_port())],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.address = self._reply()
        if not self.address.startswith("http"):
            self.stop()
            raise RuntimeError(f"the Ray cluster did not start (exit {self.proc.returncode})")
        self._wait_for_jobs_api(timeout_s)
        self.startup_s = time.monotonic() - started

    def _reply(self) -> str:
        """The process's next answer ('' once it has exited)."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(REPLY):
                return line[len(REPLY) :].strip()
        return ""

    def _command(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self._reply()
        assert reply, f"the Ray cluster process gave no answer to {line!r} (exit {self.proc.poll()})"
        return reply

    def add_node(self, resource: str) -> str:
        """Start a node holding one unit of `resource`; its node id."""
        return self._command(f"add {resource}")

    def kill_node(self, node_id: str) -> None:
        """SIGKILL the node's raylet and the rest of its Ray processes, as if its machine had died."""
        assert self._command(f"kill {node_id}") == "killed"

    def _wait_for_jobs_api(self, timeout_s: float) -> None:
        """Until a trivial job has run: the head's job agent comes up a few seconds after the dashboard."""
        from ray.job_submission import JobSubmissionClient

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                client = JobSubmissionClient(self.address)
                job_status(client, client.submit_job(entrypoint="true"), {"SUCCEEDED"}, timeout_s)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def job_status(jobs, job_id: str, wanted: set[str], timeout: float = 60.0) -> str:
    """Wait until Ray reports the job in one of `wanted` (the worker records its result before it exits)."""
    deadline = time.monotonic() + timeout
    while (status := str(jobs.get_job_status(job_id).value)) not in wanted:
        assert time.monotonic() < deadline, f"ray job {job_id} still {status}"
        time.sleep(0.2)
    return status


_SHARED: dict[str, RayCluster] = {}


@pytest.fixture(scope="session")
def ray_cluster(request) -> RayCluster:
    """One cluster for the whole session (~10-30 s to start), with a `lab` node added."""
    pytest.importorskip("ray.job_submission", reason="the ray executor's tests need: pip install -e '.[ray]'")
    if "cluster" not in _SHARED:
        # A short path: Ray's Unix sockets live under it (107-character limit).
        temp_dir = tempfile.mkdtemp(prefix="agentctl-ray-", dir="/tmp")
        request.config.add_cleanup(lambda: shutil.rmtree(temp_dir, ignore_errors=True))
        cluster = RayCluster(temp_dir)
        request.config.add_cleanup(cluster.stop)  # cleanups run last first: stop, then remove
        cluster.lab_node = cluster.add_node("lab")
        _SHARED["cluster"] = cluster
    return _SHARED["cluster"]


@pytest.fixture
def ray_env(ray_cluster, tmp_path, monkeypatch) -> dict[str, str]:
    """AGENTCTL_EXECUTOR=ray against the session's cluster, models in a 'shared' directory; also exported."""
    env = {
        "AGENTCTL_EXECUTOR": "ray",
        "AGENTCTL_RAY_ADDRESS": ray_cluster.address,
        "AGENTCTL_ARTIFACT_DIR": str(tmp_path / "shared" / "models"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def lab_env(ray_env, monkeypatch) -> dict[str, str]:
    """ray_env, with every operation asking for the `lab` resource: only the second node may run it."""
    env = {**ray_env, "AGENTCTL_RAY_RESOURCES": json.dumps({"lab": 1})}
    monkeypatch.setenv("AGENTCTL_RAY_RESOURCES", env["AGENTCTL_RAY_RESOURCES"])
    return env


@pytest.fixture
def ray_settings(settings, ray_env):
    """The test's settings (fresh database and home) with the ray executor."""
    from agentctl.settings import Settings

    return Settings()


@pytest.fixture
def jobs(ray_cluster):
    """A Jobs API client on the session's cluster."""
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(ray_cluster.address)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
