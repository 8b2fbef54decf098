-- depends: 0004_agent_audit
-- What the reports need to stay fast on a long history (issue 6; figures in
-- BENCHMARKS.md "## Reports"). Only additions.

-- `cycles --recent`: the seed's "recent completed cycles" orders by completed_at.
CREATE INDEX idx_sessions_completed ON agent_sessions (completed_at DESC);
-- `cycles --recent --outcome X`.
CREATE INDEX idx_sessions_outcome_completed ON agent_sessions (outcome, completed_at DESC);
-- `cost`: successful cycles whose assessment passed ("promising"), counted from the index alone.
CREATE INDEX idx_sessions_promising ON agent_sessions (id)
    WHERE outcome = 'success' AND (assessment ->> 'passed')::boolean;

-- `cost`: the seed's "cost per successful strategy" and cost by outcome, read from the index alone.
CREATE INDEX idx_metrics_outcome_cost ON agent_metrics (outcome) INCLUDE (estimated_cost_usd);
-- `cost`: the failed cycles that cost the most.
CREATE INDEX idx_metrics_failed_cost ON agent_metrics (estimated_cost_usd DESC, session_id DESC)
    WHERE outcome <> 'success';

-- `cost` by model and by phase: summing every billed call is too slow on millions of
-- actions, so a trigger keeps a per-day rollup of billed calls (cost <> 0) exact
-- through inserts, refunds (cost set to 0) and deletes. Keys are never NULL ('' = none).
CREATE TABLE agent_cost_rollup (
    budget_date DATE NOT NULL,
    model VARCHAR(100) NOT NULL,
    invocation VARCHAR(20) NOT NULL,
    calls BIGINT NOT NULL DEFAULT 0,
    cost_usd DECIMAL(16, 4) NOT NULL DEFAULT 0,
    PRIMARY KEY (budget_date, model, invocation)
);

CREATE FUNCTION agent_cost_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.cost_usd <> 0 THEN
        UPDATE agent_cost_rollup
        SET calls = calls - 1, cost_usd = cost_usd - OLD.cost_usd
        WHERE budget_date = COALESCE(OLD.budget_date, (OLD.action_at AT TIME ZONE 'UTC')::date)
          AND model = COALESCE(OLD.model, '') AND invocation = COALESCE(OLD.invocation, '');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.cost_usd <> 0 THEN
        INSERT INTO agent_cost_rollup AS r (budget_date, model, invocation, calls, cost_usd)
        VALUES (COALESCE(NEW.budget_date, (NEW.action_at AT TIME ZONE 'UTC')::date),
                COALESCE(NEW.model, ''), COALESCE(NEW.invocation, ''), 1, NEW.cost_usd)
        ON CONFLICT (budget_date, model, invocation)
        DO UPDATE SET calls = r.calls + 1, cost_usd = r.cost_usd + EXCLUDED.cost_usd;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER agent_actions_cost_rollup
    AFTER INSERT OR DELETE OR UPDATE OF cost_usd, model, invocation, budget_date ON agent_actions
    FOR EACH ROW EXECUTE FUNCTION agent_cost_rollup_apply();

-- The history recorded before this migration.
INSERT INTO agent_cost_rollup (budget_date, model, invocation, calls, cost_usd)
SELECT COALESCE(budget_date, (action_at AT TIME ZONE 'UTC')::date), COALESCE(model, ''), COALESCE(invocation, ''),
       COUNT(*), SUM(cost_usd)
FROM agent_actions
WHERE cost_usd <> 0
GROUP BY 1, 2, 3;
