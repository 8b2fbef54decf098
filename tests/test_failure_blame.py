"""Migration 0014: cycles that ended before it get their blame from the words that used to decide it."""

from __future__ import annotations

import shutil

import psycopg
import pytest
from conftest import url_for

from agentctl.store.migrate import migrations_dir, upgrade

ENDED = [
    ("failed_design", "budget exceeded for 2026-01-02: a call needs up to $0.2 and $0.1 is left", "budget"),
    ("failed_design", "Budget overrun: a call cost $0.3, more than the $0.2 it reserved", "budget"),
    ("failed_design", "the tick designing this cycle died before saving a strategy", "interrupted"),
    ("failed_assessment", "no assessment saved after 3 attempts", "agent"),
    ("failed_training_gate", "the training gate said no", "agent"),
    ("success", None, None),
]


@pytest.fixture
def scratch_db(admin_conn):
    name = "blame_backfill"
    admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin_conn.execute(f'CREATE DATABASE "{name}"')
    yield url_for(name)
    admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0014_fills_in_the_blame_of_cycles_that_ended_before_it(scratch_db, tmp_path):
    before = tmp_path / "migrations"
    before.mkdir()
    for f in migrations_dir().glob("00*.sql"):
        if not f.name.startswith("0014_"):
            shutil.copy(f, before)
    upgrade(scratch_db, before)
    with psycopg.connect(scratch_db) as c:
        for outcome, reason, _ in ENDED:
            c.execute(
                "INSERT INTO agent_sessions (phase, outcome, failure_reason, completed_at) VALUES ('idle', %s, %s, NOW())",
                [outcome, reason],
            )
    assert upgrade(scratch_db) == ["0014_failure_blame"]
    with psycopg.connect(scratch_db) as c:
        blames = [r[0] for r in c.execute("SELECT failure_blame FROM agent_sessions ORDER BY id")]
    assert blames == [b for _, _, b in ENDED]
