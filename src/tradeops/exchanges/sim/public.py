"""Public market-data endpoints of the simulator (Binance spot response shapes)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradeops.exchanges.sim.errors import SimError, bad_param
from tradeops.exchanges.sim.market import KLINE_LIMIT_MAX, SimMarket, SymbolMarket


def num(value: Decimal) -> str:
    """Binance renders numbers as strings with 8 decimals."""
    return f"{value:.8f}"


def symbol_info(m: SymbolMarket) -> dict[str, Any]:
    f = m.filters
    return {
        "symbol": m.market_id,
        "status": "TRADING",
        "baseAsset": m.base,
        "baseAssetPrecision": 8,
        "quoteAsset": m.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "quoteOrderQtyMarketAllowed": False,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": num(f.tick),
                "maxPrice": "1000000.00000000",
                "tickSize": num(f.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": num(f.min_qty),
                "maxQty": "9000000.00000000",
                "stepSize": num(f.step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": num(f.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_MAKER"],
    }


def exchange_info(market: SimMarket, now_ms: int, weight_limit: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": weight_limit,
            },
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(m) for m in market.symbols.values()],
    }


def _int(params: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SimError(400, -1100, f"Illegal characters found in parameter '{name}'.") from None


def klines(market: SimMarket, params: Mapping[str, str]) -> list[list[object]]:
    if "symbol" not in params or "interval" not in params:
        raise bad_param(
            "Mandatory parameter 'symbol' or 'interval' was not sent, was empty/null, or malformed."
        )
    limit = _int(params, "limit", 500) or 500
    if not 0 < limit <= KLINE_LIMIT_MAX:
        raise SimError(400, -1130, "Invalid data sent for a parameter: limit")
    return market.klines(
        params["symbol"], params["interval"], limit, _int(params, "startTime"), _int(params, "endTime")
    )


def _book_top(market: SimMarket, market_id: str) -> tuple[Decimal, Decimal, Decimal]:
    """Best bid, best ask and the size at each."""
    bid, ask = market.touch(market_id)
    size = max(market.bar(market_id).volume / 10, market.get(market_id).filters.min_qty)
    return bid, ask, size


def ticker_price(market: SimMarket, params: Mapping[str, str]) -> Any:
    ids = [params["symbol"]] if "symbol" in params else list(market.symbols)
    out = [{"symbol": i, "price": num(market.last(i))} for i in ids]
    return out[0] if "symbol" in params else out


def book_ticker(market: SimMarket, params: Mapping[str, str]) -> Any:
    ids = [params["symbol"]] if "symbol" in params else list(market.symbols)
    out = []
    for i in ids:
        bid, ask, size = _book_top(market, i)
        out.append(
            {
                "symbol": i,
                "bidPrice": num(bid),
                "bidQty": num(size),
                "askPrice": num(ask),
                "askQty": num(size),
            }
        )
    return out[0] if "symbol" in params else out


def ticker_24hr(market: SimMarket, params: Mapping[str, str], now_ms: int) -> Any:
    ids = [params["symbol"]] if "symbol" in params else list(market.symbols)
    out = []
    for i in ids:
        m = market.get(i)
        window = m.rows[max(0, market.cursor - max(1, 86_400_000 // m.interval_ms)) : market.cursor + 1]
        bid, ask, size = _book_top(market, i)
        first, last = window[0][1], window[-1][4]
        volume = sum((r[5] for r in window), Decimal(0))
        out.append(
            {
                "symbol": i,
                "priceChange": num(last - first),
                "priceChangePercent": f"{(last - first) / first * 100:.3f}" if first else "0.000",
                "weightedAvgPrice": num(last),
                "prevClosePrice": num(first),
                "lastPrice": num(last),
                "lastQty": num(m.filters.min_qty),
                "bidPrice": num(bid),
                "bidQty": num(size),
                "askPrice": num(ask),
                "askQty": num(size),
                "openPrice": num(first),
                "highPrice": num(max(r[2] for r in window)),
                "lowPrice": num(min(r[3] for r in window)),
                "volume": num(volume),
                "quoteVolume": num(volume * last),
                "openTime": window[0][0],
                "closeTime": now_ms,
                "firstId": 0,
                "lastId": 0,
                "count": len(window),
            }
        )
    return out[0] if "symbol" in params else out


def depth(market: SimMarket, params: Mapping[str, str]) -> dict[str, Any]:
    market_id = params.get("symbol", "")
    market.get(market_id)
    limit = min(_int(params, "limit", 100) or 100, 5000)
    bid, ask, size = _book_top(market, market_id)
    tick = market.get(market_id).filters.tick
    levels = min(limit, 20)
    return {
        "lastUpdateId": market.cursor,
        "bids": [[num(bid - tick * k), num(size)] for k in range(levels)],
        "asks": [[num(ask + tick * k), num(size)] for k in range(levels)],
    }
