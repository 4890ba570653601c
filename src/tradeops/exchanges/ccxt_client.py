"""Build an unmodified ccxt client for one configured venue: keys from the env vars the config
names, the testnet by ccxt's sandbox mode, or any base URL (the local simulator) by overriding
`urls['api']`. Spot only: futures/margin market lists and currency endpoints are not loaded.
`build_ccxt_pro_client` builds the ccxt.pro (websocket) class of the same venue, for public
market data: no keys, its stream base pointed at `market_stream_url` when one is configured."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ccxt

from tradeops.config.models import VenueConfig
from tradeops.domain.errors import UserInputError

DEFAULT_RECV_WINDOW_MS = 5_000  # short: an unanswered order expires at the venue soon after
SPOT_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
    "bybit": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
}


def build_ccxt_client(
    venue_name: str,
    venue: VenueConfig,
    environ: Mapping[str, str],
    *,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> Any:
    """A ccxt exchange object for `venue` (keys read from `environ`, never logged)."""
    cls = getattr(ccxt, venue.ccxt_id, None)
    if cls is None:
        raise UserInputError(f"venues.{venue_name}.ccxt_id: {venue.ccxt_id!r} is not a ccxt exchange id")
    options: dict[str, Any] = {"defaultType": "spot", **SPOT_OPTIONS.get(venue.ccxt_id, {})}
    options["recvWindow"] = recv_window_ms
    client = cls(
        {
            "apiKey": environ.get(venue.api_key_env or "", ""),
            "secret": environ.get(venue.secret_env or "", ""),
            "enableRateLimit": True,
            "timeout": venue.request_timeout_ms,
            "options": options,
        }
    )
    if venue.sandbox:
        client.set_sandbox_mode(True)
    if venue.url:
        point_at(client, venue.url)
    return client


def build_ccxt_pro_client(venue_name: str, venue: VenueConfig) -> Any:
    """An async ccxt.pro exchange object for `venue`'s public streams (build it in the event loop
    that will use it)."""
    import ccxt.pro  # only live runs with websocket market data load the async classes

    cls = getattr(ccxt.pro, venue.ccxt_id, None)
    if cls is None:
        raise UserInputError(f"venues.{venue_name}.ccxt_id: no ccxt websocket class {venue.ccxt_id!r}")
    options: dict[str, Any] = {"defaultType": "spot", **SPOT_OPTIONS.get(venue.ccxt_id, {})}
    client = cls({"enableRateLimit": True, "timeout": venue.request_timeout_ms, "options": options})
    if venue.sandbox:
        client.set_sandbox_mode(True)
    if venue.url:
        point_at(client, venue.url)
    streams = market_stream_base(venue_name, venue)
    if streams:
        point_streams_at(client, streams)
    return client


def market_stream_base(venue_name: str, venue: VenueConfig) -> str | None:
    """Where ccxt.pro opens the venue's public streams: `market_stream_url`, else the
    `user_stream_url` (Binance serves both from one stream base), else ccxt's own (None). A venue
    whose REST is overridden (`url`) must say where its streams are: never a real venue's
    market data for a simulated one."""
    base = venue.market_stream_url or venue.user_stream_url
    if base is None and venue.url:
        raise UserInputError(
            f"venues.{venue_name}: market_data.websocket with a url override needs market_stream_url "
            "(the base of its streams, e.g. ws://127.0.0.1:9765/ws for the simulator on 8765)"
        )
    return base


def point_streams_at(client: Any, stream_base: str) -> None:
    """Open a ccxt.pro Binance-API client's spot streams at `stream_base` (ws://host:port/ws)."""
    streams = client.urls.get("api", {}).get("ws")
    if not isinstance(streams, dict) or "spot" not in streams:
        raise UserInputError(f"{client.id}: cannot override the stream URL of this ccxt exchange")
    streams["spot"] = stream_base.rstrip("/")


def point_at(client: Any, base_url: str) -> None:
    """Send every REST request of a Binance-API client to `base_url` (the local simulator)."""
    base = base_url.rstrip("/")
    api = client.urls.get("api")
    if not isinstance(api, dict):
        raise UserInputError(f"{client.id}: cannot override the API URL of this ccxt exchange")
    # REST entries only: a ccxt.pro client keeps its WebSocket URLs (pointed elsewhere if wanted).
    client.urls["api"] = {
        name: f"{base}/api/v3" if isinstance(url, str) else url for name, url in api.items()
    }
