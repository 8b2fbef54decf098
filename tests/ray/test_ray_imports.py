"""Polling imports ray only for operations that run on Ray (it takes ~2 s); runs without ray installed."""

from __future__ import annotations

import subprocess
import sys


def test_local_polling_and_the_ray_module_import_no_ray(conn, settings):
    from agentctl.store.queries import load

    conn.execute(
        load("operations")["insert_operation"],
        {
            "id": "train-local",
            "kind": "training",
            "session_id": None,
            "params": "{}",
            "dataset": "AAPL/1h",
            "strategy_hash": "0" * 64,
            "log_path": "/dev/null",
        },
    )
    conn.commit()
    code = (
        "import sys\n"
        "import agentctl.tick, agentctl.lab.executors.ray\n"
        "from agentctl.store import connect\n"
        "from agentctl.lab.operations import check_operation\n"
        "from agentctl.settings import Settings\n"
        "s = Settings()\n"
        "assert check_operation(connect(s), s, 'train-local').status == 'pending'\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('ray', 'fsspec', 'numpy', 'pandas', 'sklearn')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
