-- The reports: read-only queries behind status, cycles, show, budget, cost,
-- actions, triggers, doctor and metrics, run by name from agentctl/store/reports.py.
-- Each one is bounded by an index (see migrations/0005_report_indexes.sql and
-- BENCHMARKS.md "## Reports").

-- name: last_trigger
SELECT id, triggered_at, trigger_reason, session_id, agent_invoked, skip_reason, context,
       GREATEST(EXTRACT(EPOCH FROM (NOW() - triggered_at)), 0)::float8 AS age_s
FROM agent_triggers
ORDER BY triggered_at DESC
LIMIT 1

-- name: now
SELECT NOW() AS now, CURRENT_DATE AS today

-- name: recent_cycles
-- "Recent completed cycles" (docs/schema.md), with the columns a researcher reads beside them:
-- the dataset and the research backtest's return against buy and hold. Filters are optional
-- (NULL: any); the order is one of the cycle_order_* fragments below, picked by
-- store/reports.py from a fixed mapping (so no input reaches the text).
SELECT s.id, s.strategy_name, s.outcome, m.backtest_sharpe, m.estimated_cost_usd,
       m.backtest_win_rate, m.backtest_max_drawdown, m.backtest_total_trades,
       m.cycle_duration_seconds, s.assessment ->> 'verdict' AS verdict, s.completed_at,
       s.strategy_config -> 'dataset' ->> 'symbol' AS symbol,
       s.strategy_config -> 'dataset' ->> 'timeframe' AS timeframe,
       (s.backtest_results ->> 'total_return')::float8 AS total_return,
       (s.backtest_results ->> 'buy_and_hold_return')::float8 AS buy_and_hold_return,
       (s.backtest_results ->> 'deflated_sharpe')::float8 AS deflated_sharpe
FROM agent_sessions s
JOIN agent_metrics m ON s.id = m.session_id
WHERE (%(outcome)s::text IS NULL OR s.outcome = %(outcome)s)
  AND (%(symbol)s::text IS NULL OR (s.strategy_config -> 'dataset' ->> 'symbol' = %(symbol)s
                                    AND s.strategy_config -> 'dataset' ->> 'timeframe' = %(timeframe)s))
ORDER BY {order}
LIMIT %(limit)s

-- name: cycle_order_date
s.completed_at DESC

-- name: cycle_order_sharpe
-- Best first by one figure, then the newest: each order is exactly the expression an index
-- of migrations/0012_issue19b_cycle_sort_indexes.sql holds, so 100,000 cycles are read from
-- the index's top, not sorted whole.
m.backtest_sharpe DESC NULLS LAST, m.session_id DESC

-- name: cycle_order_dsr
(s.backtest_results ->> 'deflated_sharpe')::float8 DESC NULLS LAST, s.id DESC

-- name: cycle_order_return
(s.backtest_results ->> 'total_return')::float8 DESC NULLS LAST, s.id DESC

-- name: cycle_order_cost
m.estimated_cost_usd DESC NULLS LAST, m.session_id DESC

-- name: action_columns
-- A fragment, not a statement: the columns of an action line, written once for every
-- statement below that lists actions (`SELECT {action_columns}`).
id, session_id, action_at, tool_name, agent, invocation, model, success, error_message,
tokens_input, tokens_output, tokens_cache_write, tokens_cache_read, cost_usd,
latency_ms, request_id, stop_reason, attempt

-- name: trigger_columns
-- A fragment: the columns of a trigger line (the trigger tables).
id, triggered_at, trigger_reason, session_id, agent_invoked, skip_reason,
budget_used_today_usd, budget_remaining_usd

-- name: operation_columns
-- A fragment: the columns of an operation line (status, doctor).
id, kind, status, progress_pct, progress_message, heartbeat_at,
EXTRACT(EPOCH FROM (NOW() - heartbeat_at))::float8 AS heartbeat_age_s

-- name: cycle_actions
SELECT {action_columns} FROM agent_actions
WHERE session_id = %(id)s
ORDER BY id
LIMIT %(limit)s

