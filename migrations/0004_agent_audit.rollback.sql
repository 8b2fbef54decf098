DROP INDEX IF EXISTS idx_sessions_strategy_hash;
ALTER TABLE agent_sessions DROP COLUMN IF EXISTS strategy_hash;
DROP INDEX IF EXISTS idx_actions_budget_date;
ALTER TABLE agent_actions
    DROP COLUMN IF EXISTS attempt,
    DROP COLUMN IF EXISTS stop_reason,
    DROP COLUMN IF EXISTS request_id,
    DROP COLUMN IF EXISTS latency_ms,
    DROP COLUMN IF EXISTS budget_date,
    DROP COLUMN IF EXISTS cost_usd,
    DROP COLUMN IF EXISTS tokens_cache_read,
    DROP COLUMN IF EXISTS tokens_cache_write,
    DROP COLUMN IF EXISTS model,
    DROP COLUMN IF EXISTS invocation,
    DROP COLUMN IF EXISTS agent;
DROP TABLE IF EXISTS agent_budget_default;
DROP TABLE IF EXISTS agent_budget_reservations;
ALTER TABLE agent_budget DROP COLUMN IF EXISTS budget_reserved_usd;
