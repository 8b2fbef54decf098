ALTER TABLE agent_budget_reservations
    DROP COLUMN IF EXISTS call_name,
    DROP COLUMN IF EXISTS agent;
