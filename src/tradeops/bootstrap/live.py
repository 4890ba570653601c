"""Compose the live adapters of a live environment: a ccxt client, order adapter and market-data
source per venue, REST-polled or (with `market_data.websocket`) streamed by ccxt.pro with REST
catch-up (the runtime sees only the Exchange port and the revealing-market protocol)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tradeops.config.live import live_problems
from tradeops.config.models import EnvironmentConfig, Schedule
from tradeops.domain.errors import Fatal, TradeopsError, UserInputError
from tradeops.domain.market import interval_to_ms
from tradeops.exchanges.ccxt_adapter import CcxtExchange
from tradeops.exchanges.ccxt_calls import RetryPolicy, VenueCaller
from tradeops.exchanges.ccxt_client import build_ccxt_client, build_ccxt_pro_client, market_stream_base
from tradeops.exchanges.ccxt_market import CcxtMarketData
from tradeops.exchanges.ccxt_market_stream import CandleStream, StreamedMarketData
from tradeops.exchanges.dead_man import CountdownDeadMan
from tradeops.exchanges.user_stream import ListenKeyStream
from tradeops.exchanges.venue_metrics import instrument
from tradeops.marketdata.series_store import SeriesStore
from tradeops.runtime.stats import VenueRequestStats
from tradeops.runtime.venue_router import VenueRouter


def build_ccxt_exchange(
    env_name: str,
    env: EnvironmentConfig,
    venue_name: str,
    environ: Mapping[str, str],
    *,
    clock_ms: Callable[[], int] | None = None,
    poll_interval_ms: int = 1_000,
    user_stream: bool = False,
) -> CcxtExchange:
    """A CcxtExchange for `environments.<env_name>.venues.<venue_name>`, keys from `environ`;
    with `user_stream` and a `user_stream_url`, its listenKey stream is started (REST stays the
    fallback)."""
    if venue_name not in env.venues:
        raise UserInputError(f"environments.{env_name}.venues: no venue {venue_name!r}")
    venue = env.venues[venue_name]
    client = build_ccxt_client(venue_name, venue, environ)
    cap = None if env.max_order_notional is None else Decimal(repr(env.max_order_notional))
    stream = None
    if user_stream and venue.user_stream_url:
        stream = ListenKeyStream(
            str(client.urls["api"]["public"]), venue.user_stream_url, str(client.apiKey), venue_name
        )
        stream.start()
    return CcxtExchange(
        client,
        venue_name,
        env.quote_asset,
        policy=RetryPolicy(max_retries=venue.max_retries),
        max_order_notional=cap,
        clock_ms=clock_ms,
        poll_interval_ms=poll_interval_ms,
        stream=stream,
        requests=instrument(client, VenueRequestStats()),
    )


@dataclass
class LiveParts:
    """The concrete adapters of a live run: order egress per venue and market data per venue."""

    router: VenueRouter
    sources: dict[str, CcxtMarketData | StreamedMarketData]
    instruments: list[tuple[str, str]]
    interval: str
    interval_ms: int
    quote_asset: str
    dead_men: list[CountdownDeadMan] = field(default_factory=list)  # venue-side cancel-all countdowns
    market_streams: list[CandleStream] = field(default_factory=list)  # stopped when the run closes


def live_symbols(env_name: str, schedules: Mapping[str, Schedule]) -> tuple[str, dict[str, set[str]]]:
    """(the one candle interval, symbols per venue) the schedules trade."""
    interval = next(iter(schedules.values())).interval
    symbols: dict[str, set[str]] = {}
    for schedule in schedules.values():
        if schedule.interval != interval:
            raise UserInputError(
                f"environments.{env_name}: live schedules must share one candle interval "
                f"({interval} and {schedule.interval} found)"
            )
        for venue in schedule.venues:
            symbols.setdefault(venue, set()).update(schedule.symbols)
    return interval, symbols


def refuse_unready_live(env_name: str, env: EnvironmentConfig, environ: Mapping[str, str]) -> None:
    """`mode: live` never falls back to paper: without keys or confirm_live it refuses, naming
    what is missing first."""
    problems = live_problems(env_name, env, environ)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserInputError(f"{problems[0]}{more}; refusing to start a live run")


def connect_venues(
    env_name: str,
    env: EnvironmentConfig,
    symbols: Mapping[str, set[str]],
    environ: Mapping[str, str],
    *,
    user_streams: bool = False,
) -> VenueRouter:
    """One ccxt adapter per venue, markets loaded (precision known before any order); refuses
    without keys or confirm_live. `user_streams`: the trading process also listens to each
    venue's user-data stream (operator tools poll)."""
    refuse_unready_live(env_name, env, environ)
    adapters: dict[str, CcxtExchange] = {}
    for venue in sorted(symbols):
        adapter = build_ccxt_exchange(
            env_name, env, venue, environ, poll_interval_ms=env.live.order_poll_ms, user_stream=user_streams
        )
        try:
            adapter.load_markets()
            for symbol in sorted(symbols[venue]):
                adapter.rules(symbol)
        except TradeopsError as exc:
            raise Fatal(f"environments.{env_name}.venues.{venue}: cannot trade live: {exc}") from exc
        adapters[venue] = adapter
    return VenueRouter(adapters, symbols)


