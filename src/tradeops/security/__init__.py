"""tradeops.security."""
