"""How a live environment receives market data (`environments.<name>.market_data`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class MarketDataConfig(BaseModel):
    """REST polling is the default (and always the catch-up and the fallback); `websocket: true`
    takes closed candles from ccxt.pro's watch methods where the venue offers them."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    websocket: bool = False
    # first wait before reconnecting a dropped stream; doubled per failed attempt, at most 10 s
    reconnect_backoff_ms: Annotated[int, Field(ge=10, le=60_000)] = 500
    # consecutive connections that bring no data before the run falls back to REST polling for good
    max_failures: Annotated[int, Field(ge=1, le=1_000)] = 5
