-- depends: 0013_issue21_operation_node
-- Whose doing a failed cycle's end was (domain.Blame), written when the cycle ends: the
-- circuit breaker counts only the agent's own failures, by this value, not by the words of
-- failure_reason. Cycles that ended before it get it from the words that used to decide it.
ALTER TABLE agent_sessions
    ADD COLUMN failure_blame TEXT
    CONSTRAINT valid_failure_blame CHECK (failure_blame IN ('agent', 'budget', 'interrupted'));

UPDATE agent_sessions
SET failure_blame = CASE
        WHEN lower(failure_reason) LIKE 'budget %' THEN 'budget'
        WHEN lower(failure_reason) LIKE 'the tick designing this cycle died%' THEN 'interrupted'
        ELSE 'agent'
    END
WHERE completed_at IS NOT NULL AND outcome <> 'success';
