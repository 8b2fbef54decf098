-- Whether a tick may start an invocation: the pause a person set, the last budget overrun
-- since they last resumed, and the cycles that ended since (the circuit breaker reads them).

-- name: admission_state
SELECT NOW() AS now, a.paused_at, a.pause_note, a.resumed_at,
       o.date AS overrun_date, o.overrun_at, o.overrun_usd,
       CASE WHEN a.needs_person_at > COALESCE(a.resumed_at, '-infinity'::timestamptz)
            THEN a.needs_person_at END AS needs_person_at,
       CASE WHEN a.needs_person_at > COALESCE(a.resumed_at, '-infinity'::timestamptz)
            THEN a.needs_person_reason END AS needs_person_reason
FROM (SELECT 1) AS one
LEFT JOIN agent_admission a ON TRUE
LEFT JOIN LATERAL (
    SELECT date, overrun_at, overrun_usd FROM agent_budget
    WHERE overrun_at IS NOT NULL AND overrun_at > COALESCE(a.resumed_at, '-infinity'::timestamptz)
    ORDER BY overrun_at DESC
    LIMIT 1
) o ON TRUE

-- name: pause
INSERT INTO agent_admission (singleton, paused_at, pause_note) VALUES (TRUE, NOW(), %(note)s)
ON CONFLICT (singleton) DO UPDATE
SET paused_at = NOW(), pause_note = EXCLUDED.pause_note, updated_at = NOW()
RETURNING paused_at

-- name: resume
-- Clears the pause, closes the circuit breaker and lifts an overrun's pause: what happened
-- before this instant no longer counts.
INSERT INTO agent_admission (singleton, resumed_at) VALUES (TRUE, NOW())
ON CONFLICT (singleton) DO UPDATE
SET paused_at = NULL, pause_note = NULL, resumed_at = NOW(), updated_at = NOW()
RETURNING resumed_at

-- name: needs_person
-- An API failure no retry can fix: new invocations wait until a person runs `agentctl resume`.
INSERT INTO agent_admission (singleton, needs_person_at, needs_person_reason) VALUES (TRUE, NOW(), %(reason)s)
ON CONFLICT (singleton) DO UPDATE
SET needs_person_at = NOW(), needs_person_reason = EXCLUDED.needs_person_reason, updated_at = NOW()

-- name: recent_endings
-- A failure without a recorded blame (a row written by hand) counts as the agent's.
SELECT id, outcome, failure_reason, COALESCE(failure_blame, 'agent') AS blame, completed_at FROM agent_sessions
WHERE completed_at IS NOT NULL AND completed_at > COALESCE(%(since)s::timestamptz, '-infinity'::timestamptz)
ORDER BY completed_at DESC, id DESC
LIMIT %(n)s
