"""tradeops.decision_log."""
