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