def open_live(
    env_name: str,
    env: EnvironmentConfig,
    schedules: Mapping[str, Schedule],
    series: SeriesStore,
    environ: Mapping[str, str],
) -> LiveParts:
    """Connect to every venue the schedules trade and load `live.history_bars` closed candles of
    each instrument into `series`."""
    interval, symbols = live_symbols(env_name, schedules)
    router = connect_venues(env_name, env, symbols, environ, user_streams=True)
    sources: dict[str, CcxtMarketData | StreamedMarketData] = {}
    streams: list[CandleStream] = []
    for name, adapter in router.venues.items():
        if not isinstance(adapter, CcxtExchange):
            continue
        rest = CcxtMarketData(adapter.client, name, RetryPolicy(max_retries=env.venues[name].max_retries))
        sources[name] = rest
        if env.market_data.websocket:
            stream = market_stream(env, name, sorted(symbols[name]), interval, adapter.requests)
            streams.append(stream)
            sources[name] = StreamedMarketData(rest, stream)
    step = interval_to_ms(interval)
    instruments = [(v, s) for v in sorted(symbols) for s in sorted(symbols[v])]
    for venue, symbol in instruments:
        try:
            bars = sources[venue].closed_candles(symbol, interval, None, env.live.history_bars)
        except TradeopsError as exc:
            raise Fatal(f"{venue} {symbol}: cannot load candle history: {exc}") from exc
        for bar in bars:
            series.append(bar, step)
    dead_men = []
    for name, adapter in router.venues.items():
        seconds = env.venues[name].dead_man_seconds
        if seconds is not None and isinstance(adapter, CcxtExchange):
            caller = VenueCaller(adapter.client, name, RetryPolicy(max_retries=env.venues[name].max_retries))
            dead_men.append(CountdownDeadMan(caller, symbols[name], int(seconds * 1000)))
    return LiveParts(router, sources, instruments, interval, step, env.quote_asset, dead_men, streams)


def market_stream(
    env: EnvironmentConfig,
    venue_name: str,
    symbols: list[str],
    interval: str,
    requests: VenueRequestStats | None = None,
) -> CandleStream:
    """The started ccxt.pro candle stream of one venue (`market_data.websocket`)."""
    venue = env.venues[venue_name]
    market_stream_base(venue_name, venue)  # refuses a simulated venue with no stream URL, before starting
    stream = CandleStream(
        lambda: build_ccxt_pro_client(venue_name, venue),
        venue_name,
        symbols,
        interval,
        backoff_s=env.market_data.reconnect_backoff_ms / 1000,
        max_failures=env.market_data.max_failures,
        requests=requests,
    )
    stream.start()
    return stream
