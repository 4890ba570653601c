"""tradeops.observability."""
