-- depends: 0011_issue19_installation_seed
-- `cycles --sort`: one index per figure, on exactly the expression its statement orders
-- by (store/sql/reports.sql recent_cycles_by_*), best first then newest, so the first
-- rows of 100,000 cycles are read from the index instead of sorting them all.
CREATE INDEX idx_metrics_sort_sharpe ON agent_metrics (backtest_sharpe DESC NULLS LAST, session_id DESC);
CREATE INDEX idx_metrics_sort_cost ON agent_metrics (estimated_cost_usd DESC NULLS LAST, session_id DESC);
CREATE INDEX idx_sessions_sort_dsr
    ON agent_sessions (((backtest_results ->> 'deflated_sharpe')::float8) DESC NULLS LAST, id DESC);
CREATE INDEX idx_sessions_sort_return
    ON agent_sessions (((backtest_results ->> 'total_return')::float8) DESC NULLS LAST, id DESC);
