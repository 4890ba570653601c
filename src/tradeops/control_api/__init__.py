"""tradeops.control_api."""
