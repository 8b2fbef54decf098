DROP INDEX IF EXISTS idx_sessions_sort_return;
DROP INDEX IF EXISTS idx_sessions_sort_dsr;
DROP INDEX IF EXISTS idx_metrics_sort_cost;
DROP INDEX IF EXISTS idx_metrics_sort_sharpe;
