-- depends: 0001_seed_schema
-- At most one research cycle is active at any time: a fact of the database,
-- not a hope of the tick. A second INSERT of a non-idle session fails.
CREATE UNIQUE INDEX idx_sessions_one_active ON agent_sessions ((true)) WHERE phase <> 'idle';
