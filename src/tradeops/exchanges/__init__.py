"""tradeops.exchanges."""
