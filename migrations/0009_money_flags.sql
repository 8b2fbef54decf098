-- depends: 0008_final_holdout
-- Money survives any reply: how each model call was charged, why, and the day an
-- actual cost passed its reservation; pause and resume kept where cron sees them;
-- cache tokens beside the other token totals. Only additions (and wider columns).

-- A request id or stop reason longer than the audit columns held failed the
-- settlement with the row; wider columns, and the store cuts what is still longer.
ALTER TABLE agent_actions
    ALTER COLUMN request_id TYPE VARCHAR(255),
    ALTER COLUMN stop_reason TYPE VARCHAR(100),
    -- usage: charged at the cost of the reported usage; reservation: at the call's
    -- reserved worst case (usage missing, unreadable or not believable); none: nothing billed.
    ADD COLUMN charge_basis VARCHAR(20),
    -- What was odd about the call: usage_missing, usage_negative, overrun, request_id_truncated, ...
    ADD COLUMN flags TEXT[];

-- The day a call cost more than it reserved: new invocations wait for `agentctl resume`.
ALTER TABLE agent_budget
    ADD COLUMN overrun_at TIMESTAMPTZ,
    ADD COLUMN overrun_usd DECIMAL(10, 4) NOT NULL DEFAULT 0;

ALTER TABLE agent_metrics
    ADD COLUMN total_tokens_cache_write INT,
    ADD COLUMN total_tokens_cache_read INT;

-- `agentctl pause` / `agentctl resume`: one row, so every tick (cron) sees the same answer.
-- resumed_at also closes the circuit breaker and clears an overrun pause: only what
-- happened after it counts.
CREATE TABLE agent_admission (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    paused_at TIMESTAMPTZ,
    pause_note TEXT,
    resumed_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
