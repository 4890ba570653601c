"""tradeops.ops."""
