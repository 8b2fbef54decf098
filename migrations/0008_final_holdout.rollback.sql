ALTER TABLE lab_operations DROP CONSTRAINT valid_kind;
ALTER TABLE lab_operations
    ADD CONSTRAINT valid_kind CHECK (kind IN ('training', 'backtest'));
ALTER TABLE agent_sessions
    DROP COLUMN IF EXISTS final_holdout_results,
    DROP COLUMN IF EXISTS holdout_operation_id;
