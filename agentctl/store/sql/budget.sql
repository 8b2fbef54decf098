-- Money: one agent_budget row per day (the budget day is CURRENT_DATE in the
-- connection's time zone), reservations held for model calls in flight, and the
-- agent_actions rows every charge is recorded in.

-- name: ensure_today
INSERT INTO agent_budget (date, budget_limit_usd, budget_used_usd)
VALUES (CURRENT_DATE,
        COALESCE((SELECT budget_limit_usd FROM agent_budget_default), %(default_limit)s),
        0)
ON CONFLICT (date) DO NOTHING

-- name: snapshot
SELECT date, budget_limit_usd, budget_used_usd, budget_reserved_usd,
       invocations_count, cycles_started, cycles_completed, overrun_at, overrun_usd
FROM agent_budget
WHERE date = COALESCE(%(date)s::date, CURRENT_DATE)

-- name: lock_today
SELECT date, budget_limit_usd, budget_used_usd, budget_reserved_usd
FROM agent_budget
WHERE date = CURRENT_DATE
FOR UPDATE

-- name: lock_day
SELECT date FROM agent_budget WHERE date = %(date)s FOR UPDATE

-- name: insert_reservation
INSERT INTO agent_budget_reservations (budget_date, amount_usd, session_id, agent, call_name, model, pid, expires_at)
VALUES (%(date)s, %(amount)s, %(session_id)s, %(agent)s, %(call_name)s, %(model)s, %(pid)s,
        NOW() + make_interval(secs => %(ttl_s)s))
RETURNING id, budget_date, amount_usd, expires_at, call_name

-- name: add_reserved
UPDATE agent_budget
SET budget_reserved_usd = budget_reserved_usd + %(amount)s, updated_at = NOW()
WHERE date = %(date)s

-- name: take_reservation
DELETE FROM agent_budget_reservations WHERE id = %(id)s RETURNING amount_usd

-- name: apply_settlement
UPDATE agent_budget
SET budget_used_usd = budget_used_usd + %(spent)s,
    budget_reserved_usd = budget_reserved_usd - %(released)s,
    updated_at = NOW()
WHERE date = %(date)s

-- name: mark_overrun
-- A call cost more than its reservation: the day keeps when it last happened (a pause
-- cleared by `resume` before it does not clear it) and by how much in all.
UPDATE agent_budget
SET overrun_at = NOW(), overrun_usd = overrun_usd + %(over)s, updated_at = NOW()
WHERE date = %(date)s

-- name: lock_days_with_expired
-- Budget rows first, then reservations: the same lock order as reserve and settle.
SELECT date FROM agent_budget
WHERE date IN (SELECT budget_date FROM agent_budget_reservations WHERE expires_at < COALESCE(%(before)s::timestamptz, NOW()))
ORDER BY date
FOR UPDATE

-- name: charge_expired
-- A reservation nobody settled before it expired belongs to a process that died
-- between reserving and recording; the call may have been billed, so it is charged
-- at its worst case (fail closed) as an action row, keeping used = sum of costs.
-- The row carries the agent and call names the reservation was made under.
WITH gone AS (
    DELETE FROM agent_budget_reservations WHERE expires_at < COALESCE(%(before)s::timestamptz, NOW()) RETURNING *
), logged AS (
    INSERT INTO agent_actions (session_id, tool_name, tool_args, success, error_message,
                               tokens_input, tokens_output, tokens_cache_write, tokens_cache_read,
                               agent, model, cost_usd, budget_date, charge_basis, flags)
    SELECT session_id, call_name,
           jsonb_build_object('reservation_id', id, 'reserved_at', created_at, 'pid', pid),
           FALSE,
           'reservation expired unsettled (process died mid-call?): charged at its worst case',
           0, 0, 0, 0, agent, model, amount_usd, budget_date, 'reservation', ARRAY['orphaned']
    FROM gone
    RETURNING 1
), totals AS (
    SELECT budget_date, SUM(amount_usd) AS amount, COUNT(*)::bigint AS n FROM gone GROUP BY budget_date
), updated AS (
    UPDATE agent_budget b
    SET budget_used_usd = b.budget_used_usd + t.amount,
        budget_reserved_usd = b.budget_reserved_usd - t.amount,
        updated_at = NOW()
    FROM totals t
    WHERE b.date = t.budget_date
    RETURNING t.n
)
SELECT COALESCE(SUM(n), 0)::int AS charged, (SELECT COUNT(*) FROM logged)::int AS logged,
       (SELECT array_agg(DISTINCT session_id) FROM gone WHERE session_id IS NOT NULL) AS cycles
FROM updated

-- name: expired_charge_amount
-- The process was alive after all and settles with the real cost: find its orphan charge.
SELECT id, budget_date, cost_usd FROM agent_actions
WHERE tool_name = %(call_name)s AND success = FALSE
  AND 'orphaned' = ANY(flags) AND NOT 'settled_late' = ANY(flags)
  AND tool_args ->> 'reservation_id' = %(id)s::text
FOR UPDATE

-- name: mark_settled_late
-- The orphan charge stands (a day's spend never goes down); the late row adds only the rest.
UPDATE agent_actions
SET error_message = error_message || '; settled late: the call''s own row adds what its real cost exceeds this',
    flags = array_append(COALESCE(flags, '{}'), 'settled_late')
WHERE id = %(id)s

-- name: refresh_metrics
-- A charge recorded after its cycle finished (an orphan, a late settlement): the cycle's metrics
-- row sums its actions again, in the same transaction. Sums in bigint, capped at the INT columns.
UPDATE agent_metrics m
SET estimated_cost_usd = a.cost,
    total_tokens_input = LEAST(a.tokens_input, 2147483647)::int,
    total_tokens_output = LEAST(a.tokens_output, 2147483647)::int,
    total_tokens_cache_write = LEAST(a.cache_write, 2147483647)::int,
    total_tokens_cache_read = LEAST(a.cache_read, 2147483647)::int
FROM (
    SELECT session_id, COALESCE(SUM(cost_usd), 0) AS cost,
           COALESCE(SUM(tokens_input::bigint), 0) AS tokens_input,
           COALESCE(SUM(tokens_output::bigint), 0) AS tokens_output,
           COALESCE(SUM(tokens_cache_write::bigint), 0) AS cache_write,
           COALESCE(SUM(tokens_cache_read::bigint), 0) AS cache_read
    FROM agent_actions WHERE session_id = ANY(%(ids)s::int[]) GROUP BY session_id
) a
WHERE m.session_id = a.session_id

-- name: fence_holds
-- Does the tick's lock connection (its backend pid) still hold the tick's advisory lock?
-- A bigint advisory key is stored as classid (high 32 bits) and objid (low 32 bits).
SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid = %(pid)s
      AND ((classid::bigint << 32) | objid::bigint) = %(key)s
) AS held

-- name: count_invocation
UPDATE agent_budget SET invocations_count = invocations_count + 1, updated_at = NOW()
WHERE date = CURRENT_DATE

-- name: count_cycle_started
-- A day's cycle counters live on its budget row, beside the money (the daily cycle limit reads them).
UPDATE agent_budget SET cycles_started = cycles_started + 1, updated_at = NOW()
WHERE date = CURRENT_DATE

-- name: count_cycle_completed
UPDATE agent_budget SET cycles_completed = cycles_completed + 1, updated_at = NOW()
WHERE date = CURRENT_DATE

-- name: set_limit
INSERT INTO agent_budget (date, budget_limit_usd, budget_used_usd)
VALUES (COALESCE(%(date)s::date, CURRENT_DATE), %(limit)s, 0)
ON CONFLICT (date) DO UPDATE SET budget_limit_usd = EXCLUDED.budget_limit_usd, updated_at = NOW()
RETURNING date

-- name: set_default_limit
INSERT INTO agent_budget_default (singleton, budget_limit_usd) VALUES (TRUE, %(limit)s)
ON CONFLICT (singleton) DO UPDATE SET budget_limit_usd = EXCLUDED.budget_limit_usd, updated_at = NOW()

-- name: day_action_cost
SELECT COALESCE(SUM(cost_usd), 0) AS total FROM agent_actions WHERE budget_date = %(date)s

-- name: today
SELECT CURRENT_DATE AS today

-- name: insert_action
INSERT INTO agent_actions (
    session_id, tool_name, tool_args, tool_result, success, error_message,
    tokens_input, tokens_output, tokens_cache_write, tokens_cache_read,
    agent, invocation, model, cost_usd, budget_date, latency_ms, request_id, stop_reason, attempt,
    charge_basis, flags
) VALUES (
    %(session_id)s, %(tool_name)s, %(tool_args)s, %(tool_result)s, %(success)s, %(error_message)s,
    %(tokens_input)s, %(tokens_output)s, %(tokens_cache_write)s, %(tokens_cache_read)s,
    %(agent)s, %(invocation)s, %(model)s, %(cost_usd)s, %(budget_date)s, %(latency_ms)s, %(request_id)s,
    %(stop_reason)s, %(attempt)s, %(charge_basis)s, %(flags)s
)
RETURNING id

-- name: default_limit
-- The limit a day without a row gets: `budget set --default`, else the setting.
SELECT COALESCE((SELECT budget_limit_usd FROM agent_budget_default), %(fallback)s) AS budget_limit_usd

-- name: invocation_cost_percentile
-- What recent invocations of one kind cost in full (all their model calls, every attempt of a
-- cycle's assessment together): the tick admits an invocation only when what is left covers it.
SELECT COUNT(*)::int AS n,
       COALESCE(percentile_cont(%(quantile)s) WITHIN GROUP (ORDER BY cost), 0) AS cost
FROM (
    SELECT SUM(cost_usd) AS cost FROM agent_actions
    WHERE invocation = %(invocation)s AND agent = %(agent)s AND tool_name = %(call_name)s
      AND session_id IS NOT NULL
    GROUP BY session_id
    ORDER BY MAX(id) DESC
    LIMIT %(window)s
) recent

-- name: stored_default_limit
-- `budget set --default`'s limit, when one was set: it wins over AGENTCTL_DEFAULT_BUDGET_USD.
SELECT budget_limit_usd FROM agent_budget_default
