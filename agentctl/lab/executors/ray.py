"""The `ray` executor: each operation is a Ray job, submitted through the Ray Jobs API.

The job's submission id is the operation id and its entrypoint is the same
worker as the local executor's (`python -m agentctl.lab.worker OP_ID`), which
writes progress and results to PostgreSQL: the database stays the single
source of truth, and Ray is asked only whether the job still lives. ray is
imported inside the functions that talk to the cluster (it takes ~2 s).
"""

from __future__ import annotations

import logging
import shlex
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from agentctl.lab.executors import silence_reason, worker_name

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

    from agentctl.domain import Gate
    from agentctl.settings import Settings
    from agentctl.store.operations import Operation

# Settings the worker reads; everything else (the API key above all) stays here.
_FORWARDED = ("home", "timezone", "heartbeat_timeout_s")
_MAX_ERROR = 2000
_SUBMIT_ATTEMPTS = 5

log = logging.getLogger("agentctl.lab")


class RayExecutor:
    """Each operation a Ray job whose submission id is the operation id."""

    def extra_params(self, settings: Settings) -> dict[str, Any]:
        # The address goes with the operation, so polling and cancelling reach the cluster that runs it.
        return {"executor": "ray", "ray_address": settings.ray_address}

    def log_path(self, settings: Settings, op_id: str) -> str:
        return f"`ray job logs {op_id}`"  # the job's output lives in Ray, not on this machine

    def submit(self, settings: Settings, op_id: str, kind: Gate, log_path: str) -> str | None:
        """Submit the job; on failure return the reason (the operation fails with it, the tick goes on)."""
        for attempt in range(_SUBMIT_ATTEMPTS):
            try:
                _client(settings.ray_address).submit_job(
                    entrypoint=f"python -m agentctl.lab.worker {shlex.quote(op_id)}",
                    submission_id=op_id,
                    runtime_env={"env_vars": worker_env(settings)},
                    # One CPU each, on a node with the custom resources asked for (AGENTCTL_RAY_RESOURCES);
                    # Ray queues the job until one is free.
                    entrypoint_num_cpus=1,
                    entrypoint_resources=dict(settings.ray_resources) or None,
                    metadata={"agentctl_kind": kind},
                )
                return None
            except Exception as exc:
                if attempt and "already exists" in str(exc):
                    return None  # an earlier attempt got through after all
                if "try again later" in str(exc) and attempt + 1 < _SUBMIT_ATTEMPTS:
                    time.sleep(1.0)  # a head node still starting its job agent
                    continue
                where = _where(settings.ray_address)
                return _clip(f"could not submit ray job {op_id} to {where}: {type(exc).__name__}: {exc}")
        return None

    def failure_reason(self, op: Operation, settings: Settings) -> str | None:
        """Ray's word on a job the database still calls active; a silent heartbeat if Ray cannot be asked."""
        address = op.params.get("ray_address")
        try:
            info = _client(address).get_job_info(op.id)
        except Exception as exc:
            if _is_unknown_job(exc):
                return _clip(f"ray job {op.id} is unknown to the cluster at {_where(address)}: {exc}")
            return silence_reason(op, settings)  # cluster unreachable: the heartbeat decides
        status = str(getattr(info.status, "value", info.status))
        if status in ("FAILED", "STOPPED"):
            return _clip(f"ray job {op.id} {status} ({worker_name(op)}): {info.message or 'no message'}")
        if status == "SUCCEEDED":
            return f"ray job {op.id} SUCCEEDED but its worker never recorded a result"
        if status == "PENDING" or op.status == "pending":
            # Queued for a free node, or its worker still starting: Ray's word decides until the worker
            # claims its row (a job that dies first is FAILED); then its heartbeat (the operation timeout holds).
            return None
        return silence_reason(op, settings)

    def stop(self, op: Operation) -> None:
        """Stop the job; the worker also exits at its next heartbeat once its row is no longer running."""
        address = op.params.get("ray_address")
        try:
            _client(address).stop_job(op.id)
        except Exception as exc:  # the row has ended already; say why its job may still run, and go on
            if _is_unknown_job(exc):
                return  # Ray has no such job: nothing runs to stop
            log.warning("could not stop ray job %s at %s: %s: %s", op.id, _where(address), type(exc).__name__, exc)

    def node_of(self, op: Operation) -> str | None:
        """The Ray node running the job: Ray records it before it starts the job's entrypoint (this worker)."""
        return _client(op.params.get("ray_address")).get_job_info(op.id).driver_node_id

    def unavailable(self, settings: Settings) -> str | None:
        """The cluster's Jobs API does not answer: the reason (the tick exits 75 and starts no cycle)."""
        from agentctl.settings import ConfigError

        try:
            _connect(settings.ray_address)  # not the cached client: the cluster may have gone since
        except ConfigError:
            raise  # ray is not installed: a person must act, waiting will not help
        except Exception as exc:
            return _clip(f"the Ray cluster at {_where(settings.ray_address)} does not answer: {_line(exc)}")
        return None


def worker_env(settings: Settings) -> dict[str, str]:
    """The worker's settings: the database URL, home and time zone; never the Anthropic API key."""
    from agentctl.store import database_url

    env = {f"AGENTCTL_{name.upper()}": str(getattr(settings, name)) for name in _FORWARDED}
    env["AGENTCTL_DATABASE_URL"] = database_url(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _connect(address: str | None) -> JobSubmissionClient:
    """A Jobs API client; constructing it asks the cluster for its version, so it raises if none answers."""
    from agentctl.settings import ConfigError

    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise ConfigError("AGENTCTL_EXECUTOR=ray needs Ray's Jobs API: pip install 'agentctl[ray]'") from None
    return JobSubmissionClient(address)


_client = lru_cache(maxsize=4)(_connect)


def _is_unknown_job(exc: Exception) -> bool:
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("does not exist" in text or "404" in text)


def _line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no message'}"


def _where(address: str | None) -> str:
    return address or "RAY_ADDRESS (or the local cluster)"


def _clip(text: str) -> str:
    # Ray's failure message carries the job's last logs: keep the head (the cause) and the tail (the traceback).
    return text if len(text) <= _MAX_ERROR else text[:600] + "\n…\n" + text[-(_MAX_ERROR - 603) :]
