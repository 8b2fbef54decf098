-- depends: 0005_report_indexes
-- Cycles and cost per outcome, kept exact by a trigger on agent_metrics, so
-- `agentctl cost` reads a handful of rows instead of every completed cycle.
-- Only additions.

CREATE TABLE agent_outcome_rollup (
    outcome VARCHAR(30) PRIMARY KEY,  -- '' for a metrics row without an outcome
    cycles BIGINT NOT NULL DEFAULT 0,
    cost_usd DECIMAL(16, 4) NOT NULL DEFAULT 0
);

CREATE FUNCTION agent_outcome_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE agent_outcome_rollup
        SET cycles = cycles - 1, cost_usd = cost_usd - COALESCE(OLD.estimated_cost_usd, 0)
        WHERE outcome = COALESCE(OLD.outcome, '');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO agent_outcome_rollup AS r (outcome, cycles, cost_usd)
        VALUES (COALESCE(NEW.outcome, ''), 1, COALESCE(NEW.estimated_cost_usd, 0))
        ON CONFLICT (outcome)
        DO UPDATE SET cycles = r.cycles + 1, cost_usd = r.cost_usd + EXCLUDED.cost_usd;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER agent_metrics_outcome_rollup
    AFTER INSERT OR DELETE OR UPDATE OF outcome, estimated_cost_usd ON agent_metrics
    FOR EACH ROW EXECUTE FUNCTION agent_outcome_rollup_apply();

-- The cycles completed before this migration.
INSERT INTO agent_outcome_rollup (outcome, cycles, cost_usd)
SELECT COALESCE(outcome, ''), COUNT(*), COALESCE(SUM(estimated_cost_usd), 0)
FROM agent_metrics
GROUP BY 1;
