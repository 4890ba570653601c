"""tradeops.marketdata."""
