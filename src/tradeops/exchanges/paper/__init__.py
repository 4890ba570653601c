"""Paper exchange: simulated matching with fees, slippage, latency and partial fills."""

from tradeops.exchanges.paper.exchange import PaperExchange

__all__ = ["PaperExchange"]
