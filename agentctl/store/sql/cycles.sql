-- Cycles: agent_sessions (one row per research cycle), agent_triggers (one row
-- per tick) and agent_metrics (one row per completed cycle).
-- Every phase change is guarded by the phase it expects (zero rows = moved under us).

-- name: try_tick_lock
-- Session-level, so it lasts for the whole tick and dies with the process.
SELECT pg_try_advisory_lock(%(key)s) AS locked

-- name: tick_unlock
SELECT pg_advisory_unlock(%(key)s) AS unlocked

-- name: active_cycle
-- The cycle in progress: "Current cycle status" of docs/schema.md's useful queries (at most
-- one row is not idle, migration 0002's unique index).
SELECT * FROM agent_sessions WHERE phase <> 'idle' ORDER BY created_at DESC LIMIT 1

-- name: cycle_by_id
SELECT * FROM agent_sessions WHERE id = %(id)s

-- name: create_cycle
INSERT INTO agent_sessions (phase) VALUES ('designing') RETURNING *

-- name: insert_trigger
INSERT INTO agent_triggers (trigger_reason, session_id, context, agent_invoked, skip_reason,
                            budget_used_today_usd, budget_remaining_usd)
VALUES (%(reason)s, %(session_id)s, %(context)s, %(agent_invoked)s, %(skip_reason)s,
        %(used)s, %(remaining)s)
RETURNING id

-- name: start_training
-- This and the transitions after it share one shape on purpose: one statement each, whose
-- WHERE names the only phase it may leave (0 rows: another tick moved the cycle first).
UPDATE agent_sessions
SET phase = 'training', training_operation_id = %(operation_id)s, updated_at = NOW()
WHERE id = %(id)s AND phase = 'designing'
RETURNING id

-- name: start_backtest
UPDATE agent_sessions
SET phase = 'backtesting', training_results = %(training_results)s,
    backtest_operation_id = %(operation_id)s, updated_at = NOW()
WHERE id = %(id)s AND phase = 'training'
RETURNING id

-- name: start_assessing
UPDATE agent_sessions
SET phase = 'assessing', backtest_results = %(backtest_results)s, updated_at = NOW()
WHERE id = %(id)s AND phase = 'backtesting'
RETURNING id

-- name: record_results
-- Results a failing gate still keeps (they explain the failure).
UPDATE agent_sessions
SET training_results = COALESCE(%(training_results)s, training_results),
    backtest_results = COALESCE(%(backtest_results)s, backtest_results),
    final_holdout_results = COALESCE(%(final_holdout_results)s, final_holdout_results),
    updated_at = NOW()
WHERE id = %(id)s AND phase = %(phase)s

-- name: complete_cycle
UPDATE agent_sessions
SET phase = 'idle', outcome = %(outcome)s, failure_reason = %(failure_reason)s,
    failure_blame = %(failure_blame)s, completed_at = NOW(), updated_at = NOW()
WHERE id = %(id)s AND phase = %(phase)s
RETURNING *

-- name: cycle_costs
-- Summed in bigint and capped at the INT metrics columns: no count a reply can bring overflows.
SELECT LEAST(COALESCE(SUM(tokens_input::bigint), 0), 2147483647)::int AS tokens_input,
       LEAST(COALESCE(SUM(tokens_output::bigint), 0), 2147483647)::int AS tokens_output,
       COALESCE(SUM(cost_usd), 0) AS cost_usd
FROM agent_actions WHERE session_id = %(id)s

-- name: insert_metrics
INSERT INTO agent_metrics (
    session_id, cycle_started_at, cycle_completed_at, cycle_duration_seconds,
    training_accuracy, training_final_loss, training_epochs_completed, training_early_stopped,
    backtest_sharpe, backtest_win_rate, backtest_max_drawdown, backtest_total_trades, backtest_profit_factor,
    total_tokens_input, total_tokens_output, estimated_cost_usd, outcome, gate_failed,
    total_tokens_cache_write, total_tokens_cache_read)
VALUES (
    %(session_id)s, %(cycle_started_at)s, %(cycle_completed_at)s,
    GREATEST(0, EXTRACT(EPOCH FROM (%(cycle_completed_at)s::timestamptz - %(cycle_started_at)s::timestamptz)))::int,
    %(training_accuracy)s, %(training_final_loss)s, %(training_epochs_completed)s, %(training_early_stopped)s,
    %(backtest_sharpe)s, %(backtest_win_rate)s, %(backtest_max_drawdown)s, %(backtest_total_trades)s,
    %(backtest_profit_factor)s,
    %(total_tokens_input)s, %(total_tokens_output)s, %(estimated_cost_usd)s, %(outcome)s, %(gate_failed)s,
    -- Cache tokens beside total_tokens_input (which counts uncached prompt tokens only), from
    -- the same action rows as the other totals, in the same transaction.
    (SELECT LEAST(COALESCE(SUM(tokens_cache_write::bigint), 0), 2147483647)::int
     FROM agent_actions WHERE session_id = %(session_id)s),
    (SELECT LEAST(COALESCE(SUM(tokens_cache_read::bigint), 0), 2147483647)::int
     FROM agent_actions WHERE session_id = %(session_id)s))

-- name: metrics_by_cycle
SELECT * FROM agent_metrics WHERE session_id = %(id)s

-- name: assessment_attempts
SELECT count(*) AS n FROM agent_triggers
WHERE session_id = %(id)s AND trigger_reason = 'backtest_completed' AND agent_invoked