-- name: cycle_action_totals
SELECT COUNT(*)::int AS actions,
       COUNT(*) FILTER (WHERE tool_name = 'messages.create')::int AS model_calls,
       COALESCE(SUM(tokens_input), 0)::bigint AS tokens_input,
       COALESCE(SUM(tokens_output), 0)::bigint AS tokens_output,
       COALESCE(SUM(tokens_cache_write), 0)::bigint AS tokens_cache_write,
       COALESCE(SUM(tokens_cache_read), 0)::bigint AS tokens_cache_read,
       COALESCE(SUM(cost_usd), 0) AS cost_usd
FROM agent_actions
WHERE session_id = %(id)s

-- name: cycle_triggers
SELECT {trigger_columns} FROM agent_triggers
WHERE session_id = %(id)s
ORDER BY triggered_at, id
LIMIT %(limit)s

-- name: budget_dates
-- Today and the days before it that have a row (a day without one had no tick);
-- their figures come from the budget's own snapshot.
SELECT date
FROM agent_budget
WHERE date > CURRENT_DATE - %(days)s::int AND date <= CURRENT_DATE
ORDER BY date DESC

-- name: cost_per_success
-- "Cost per successful strategy" from docs/schema.md's useful queries, verbatim.
SELECT AVG(estimated_cost_usd), COUNT(*)
FROM agent_metrics
WHERE outcome = 'success'

-- name: cost_totals
-- All spend (budget_used_usd = the day's action costs, so the budget rows sum it
-- without reading every action), and how many cycles it bought.
SELECT (SELECT COALESCE(SUM(budget_used_usd), 0) FROM agent_budget) AS total_spend_usd,
       (SELECT COUNT(*) FROM agent_metrics)::int AS cycles_completed,
       (SELECT COUNT(*) FROM agent_metrics WHERE outcome = 'success')::int AS successes,
       (SELECT COUNT(*) FROM agent_sessions
        WHERE (assessment ->> 'passed')::boolean)::int AS promising

-- name: cost_by_outcome
-- From the per-outcome rollup that migration 0006's trigger keeps exact.
SELECT NULLIF(outcome, '') AS outcome, cycles::int AS cycles, cost_usd
FROM agent_outcome_rollup
WHERE cycles <> 0
ORDER BY cost_usd DESC, outcome

-- name: cost_by_model
-- From the per-day rollup of billed calls that migration 0005's trigger keeps exact.
SELECT CASE WHEN model = '' THEN '(unknown)' ELSE model END AS model,
       CASE WHEN invocation = '' THEN '(none)' ELSE invocation END AS invocation,
       SUM(calls)::bigint AS calls,
       SUM(cost_usd) AS cost_usd
FROM agent_cost_rollup
GROUP BY 1, 2
HAVING SUM(calls) <> 0 OR SUM(cost_usd) <> 0
ORDER BY cost_usd DESC, 1, 2

-- name: costliest_failures
SELECT m.session_id AS id, s.strategy_name, m.outcome, m.estimated_cost_usd, s.failure_reason,
       m.cycle_completed_at
FROM agent_metrics m
JOIN agent_sessions s ON s.id = m.session_id
WHERE m.outcome <> 'success' AND m.estimated_cost_usd > 0
ORDER BY m.estimated_cost_usd DESC, m.session_id DESC
LIMIT %(limit)s

-- name: recent_actions
SELECT {action_columns} FROM agent_actions
ORDER BY id DESC
LIMIT %(limit)s

-- name: recent_cycle_actions
SELECT {action_columns} FROM agent_actions
WHERE session_id = %(id)s
ORDER BY id DESC
LIMIT %(limit)s

-- name: recent_triggers
SELECT {trigger_columns} FROM agent_triggers
ORDER BY triggered_at DESC, id DESC
LIMIT %(limit)s

-- name: recent_triggers_today
SELECT {trigger_columns} FROM agent_triggers
WHERE triggered_at >= CURRENT_DATE::timestamptz
ORDER BY triggered_at DESC, id DESC
LIMIT %(limit)s

