-- The server itself: the embedded server's database and the migration log yoyo keeps.

-- name: database_exists
SELECT 1 AS found FROM pg_database WHERE datname = %(name)s

-- name: create_database
-- {name} is an identifier, composed with psycopg.sql.Identifier (identifiers cannot be bound).
CREATE DATABASE {name}

-- name: migration_log_exists
SELECT to_regclass('_yoyo_migration') IS NOT NULL AS found

-- name: applied_migrations
SELECT migration_id, applied_at_utc FROM _yoyo_migration

-- name: unapplied_migrations
-- This version's migration ids (bound, in order) that yoyo's log does not hold: a tick's whole schema
-- check. It fails with undefined_table before yoyo's first run, when every id is pending.
SELECT m.id FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS m(id, n)
WHERE m.id NOT IN (SELECT migration_id FROM _yoyo_migration)
ORDER BY m.n
