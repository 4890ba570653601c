"""The exchange simulator as a real subprocess on a free 127.0.0.1 port (bounded waits)."""

from __future__ import annotations

from tradeops.bootstrap.exchange_sim import SimulatorProcess as SimProcess

__all__ = ["SimProcess"]
