"""tradeops: a multi-strategy crypto trading runtime whose operations are safe by construction."""

__version__ = "0.1.0"
