"""The migrated schema is the seed schema, verbatim, plus additions only."""

from __future__ import annotations

import shutil

import psycopg
import pytest
from catalog import snapshot
from conftest import url_for
from schema_contract import schema_blocks

from agentctl.store.migrate import migrations_dir, upgrade

SEED_TABLES = ("agent_sessions", "agent_actions", "agent_triggers", "agent_metrics", "agent_budget")


@pytest.fixture
def scratch_dbs(admin_conn, request):
    """Two empty databases, dropped afterwards."""
    names = [f"drift_{request.node.name[:20].lower()}_{i}" for i in (1, 2)]
    for n in names:
        admin_conn.execute(f'DROP DATABASE IF EXISTS "{n}"')
        admin_conn.execute(f'CREATE DATABASE "{n}"')
    yield names
    for n in names:
        admin_conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


def test_migration_0001_is_the_seed_schema_verbatim(scratch_dbs, tmp_path):
    seed_db, migrated_db = scratch_dbs
    with psycopg.connect(url_for(seed_db), autocommit=True) as c:
        for block in schema_blocks():
            c.execute(block)
        expected = snapshot(c)

    only_0001 = tmp_path / "migrations"
    only_0001.mkdir()
    for f in migrations_dir().glob("0001_*"):
        shutil.copy(f, only_0001)
    assert upgrade(url_for(migrated_db), only_0001) == ["0001_seed_schema"]
    with psycopg.connect(url_for(migrated_db)) as c:
        actual = snapshot(c)

    assert sorted({col[0] for col in expected["columns"]}) == sorted(SEED_TABLES)
    assert actual["columns"] == expected["columns"]
    assert actual["constraints"] == expected["constraints"]
    assert actual["indexes"] == expected["indexes"]


def test_later_migrations_only_add_to_the_seed_tables(scratch_dbs):
    seed_db, migrated_db = scratch_dbs
    with psycopg.connect(url_for(seed_db), autocommit=True) as c:
        for block in schema_blocks():
            c.execute(block)
        seed = snapshot(c, SEED_TABLES)
    upgrade(url_for(migrated_db))
    with psycopg.connect(url_for(migrated_db)) as c:
        full = snapshot(c, SEED_TABLES)
    for kind in ("columns", "constraints", "indexes"):
        missing = set(seed[kind]) - set(full[kind])
        assert not missing, f"a later migration changed or dropped seed {kind}: {sorted(missing)}"


def test_at_most_one_active_session(conn):
    conn.execute("INSERT INTO agent_sessions (phase) VALUES ('designing')")
    conn.execute("INSERT INTO agent_sessions (phase) VALUES ('idle'), ('idle')")
    conn.commit()
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO agent_sessions (phase) VALUES ('training')")
    conn.rollback()
    active = conn.execute("SELECT count(*) AS n FROM agent_sessions WHERE phase <> 'idle'").fetchone()
    assert active["n"] == 1


def test_upgrade_twice_changes_nothing(db_url):
    with psycopg.connect(db_url) as c:
        before = snapshot(c)
    assert upgrade(db_url) == []
    with psycopg.connect(db_url) as c:
        assert snapshot(c) == before


def test_a_failing_migration_leaves_the_schema_as_it_was(scratch_dbs, tmp_path):
    from agentctl.store.migrate import MigrationError

    _, db = scratch_dbs
    broken = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), broken)
    (broken / "9999_broken.sql").write_text(
        "-- depends: \nALTER TABLE agent_sessions ADD COLUMN half_done INT;\nSELECT no_such_function();\n"
    )
    upgrade(url_for(db))
    with psycopg.connect(url_for(db)) as c:
        before = snapshot(c)
    with pytest.raises(MigrationError, match="schema unchanged"):
        upgrade(url_for(db), broken)
    with psycopg.connect(url_for(db)) as c:
        assert snapshot(c) == before
        applied = c.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
    assert ("9999_broken",) not in applied
