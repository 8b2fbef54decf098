"""The lab: market data, strategy configs, training, backtests, gates and operations."""
