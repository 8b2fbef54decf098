DROP TRIGGER IF EXISTS agent_actions_cost_rollup ON agent_actions;
DROP FUNCTION IF EXISTS agent_cost_rollup_apply();
DROP TABLE IF EXISTS agent_cost_rollup;
DROP INDEX IF EXISTS idx_metrics_failed_cost;
DROP INDEX IF EXISTS idx_metrics_outcome_cost;
DROP INDEX IF EXISTS idx_sessions_promising;
DROP INDEX IF EXISTS idx_sessions_outcome_completed;
DROP INDEX IF EXISTS idx_sessions_completed;
