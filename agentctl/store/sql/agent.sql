-- The agent's reads and writes: its audit rows, its session updates, its memory.

-- name: insert_action
INSERT INTO agent_actions (
    session_id, tool_name, tool_args, tool_result, success, error_message,
    tokens_input, tokens_output, tokens_cache_write, tokens_cache_read,
    agent, invocation, model, cost_usd, budget_date, latency_ms, request_id, stop_reason, attempt
) VALUES (
    %(session_id)s, %(tool_name)s, %(tool_args)s, %(tool_result)s, %(success)s, %(error_message)s,
    %(tokens_input)s, %(tokens_output)s, %(tokens_cache_write)s, %(tokens_cache_read)s,
    %(agent)s, %(invocation)s, %(model)s, %(cost_usd)s, %(budget_date)s, %(latency_ms)s, %(request_id)s,
    %(stop_reason)s, %(attempt)s
)
RETURNING id

-- name: session
SELECT id, phase, strategy_name, strategy_config, strategy_file_path, strategy_hash,
       training_results, backtest_results, assessment, created_at
FROM agent_sessions
WHERE id = %(id)s

-- name: hash_tried_by
-- Which earlier cycle tried a strategy with this content hash, if any.
SELECT id, strategy_name, outcome FROM agent_sessions
WHERE strategy_hash = %(hash)s AND id <> %(session_id)s
LIMIT 1

-- name: record_strategy
-- Guarded: only a session still designing takes a strategy.
UPDATE agent_sessions
SET strategy_name = %(name)s, strategy_config = %(config)s, strategy_file_path = %(path)s,
    strategy_hash = %(hash)s, updated_at = NOW()
WHERE id = %(id)s AND phase = 'designing'
RETURNING id

-- name: record_assessment
-- Guarded: only a session being assessed takes an assessment.
UPDATE agent_sessions
SET assessment = %(assessment)s, updated_at = NOW()
WHERE id = %(id)s AND phase = 'assessing'
RETURNING id

-- name: research_memory
-- The last N finished cycles, newest first, with what the agent needs to learn from them.
SELECT s.id, s.strategy_name, s.strategy_config, s.outcome, s.failure_reason,
       s.training_results, s.backtest_results, s.assessment,
       m.training_accuracy, m.backtest_sharpe, m.backtest_win_rate, m.backtest_max_drawdown,
       m.backtest_total_trades, m.backtest_profit_factor, m.gate_failed
FROM agent_sessions s
LEFT JOIN agent_metrics m ON m.session_id = s.id
WHERE s.phase = 'idle' AND s.completed_at IS NOT NULL AND s.id <> %(session_id)s
ORDER BY s.completed_at DESC, s.id DESC
LIMIT %(limit)s

-- name: strategies_tried
SELECT COUNT(*)::int AS n FROM agent_sessions WHERE strategy_hash IS NOT NULL

-- name: invocation_actions
SELECT tool_name, success, cost_usd FROM agent_actions WHERE session_id = %(session_id)s ORDER BY id