-- name: triggers_today_counts
SELECT trigger_reason, skip_reason, agent_invoked, COUNT(*)::int AS n
FROM agent_triggers
WHERE triggered_at >= CURRENT_DATE::timestamptz
GROUP BY 1, 2, 3
ORDER BY n DESC, 1, 2

-- name: cycles_by_outcome
SELECT outcome, COUNT(*)::int AS n
FROM agent_sessions
WHERE outcome IS NOT NULL
GROUP BY outcome

-- name: operation
-- The lab's operations table (migration 0003).
SELECT {operation_columns} FROM lab_operations
WHERE id = %(id)s

-- name: stuck_operations
-- Pending or running, and no sign of life (heartbeat, else start, else creation) for too long.
SELECT {operation_columns} FROM lab_operations
WHERE status IN ('pending', 'running')
  AND COALESCE(heartbeat_at, started_at, created_at) < NOW() - make_interval(secs => %(timeout_s)s)
ORDER BY COALESCE(heartbeat_at, started_at, created_at)
LIMIT 20

-- name: server_version
SHOW server_version

-- name: integrity_datasets
-- What was tried on each dataset and how far it got. A strategy is tried when a
-- cycle saved it (the deflated Sharpe's definition: a distinct strategy hash).
-- A strategy is tested on the final holdout when its holdout figures are stored.
SELECT s.strategy_config -> 'dataset' ->> 'symbol' AS symbol,
       s.strategy_config -> 'dataset' ->> 'timeframe' AS timeframe,
       COUNT(DISTINCT s.strategy_hash)::int AS trials,
       COUNT(*) FILTER (WHERE (s.training_results -> 'gate' ->> 'passed')::boolean)::int AS training_passed,
       COUNT(*) FILTER (WHERE (s.backtest_results -> 'gate' ->> 'passed')::boolean)::int AS backtest_passed,
       COUNT(*) FILTER (WHERE (s.assessment ->> 'passed')::boolean)::int AS assessments_passed,
       COUNT(*) FILTER (WHERE s.final_holdout_results IS NOT NULL)::int AS holdout_tested,
       COUNT(*) FILTER (WHERE s.outcome = 'success')::int AS confirmations,
       MIN(s.created_at) AS first_at
FROM agent_sessions s
WHERE s.strategy_hash IS NOT NULL
GROUP BY 1, 2
ORDER BY trials DESC, 1, 2

-- name: integrity_blocks
-- Each tried strategy's backtest returns in blocks ([sum, sum of squares, count]
-- per block), the input of the probability of backtest overfitting.
SELECT s.id,
       s.strategy_config -> 'dataset' ->> 'symbol' AS symbol,
       s.strategy_config -> 'dataset' ->> 'timeframe' AS timeframe,
       s.backtest_results -> 'blocks' AS blocks,
       (s.backtest_results ->> 'blocks_start')::int AS blocks_start,
       (s.backtest_results ->> 'blocks_end')::int AS blocks_end
FROM agent_sessions s
WHERE s.strategy_hash IS NOT NULL AND jsonb_typeof(s.backtest_results -> 'blocks') = 'array'
ORDER BY s.id

-- name: integrity_designers
-- Who designed each cycle: the agent (and model) of its design actions; a design
-- that made no action is the agent its starting trigger names. Cost is the
-- metrics row's (completed cycles), else the sum of the cycle's actions so far.
WITH design AS (
    SELECT session_id, MIN(agent) AS agent, MIN(model) AS model
    FROM agent_actions
    WHERE invocation = 'design' AND session_id IS NOT NULL
    GROUP BY session_id
), started AS (
    SELECT DISTINCT ON (session_id) session_id, context ->> 'agent' AS agent
    FROM agent_triggers
    WHERE session_id IS NOT NULL AND context ? 'agent'
    ORDER BY session_id, triggered_at, id
), spent AS (
    SELECT session_id, SUM(cost_usd) AS cost_usd
    FROM agent_actions
    WHERE session_id IS NOT NULL
    GROUP BY session_id
)
SELECT COALESCE(d.agent, t.agent, '(unknown)') AS agent,
       CASE WHEN d.agent IS NULL THEN NULL ELSE d.model END AS model,
       COUNT(*)::int AS cycles,
       COUNT(DISTINCT s.strategy_hash)::int AS trials,
       COUNT(*) FILTER (WHERE s.outcome = 'success')::int AS confirmations,
       COALESCE(SUM(COALESCE(m.estimated_cost_usd, p.cost_usd, 0)), 0) AS cost_usd
