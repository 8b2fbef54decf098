-- depends: 0006_outcome_rollup
-- Who holds a reservation, by the names its call is logged under: an orphaned
-- reservation is charged as an action row of that agent and call, so the budget's
-- SQL names no model provider. Only additions.

-- Reservations open while this runs can only be Claude's messages.create calls:
-- the default fills them in, then goes, so every new reservation names its caller.
ALTER TABLE agent_budget_reservations
    ADD COLUMN agent VARCHAR(20) NOT NULL DEFAULT 'claude',
    ADD COLUMN call_name VARCHAR(100) NOT NULL DEFAULT 'messages.create';
ALTER TABLE agent_budget_reservations
    ALTER COLUMN agent DROP DEFAULT,
    ALTER COLUMN call_name DROP DEFAULT;
