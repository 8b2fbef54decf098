-- depends: 0007_reservation_caller
-- The sealed final holdout: a strategy whose assessment passed is tested once on
-- the last part of its dataset, by a lab operation of its own kind. Its figures
-- are kept apart from backtest_results (which the designer and assessor read)
-- so that no query feeding a prompt can select them by accident. Only additions.

ALTER TABLE agent_sessions
    ADD COLUMN holdout_operation_id VARCHAR(100),
    ADD COLUMN final_holdout_results JSONB;

ALTER TABLE lab_operations DROP CONSTRAINT valid_kind;
ALTER TABLE lab_operations
    ADD CONSTRAINT valid_kind CHECK (kind IN ('training', 'backtest', 'holdout'));
