"""A one-node Ray cluster on 127.0.0.1 for the tests and the benchmark, and the tests' fixtures.

Imported by name (a conftest.py here would shadow tests/conftest.py). The
cluster runs in a child process, `python ray_cluster.py TEMP_DIR PORT`, which
prints the Jobs API address once the cluster is up, holds it until its stdin
closes, then shuts down exactly what it started (not `ray stop`, which would end
every Ray process on the machine).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest


def main(temp_dir: str, port: int) -> None:
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=True,
        dashboard_host="127.0.0.1",
        dashboard_port=port,
        _node_ip_address="127.0.0.1",
        _temp_dir=temp_dir,
        configure_logging=False,
        log_to_driver=False,
    )
    print(f"http://127.0.0.1:{port}", flush=True)
    sys.stdin.read()
    ray.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The cluster process; `address` is its Jobs API (dashboard) URL."""

    def __init__(self, temp_dir: str, timeout_s: float = 120):
        # Token auth off: the cluster listens on 127.0.0.1 only, and ray.init would otherwise write ~/.ray/auth_token.
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
        # Job entrypoints run `python`: it must be this environment's, as on a real cluster's nodes.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, temp_dir, str(free_port())],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        self.address = self.proc.stdout.readline().strip()
        if not self.address.startswith("http"):
            self.stop()
            raise RuntimeError(f"the Ray cluster did not start (exit {self.proc.returncode})")
        self.startup_s = time.monotonic() - started
        self._wait_for_jobs_api(timeout_s)

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
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


_SHARED: dict[str, Cluster] = {}


@pytest.fixture(scope="session")
def ray_cluster(request):
    """One cluster for the whole session (~10 s to start), shared by every module importing this fixture."""
    pytest.importorskip("ray.job_submission", reason="the ray executor's tests need: pip install -e '.[ray]'")
    if "cluster" not in _SHARED:
        # A short path: Ray's Unix sockets live under it (107-character limit).
        temp_dir = tempfile.mkdtemp(prefix="agentctl-ray-", dir="/tmp")
        _SHARED["cluster"] = Cluster(temp_dir)
        request.config.add_cleanup(lambda: shutil.rmtree(temp_dir, ignore_errors=True))
        request.config.add_cleanup(_SHARED["cluster"].stop)  # cleanups run last first: stop, then remove
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
def ray_settings(settings, ray_env):
    """The test's settings (fresh database and home) with the ray executor."""
    from agentctl.settings import Settings

    return Settings()


@pytest.fixture
def jobs(ray_cluster):
    """A Jobs API client on the session's cluster."""
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(ray_cluster.address)


def job_status(jobs, job_id: str, wanted: set[str], timeout: float = 60.0) -> str:
    """Wait until Ray reports the job in one of `wanted` (the worker records its result before it exits)."""
    deadline = time.monotonic() + timeout
    while (status := str(jobs.get_job_status(job_id).value)) not in wanted:
        assert time.monotonic() < deadline, f"ray job {job_id} still {status}"
        time.sleep(0.2)
    return status


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
