"""Model artifacts: a local (or shared-filesystem) path, or an fsspec URL such as s3://bucket/models/x.joblib.

Remote workers (the `ray` executor) write where every node can read: a shared
mount, or object storage through fsspec (installed with `agentctl[ray]`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def is_url(location: str | Path) -> bool:
    """True for an fsspec URL (scheme://...), False for a filesystem path."""
    return isinstance(location, str) and "://" in location


def location_for(artifact_dir: str | None, home: Path, op_id: str) -> str:
    """Where an operation's model goes: `artifact_dir` if set, else <home>/models."""
    base = artifact_dir or str(Path(home) / "models")
    if is_url(base):
        return base.rstrip("/") + f"/{op_id}.joblib"
    return str(Path(base).expanduser().absolute() / f"{op_id}.joblib")


def save(obj: Any, location: str | Path) -> None:
    """Write atomically where possible: a temporary name, then a rename (or one upload)."""
    import joblib

    if not is_url(location):
        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        joblib.dump(obj, tmp)
        tmp.replace(path)
        return
    with _fsspec().open(str(location), "wb") as f:  # object stores publish on close: readers never see half a file
        joblib.dump(obj, f)


def load(location: str | Path) -> Any:
    import joblib

    if not is_url(location):
        return joblib.load(location)
    with _fsspec().open(str(location), "rb") as f:
        return joblib.load(f)


def _fsspec():
    try:
        import fsspec
    except ImportError:
        raise RuntimeError(
            "model artifacts at a URL need fsspec: pip install 'agentctl[ray]' "
            "(plus the scheme's driver, e.g. s3fs for s3://)"
        ) from None
    return fsspec
