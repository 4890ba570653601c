"""tradeops.allocation."""
