"""tradeops.risk."""
