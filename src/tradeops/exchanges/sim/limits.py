"""Request weights per IP over a one-minute window, as Binance spot counts them.

Over the limit a request gets 429 with Retry-After (seconds to the end of the window); an IP that
keeps sending after `ban_after` 429s in one window is banned: 418 with Retry-After until the ban
ends, the ban doubling for each repeat (2 minutes at first, as Binance starts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tradeops.exchanges.sim.errors import SimError

WINDOW_MS = 60_000
WEIGHTS = {
    "time": 1,
    "ping": 1,
    "exchangeInfo": 20,
    "klines": 2,
    "ticker/price": 2,
    "ticker/bookTicker": 2,
    "ticker/24hr": 2,
    "depth": 5,
    "order:POST": 1,
    "order:GET": 4,
    "order:DELETE": 1,
    "openOrders": 6,
    "myTrades": 20,
    "account": 20,
    "userDataStream": 2,
    "countdownCancelAll": 10,
}


def weight_of(path: str, method: str, params: Mapping[str, str]) -> int:
    if path == "myTrades" and "orderId" in params:
        return 5
    if path == "openOrders" and "symbol" not in params:
        return 80
    return WEIGHTS.get(f"{path}:{method}", WEIGHTS.get(path, 1))


@dataclass
class _Ip:
    window_start: int = 0
    used: int = 0
    rejected: int = 0
    banned_until: int = 0
    bans: int = 0


@dataclass
class WeightLimiter:
    limit: int = 6000
    ban_after: int = 5
    first_ban_ms: int = 120_000
    ips: dict[str, _Ip] = field(default_factory=dict)

    def charge(self, ip: str, weight: int, now_ms: int) -> int:
        """Count `weight` for `ip`; return the weight used in this window, or raise 429/418."""
        state = self.ips.setdefault(ip, _Ip())
        if now_ms < state.banned_until:
            raise banned(state.banned_until, now_ms)
        window = now_ms - now_ms % WINDOW_MS
        if window != state.window_start:
            state.window_start, state.used, state.rejected = window, 0, 0
        if state.used + weight > self.limit:
            state.rejected += 1
            if state.rejected > self.ban_after:
                state.banned_until = now_ms + self.first_ban_ms * 2**state.bans
                state.bans += 1
                raise banned(state.banned_until, now_ms)
            raise too_many(window + WINDOW_MS - now_ms, self.limit)
        state.used += weight
        return state.used

    def used(self, ip: str) -> int:
        state = self.ips.get(ip)
        return state.used if state else 0


def _seconds(ms: int) -> str:
    return str(max(1, -(-ms // 1000)))


def too_many(retry_ms: int, limit: int) -> SimError:
    return SimError(
        429,
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        {"Retry-After": _seconds(retry_ms)},
    )


def banned(until_ms: int, now_ms: int) -> SimError:
    return SimError(
        418,
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        {"Retry-After": _seconds(until_ms - now_ms)},
    )
