ALTER TABLE agent_sessions DROP COLUMN failure_blame;