FROM agent_sessions s
LEFT JOIN design d ON d.session_id = s.id
LEFT JOIN started t ON t.session_id = s.id
LEFT JOIN agent_metrics m ON m.session_id = s.id
LEFT JOIN spent p ON p.session_id = s.id
GROUP BY 1, 2
ORDER BY cycles DESC, 1, 2

-- name: scheduled_limits
-- Days after today whose limit was set ahead (`budget set --date`): their rows exist
-- before any tick opens them, and no other report shows them.
SELECT date, budget_limit_usd AS limit_usd
FROM agent_budget
WHERE date > CURRENT_DATE
ORDER BY date

-- name: cycle_choices
-- Shell completion of cycle ids: the newest cycles, with what a person recognises them by.
SELECT id, strategy_name, outcome, phase FROM agent_sessions ORDER BY id DESC LIMIT %(limit)s

-- name: funnel_cycles
-- Every cycle started since a day (00:00 in the budget's time zone): how far it got, the
-- verdict of each gate it met, and each result's numeric figures (whatever the gates now
-- decide on), without the curves and blocks a result also stores.
SELECT s.id, s.outcome, s.failure_reason, s.strategy_name,
       s.strategy_config -> 'dataset' ->> 'symbol' AS symbol,
       s.strategy_config -> 'dataset' ->> 'timeframe' AS timeframe,
       s.training_results -> 'gate' AS training_gate,
       s.backtest_results -> 'gate' AS backtest_gate,
       s.final_holdout_results -> 'gate' AS holdout_gate,
       s.assessment IS NOT NULL AS assessed,
       (s.assessment ->> 'passed')::boolean AS assessment_passed,
       s.final_holdout_results IS NOT NULL AS holdout_tested,
       (SELECT jsonb_object_agg(key, value) FROM jsonb_each(COALESCE(s.training_results, '{}'))
        WHERE jsonb_typeof(value) = 'number') AS training_figures,
       (SELECT jsonb_object_agg(key, value) FROM jsonb_each(COALESCE(s.backtest_results, '{}'))
        WHERE jsonb_typeof(value) = 'number') AS backtest_figures,
       (SELECT jsonb_object_agg(key, value) FROM jsonb_each(COALESCE(s.final_holdout_results, '{}'))
        WHERE jsonb_typeof(value) = 'number') AS holdout_figures
FROM agent_sessions s
WHERE s.created_at >= %(since)s::date
ORDER BY s.id

-- name: funnel_spend
-- The model spend of the budget days since a day (every billed call, cycles' and others').
SELECT COALESCE(SUM(cost_usd), 0) AS spend_usd, COUNT(*)::int AS calls
FROM agent_actions
WHERE budget_date >= %(since)s::date AND cost_usd <> 0

-- name: researched_holdouts
-- Where each dataset's sealed holdout started when its strategies were researched: a holdout that
-- has moved since (AGENTCTL_HOLDOUT_SHARE or AGENTCTL_MIN_HOLDOUT_BARS changed) may hold bars they saw.
SELECT strategy_config -> 'dataset' ->> 'symbol' AS symbol,
       strategy_config -> 'dataset' ->> 'timeframe' AS timeframe,
       training_results ->> 'holdout_start' AS holdout_start,
       min(id) AS first_cycle
FROM agent_sessions
WHERE jsonb_typeof(training_results -> 'holdout_start') = 'string'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
