-- depends: 0003_lab_operations
-- The agent's audit trail and the budget's hard cap (issue 4). Only additions.

-- Money held for model calls in flight: reserve before a call, settle after.
ALTER TABLE agent_budget
    ADD COLUMN budget_reserved_usd DECIMAL(10, 4) NOT NULL DEFAULT 0
        CONSTRAINT budget_reserved_nonnegative CHECK (budget_reserved_usd >= 0);

-- One row per reservation, so one that is never settled (the process was killed
-- between the HTTP response and the commit) can be found once it expires and
-- charged at its worst case instead of leaking or vanishing.
CREATE TABLE agent_budget_reservations (
    id BIGSERIAL PRIMARY KEY,
    budget_date DATE NOT NULL REFERENCES agent_budget(date),
    amount_usd DECIMAL(10, 4) NOT NULL CHECK (amount_usd > 0),
    session_id INT REFERENCES agent_sessions(id) ON DELETE SET NULL,
    model VARCHAR(100),
    pid INT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_reservations_expiry ON agent_budget_reservations(expires_at);

-- The limit for days that have no row yet, when set with `agentctl budget set --default`.
CREATE TABLE agent_budget_default (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    budget_limit_usd DECIMAL(10, 4) NOT NULL CHECK (budget_limit_usd >= 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- Every model call and tool call in full: tokens by kind, cost, latency, request id.
ALTER TABLE agent_actions
    ADD COLUMN agent VARCHAR(20),
    ADD COLUMN invocation VARCHAR(20),
    ADD COLUMN model VARCHAR(100),
    ADD COLUMN tokens_cache_write INT,
    ADD COLUMN tokens_cache_read INT,
    ADD COLUMN cost_usd DECIMAL(10, 4) NOT NULL DEFAULT 0,
    ADD COLUMN budget_date DATE,
    ADD COLUMN latency_ms INT,
    ADD COLUMN request_id VARCHAR(100),
    ADD COLUMN stop_reason VARCHAR(40),
    ADD COLUMN attempt SMALLINT;
CREATE INDEX idx_actions_budget_date ON agent_actions(budget_date) WHERE cost_usd <> 0;

-- The content hash of the strategy a cycle tried: a config is never tried twice.
ALTER TABLE agent_sessions ADD COLUMN strategy_hash VARCHAR(64);
CREATE UNIQUE INDEX idx_sessions_strategy_hash ON agent_sessions(strategy_hash) WHERE strategy_hash IS NOT NULL;
