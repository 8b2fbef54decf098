-- depends: 0002_one_active_session
-- Lab operations (issue 3): training and backtest runs executed by detached
-- workers, with progress, heartbeat, result and error. Only additions.

CREATE TABLE lab_operations (
    id VARCHAR(100) PRIMARY KEY,
    kind VARCHAR(20) NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    session_id INT REFERENCES agent_sessions(id) ON DELETE SET NULL,

    -- What to run: {"config": StrategyConfig, "model_path": ..., "n_trials": ...}
    params JSONB NOT NULL,
    dataset VARCHAR(50) NOT NULL,          -- symbol/timeframe, for counting trials per dataset
    strategy_hash CHAR(64) NOT NULL,

    progress_pct REAL NOT NULL DEFAULT 0,
    progress_message TEXT,
    result JSONB,
    error TEXT,

    -- Where the worker runs: a dead pid on this host means a dead worker.
    pid INT,
    host VARCHAR(255),
    log_path TEXT,

    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    started_at TIMESTAMPTZ,
    heartbeat_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,

    CONSTRAINT valid_kind CHECK (kind IN ('training', 'backtest')),
    CONSTRAINT valid_status CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    CONSTRAINT valid_progress CHECK (progress_pct >= 0 AND progress_pct <= 100),
    CONSTRAINT finished_iff_terminal CHECK ((status IN ('pending', 'running')) = (finished_at IS NULL)),
    CONSTRAINT completed_has_result CHECK (status <> 'completed' OR result IS NOT NULL),
    CONSTRAINT failed_has_error CHECK (status <> 'failed' OR error IS NOT NULL)
);

CREATE INDEX idx_lab_operations_session ON lab_operations(session_id);
CREATE INDEX idx_lab_operations_dataset ON lab_operations(dataset, kind);
CREATE INDEX idx_lab_operations_active ON lab_operations(status) WHERE status IN ('pending', 'running');
