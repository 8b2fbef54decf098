DROP INDEX IF EXISTS idx_sessions_one_active;
