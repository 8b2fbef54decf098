DROP TABLE IF EXISTS agent_budget;
DROP TABLE IF EXISTS agent_metrics;
DROP TABLE IF EXISTS agent_triggers;
DROP TABLE IF EXISTS agent_actions;
DROP TABLE IF EXISTS agent_sessions;
