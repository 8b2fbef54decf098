-- Lab operations (agentctl/store/operations.py, for lab/operations.py and the worker).
-- Every state change is guarded by the status it expects; zero rows means someone else moved it.

-- name: insert_operation
INSERT INTO lab_operations (id, kind, session_id, params, dataset, strategy_hash, log_path, progress_message)
VALUES (%(id)s, %(kind)s, %(session_id)s, %(params)s, %(dataset)s, %(strategy_hash)s, %(log_path)s, 'queued')
RETURNING id

-- name: get_operation
SELECT *, EXTRACT(EPOCH FROM NOW() - created_at) AS age_s,
       EXTRACT(EPOCH FROM NOW() - COALESCE(heartbeat_at, started_at, created_at)) AS silent_s
FROM lab_operations WHERE id = %(id)s

-- name: claim_operation
-- The worker takes its pending operation; a cancelled or already claimed one returns nothing.
UPDATE lab_operations
SET status = 'running', pid = %(pid)s, host = %(host)s, started_at = NOW(), heartbeat_at = NOW(),
    progress_message = 'started'
WHERE id = %(id)s AND status = 'pending'
RETURNING *

-- name: set_node
-- The cluster node the worker runs on, as its executor reports it (Ray: the job's node).
UPDATE lab_operations SET node_id = %(node_id)s
WHERE id = %(id)s
RETURNING id

-- name: heartbeat
UPDATE lab_operations SET heartbeat_at = NOW()
WHERE id = %(id)s AND status = 'running'
RETURNING id

-- name: set_progress
UPDATE lab_operations
SET progress_pct = %(pct)s, progress_message = %(message)s, heartbeat_at = NOW()
WHERE id = %(id)s AND status = 'running'
RETURNING id

-- name: complete_operation
UPDATE lab_operations
SET status = 'completed', result = %(result)s, progress_pct = 100, progress_message = 'completed',
    finished_at = NOW(), heartbeat_at = NOW()
WHERE id = %(id)s AND status = 'running'
RETURNING id

-- name: fail_operation
-- Used by the worker (expects running) and by the poller's dead-worker checks (pending or running).
UPDATE lab_operations
SET status = 'failed', error = %(error)s, finished_at = NOW()
WHERE id = %(id)s AND status IN ('pending', 'running')
RETURNING *

-- name: cancel_operation
UPDATE lab_operations
SET status = 'cancelled', error = %(error)s, finished_at = NOW()
WHERE id = %(id)s AND status IN ('pending', 'running')
RETURNING *
