"""tradeops: a multi-strategy crypto trading runtime whose operations are safe by construction."""

from tradeops import _native

__version__ = "0.1.0"

_native.install()  # before any compiled module is imported: a stale build loads the sources instead
