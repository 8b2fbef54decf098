"""A random baseline seed per installation, kept in the database; AGENTCTL_BASELINE_SEED still pins it."""

from __future__ import annotations

import psycopg
from conftest import url_for

from agentctl.settings import Settings
from agentctl.store import cycles
from agentctl.store.migrate import upgrade


def test_each_installation_draws_its_own_seed_and_keeps_it(admin_conn, request):
    names = [f"seed_{request.node.name[:12].lower()}_{i}" for i in (1, 2)]
    seeds = []
    try:
        for n in names:
            admin_conn.execute(f'DROP DATABASE IF EXISTS "{n}"')
            admin_conn.execute(f'CREATE DATABASE "{n}"')
            upgrade(url_for(n))
            upgrade(url_for(n))  # a second upgrade draws nothing new
            with psycopg.connect(url_for(n), row_factory=psycopg.rows.dict_row) as c:
                rows = c.execute("SELECT baseline_seed FROM agent_installation").fetchall()
                assert len(rows) == 1
                seeds.append(cycles.baseline_seed(c, Settings(_env_file=None)))
                assert seeds[-1] == rows[0]["baseline_seed"]
    finally:
        for n in names:
            admin_conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
    # Two installations draw from 2^31 values: equal only by a 1 in 2 billion chance.
    assert seeds[0] != seeds[1]


def test_the_setting_pins_the_seed_over_the_installations(conn, monkeypatch):
    conn.execute("UPDATE agent_installation SET baseline_seed = 123456")
    conn.commit()
    monkeypatch.delenv("AGENTCTL_BASELINE_SEED", raising=False)
    assert cycles.baseline_seed(conn, Settings()) == 123456
    monkeypatch.setenv("AGENTCTL_BASELINE_SEED", "0")
    assert cycles.baseline_seed(conn, Settings()) == 0
