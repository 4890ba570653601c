"""Symbols, venues and intervals inferred from candle file names.

Understands freqtrade names (``BTC_USDT-5m.json.gz``, ``XRP_USDT_USDT-5m-futures.json``), venue
prefixed names (``binance_spot_BTCBUSD_1m_trade.csv``, ``binance_btcusdt_day_2020.csv``) and
plain pair tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tradeops.domain.market import interval_to_ms

KNOWN_QUOTES = ("FDUSD", "USDT", "BUSD", "USDC", "TUSD", "USD", "EUR", "GBP", "BTC", "ETH", "BNB")
KNOWN_VENUES = (
    "binance",
    "bybit",
    "kraken",
    "coinbase",
    "okx",
    "kucoin",
    "bitfinex",
    "bitstamp",
    "gateio",
    "huobi",
)
_WORD_INTERVALS = {"minute": "1m", "min": "1m", "hour": "1h", "hourly": "1h", "day": "1d", "daily": "1d"}
_FREQTRADE = re.compile(
    r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)(?:_(?P<settle>[A-Za-z0-9]+))?"
    r"-(?P<tf>\d+[smhdw])(?:-(?P<kind>[\w-]+))?$"
)
_INTERVAL = re.compile(r"^\d+[smhdw]$")
_KINDS = ("trade", "trades", "quote", "quotes", "mark", "funding", "depth", "snap", "update", "futures")
_EXTENSIONS = (".gz", ".json", ".csv", ".txt")


@dataclass(frozen=True, slots=True)
class NameInfo:
    symbol: str | None
    interval: str | None
    venue: str | None
    kind: str | None  # e.g. "futures", "mark", "trade", "quote"


def stem_of(path: str | Path) -> str:
    name = Path(path).name
    changed = True
    while changed:
        changed = False
        for ext in _EXTENSIONS:
            if name.lower().endswith(ext):
                name, changed = name[: -len(ext)], True
    return name


def split_pair(token: str) -> tuple[str, str] | None:
    """``BTCUSDT`` -> (BTC, USDT) using the known quote assets; None when no quote matches."""
    upper = token.upper()
    for quote in KNOWN_QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote) and upper[: -len(quote)].isalnum():
            return upper[: -len(quote)], quote
    return None


def normalize_symbol(text: str) -> str:
    """``btc_usdt``, ``BTC-USDT``, ``BTCUSDT`` and ``BTC/USDT`` all become ``BTC/USDT``."""
    cleaned = text.strip().upper().replace("_", "/").replace("-", "/")
    if "/" in cleaned:
        base, _, rest = cleaned.partition("/")
        return f"{base}/{rest.replace('/', ':', 1)}"
    pair = split_pair(cleaned)
    return f"{pair[0]}/{pair[1]}" if pair else cleaned


def _is_interval(token: str) -> str | None:
    if _INTERVAL.match(token):
        try:
            interval_to_ms(token)
        except ValueError:
            return None
        return token
    return _WORD_INTERVALS.get(token.lower())


def parse_name(path: str | Path) -> NameInfo:
    """Best-effort symbol / interval / venue / kind from a file name (None where unknown)."""
    stem = stem_of(path)
    match = _FREQTRADE.match(stem)
    if match:
        pair = f"{match['base'].upper()}/{match['quote'].upper()}"
        if match["settle"]:
            pair += f":{match['settle'].upper()}"
        return NameInfo(pair, match["tf"], None, match["kind"])
    tokens = [t for t in re.split(r"[_\-.\s]+", stem) if t]
    venue = next((t.lower() for t in tokens if t.lower() in KNOWN_VENUES), None)
    interval = next((i for t in tokens if (i := _is_interval(t))), None)
    symbol: str | None = None
    for token in tokens:
        if token.lower() in KNOWN_VENUES or _is_interval(token):
            continue
        split = split_pair(token)
        if split:
            symbol = f"{split[0]}/{split[1]}"
            break
    if symbol and any(t.upper() == "PERP" for t in tokens):
        inverse = any(t.lower() in ("coinm", "inverse") for t in tokens)
        base, quote = symbol.split("/")
        symbol += f":{base if inverse else quote}"
    kind = tokens[-1].lower() if tokens and tokens[-1].lower() in _KINDS else None
    return NameInfo(symbol, interval, venue, kind)


def interval_label(interval_ms: int) -> str:
    """Milliseconds -> the shortest interval label (``300000`` -> ``5m``)."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if interval_ms % size == 0:
            return f"{interval_ms // size}{unit}"
    return f"{interval_ms}ms"


def file_stem_for(symbol: str, interval: str) -> str:
    """Normalised file stem: ``BTC/USDT`` + ``5m`` -> ``BTC_USDT-5m`` (settle currency kept)."""
    return f"{symbol.replace('/', '_').replace(':', '_')}-{interval}"
