"""agentctl: an autonomous, budget-capped research agent for trading strategies."""

__version__ = "0.1.0"
