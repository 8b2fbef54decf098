DROP TRIGGER IF EXISTS agent_metrics_outcome_rollup ON agent_metrics;
DROP FUNCTION IF EXISTS agent_outcome_rollup_apply();
DROP TABLE IF EXISTS agent_outcome_rollup;
