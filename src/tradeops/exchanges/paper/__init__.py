"""tradeops.exchanges.paper."""