-- name: completed_since
SELECT id FROM agent_sessions WHERE completed_at IS NOT NULL AND id > %(after_id)s ORDER BY id

-- name: max_cycle_id
SELECT COALESCE(MAX(id), 0) AS id FROM agent_sessions


-- name: hash_tried_by
-- Which earlier cycle tried a strategy with this content hash, if any.
SELECT id, strategy_name, outcome FROM agent_sessions
WHERE strategy_hash = %(hash)s AND id <> %(cycle_id)s
LIMIT 1

-- name: researched_into_holdout
-- The first cycle whose research on this dataset ran up to a holdout that started after `start`:
-- it saw bars that are now in the sealed holdout (AGENTCTL_HOLDOUT_SHARE or the minimum moved it).
-- The stored time may carry an offset; like the bars, it is compared as UTC-naive.
SELECT id, (training_results ->> 'holdout_start')::timestamp AS holdout_start
FROM agent_sessions
WHERE strategy_config -> 'dataset' ->> 'symbol' = %(symbol)s
  AND strategy_config -> 'dataset' ->> 'timeframe' = %(timeframe)s
  AND jsonb_typeof(training_results -> 'holdout_start') = 'string'
  AND (training_results ->> 'holdout_start')::timestamp > %(start)s
ORDER BY id
LIMIT 1

-- name: record_strategy
-- Guarded: only a cycle still designing takes a strategy.
UPDATE agent_sessions
SET strategy_name = %(name)s, strategy_config = %(config)s, strategy_file_path = %(path)s,
    strategy_hash = %(hash)s, updated_at = NOW()
WHERE id = %(id)s AND phase = 'designing'
RETURNING id

-- name: start_holdout
-- The assessment passed: the sealed final holdout's one test starts (the phase stays assessing).
UPDATE agent_sessions
SET holdout_operation_id = %(operation_id)s, updated_at = NOW()
WHERE id = %(id)s AND phase = 'assessing' AND holdout_operation_id IS NULL
RETURNING id

-- name: record_assessment
-- Guarded: only a cycle being assessed takes an assessment.
UPDATE agent_sessions SET assessment = %(assessment)s, updated_at = NOW()
WHERE id = %(id)s AND phase = 'assessing'
RETURNING id

-- name: research_memory
-- The last N finished cycles, newest first, with what the agent needs to learn from them.
-- Never final_holdout_results: the designer must not select on the data meant to confirm.
-- Research results only: a cycle that saved no strategy, or was cancelled, is counted apart.
SELECT s.id, s.strategy_name, s.strategy_config, s.outcome, s.failure_reason,
       s.training_results, s.backtest_results, s.assessment,
       m.training_accuracy, m.backtest_sharpe, m.backtest_win_rate, m.backtest_max_drawdown,
       m.backtest_total_trades, m.backtest_profit_factor, m.gate_failed
FROM agent_sessions s
LEFT JOIN agent_metrics m ON m.session_id = s.id
WHERE s.phase = 'idle' AND s.completed_at IS NOT NULL AND s.id <> %(cycle_id)s
  AND s.strategy_hash IS NOT NULL AND s.outcome <> 'cancelled'
ORDER BY s.completed_at DESC, s.id DESC
LIMIT %(limit)s

-- name: without_research_result
-- Finished cycles that produced no research result (no strategy saved: an outage, a killed tick;
-- or cancelled): one line in the designer's memory.
SELECT count(*)::int AS n FROM agent_sessions
WHERE phase = 'idle' AND completed_at IS NOT NULL AND (strategy_hash IS NULL OR outcome = 'cancelled')

-- name: trial_sharpes
-- The research (walk-forward) Sharpe of every trial that reached a backtest: the spread of
-- Sharpes a strategy's deflated Sharpe is measured against.
SELECT (backtest_results ->> 'sharpe')::float AS sharpe FROM agent_sessions
WHERE backtest_results ? 'sharpe' AND jsonb_typeof(backtest_results -> 'sharpe') = 'number'
ORDER BY id

-- name: dataset_trials
-- Every strategy saved on a dataset by an earlier cycle: those that trained (a trial_path)
-- are the data-snooping family a new strategy there is tested among; all of them are the
-- history the baseline's search learns from.
SELECT id, strategy_hash, training_results ->> 'trial_path' AS trial_path,
       CASE WHEN jsonb_typeof(training_results -> 'excess_t') = 'number'
            THEN (training_results ->> 'excess_t')::float END AS excess_t
FROM agent_sessions
WHERE strategy_config -> 'dataset' ->> 'symbol' = %(symbol)s
  AND strategy_config -> 'dataset' ->> 'timeframe' = %(timeframe)s
  AND strategy_hash IS NOT NULL
  AND id < %(before)s
ORDER BY id

-- name: strategies_tried
-- Strategies tried: distinct strategies saved by any cycle on any dataset (the deflated
-- Sharpe's number of trials).
SELECT count(DISTINCT strategy_hash)::int AS n FROM agent_sessions
WHERE strategy_hash IS NOT NULL

-- name: cycles_on_dataset
-- Cycles whose strategy used a dataset: removing it would leave them unreproducible.
SELECT count(*)::int AS n FROM agent_sessions
WHERE strategy_config -> 'dataset' ->> 'symbol' = %(symbol)s
  AND strategy_config -> 'dataset' ->> 'timeframe' = %(timeframe)s

-- name: installation_seed
-- The baseline's seed drawn once for this installation (migration 0011).
SELECT baseline_seed FROM agent_installation
