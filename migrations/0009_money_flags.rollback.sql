DROP TABLE IF EXISTS agent_admission;
ALTER TABLE agent_metrics
    DROP COLUMN IF EXISTS total_tokens_cache_read,
    DROP COLUMN IF EXISTS total_tokens_cache_write;
ALTER TABLE agent_budget
    DROP COLUMN IF EXISTS overrun_usd,
    DROP COLUMN IF EXISTS overrun_at;
ALTER TABLE agent_actions
    DROP COLUMN IF EXISTS flags,
    DROP COLUMN IF EXISTS charge_basis,
    ALTER COLUMN stop_reason TYPE VARCHAR(40) USING left(stop_reason, 40),
    ALTER COLUMN request_id TYPE VARCHAR(100) USING left(request_id, 100);
