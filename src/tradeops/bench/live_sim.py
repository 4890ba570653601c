"""`tradeops bench live-sim`: live order egress through an unmodified ccxt.binance client to the
local exchange simulator (a separate process on 127.0.0.1), as the shipped `binance_sim`
environment configures it.

- signal->ack: from the moment an order is decided (its request built) until the venue's
  acknowledgement is back in the adapter (resting limit orders: no fill in the answer);
- signal->fill: the same for market orders, whose fill comes with the acknowledgement and is
  booked (fee in the fee asset) before `submit` returns;
- resting fill poll: from the market trading through a resting limit (simulator bar) until the
  adapter's poll has booked the fill;
- sustained orders/s: market orders back to back for `--seconds`, paced by ccxt's own rate
  limiter, with the venue's used weight (X-MBX-USED-WEIGHT-1M) staying under its limit;
- reconcile: with `--open-orders` resting orders, one comparison of the venue's open orders and
  balances (fetched through ccxt) with ours, by the reconcile design function (not wired yet).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from tradeops.cli.options import config_option
from tradeops.domain.trading import OrderRequest, OrderType, Side

SYMBOL = "BTC/USDT"
ENVIRONMENT = "binance_sim"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _order(i: int, run: int, side: Side, price: Decimal, limit: Decimal | None) -> OrderRequest:
    return OrderRequest(
        client_order_id=f"bench-{run}-{i}-{time.monotonic_ns() % 10**9}",
        strategy="daily_trend",
        venue="binance",
        symbol=SYMBOL,
        side=side,
        quantity=Decimal("0.001"),
        reference_price=price,
        ts=0,
        order_type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
        limit_price=limit,
    )


def _reconcile_phase(exchange: Any, sim: Any, price: Decimal, count: int) -> float:
    """Rest `count` limit orders, then time one comparison: the venue's open orders and balances
    fetched through ccxt and compared with ours (runtime.venue_reconcile.reconcile)."""
    from tradeops.runtime.venue_reconcile import reconcile

    sim.admin("reset", {})
    for i in range(count):
        limit = (price * Decimal("0.9") - i).quantize(Decimal("0.01"))
        exchange.submit(_order(i, 900, Side.BUY, price, limit))
    started = time.perf_counter()
    venue_orders = exchange.venue_open_orders([SYMBOL])
    balances = {("binance", a): v for a, v in exchange.balances().items()}
    report = reconcile(exchange.local_open_orders(), venue_orders, balances, balances)
    took = (time.perf_counter() - started) * 1000
    if not report.clean or len(venue_orders) != count:
        raise click.ClickException(f"reconcile found {len(report.diffs)} differences in a clean book")
    return took


def _stream_phase(
    env: Any, keys: dict[str, str], sim: Any, price: Decimal, run: int, count: int
) -> list[float]:
    """Bar -> fill booked from the user-data stream (`on_market`, no REST poll once caught up)."""
    from tradeops.bootstrap.live import build_ccxt_exchange

    venue = env.venues["binance"].model_copy(update={"user_stream_url": f"{sim.ws_url}/ws"})
    env = env.model_copy(update={"venues": {"binance": venue}})
    exchange = build_ccxt_exchange(
        ENVIRONMENT, env, "binance", keys, poll_interval_ms=3_600_000, user_stream=True
    )
    exchange.load_markets()
    limit = (price * Decimal("0.98")).quantize(Decimal("0.01"))
    out = []
    try:
        deadline = time.monotonic() + 10
        while not (exchange.stream and exchange.stream.healthy) and time.monotonic() < deadline:
            time.sleep(0.01)
        for i in range(count):
            exchange.submit(_order(i, run + 200, Side.BUY, price, limit))
            exchange.on_market([], [])  # the first one: the stream's catch-up poll
            bar = {"symbol": "BTCUSDT", "open": float(price), "high": float(price), "low": float(limit - 1)}
            started = time.perf_counter()
            sim.admin("bar", bar | {"close": float(price), "volume": 1000})
            fills: list[Any] = []
            deadline = time.monotonic() + 10
            while not fills and time.monotonic() < deadline:
                fills = list(exchange.on_market([], []))
            if not fills:
                raise click.ClickException("resting fill not delivered by the user-data stream")
            out.append((time.perf_counter() - started) * 1000)
    finally:
        if exchange.stream is not None:
            exchange.stream.stop()
    return out


def _one_run(config_path: Path, samples: int, seconds: float, run: int, open_orders: int) -> dict[str, float]:
    from tradeops.bootstrap.exchange_sim import SimulatorProcess
    from tradeops.bootstrap.live import build_ccxt_exchange
    from tradeops.config.load import load_config

    cfg = load_config(config_path)
    env = cfg.environments[ENVIRONMENT]
    sim = SimulatorProcess()
    try:
        venue = env.venues["binance"].model_copy(update={"url": sim.url})
        env = env.model_copy(update={"venues": {"binance": venue}})
        keys = {venue.api_key_env or "": sim.api_key, venue.secret_env or "": sim.secret}
        exchange = build_ccxt_exchange(ENVIRONMENT, env, "binance", keys, poll_interval_ms=0)
        exchange.load_markets()
        client: Any = exchange._ex
        price = Decimal(str(client.fetch_ticker(SYMBOL)["last"]))
        limit = (price * Decimal("0.98")).quantize(Decimal("0.01"))
        ack_ms, fill_ms, poll_ms = [], [], []
        for i in range(samples):
            side = Side.BUY if i % 2 == 0 else Side.SELL
            started = time.perf_counter()
            ack = exchange.submit(_order(i, run, side, price, None))
            fill_ms.append((time.perf_counter() - started) * 1000)
            assert ack.fills, "market order without a fill"
            started = time.perf_counter()
            rest = exchange.submit(_order(i, run, Side.BUY, price, limit))
            ack_ms.append((time.perf_counter() - started) * 1000)
            assert rest.open_quantity > 0 and not rest.fills
            if i % 5 == 0:  # let every fifth resting order fill, cancel the others
                started = time.perf_counter()
                sim.admin(
                    "bar",
                    {
                        "symbol": "BTCUSDT",
                        "open": float(price),
                        "high": float(price),
                        "low": float(limit - 1),
                        "close": float(price),
                        "volume": 1000,
                    },
                )
                assert exchange.poll(), "resting fill not booked"
                poll_ms.append((time.perf_counter() - started) * 1000)
            else:
                exchange.cancel(rest.order_id)
                exchange.poll()
        sim.admin("reset", {})
        sent, max_used, deadline = 0, 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            side = Side.BUY if sent % 2 == 0 else Side.SELL
            exchange.submit(_order(sent, run + 100, side, price, None))
            sent += 1
            headers = {k.lower(): v for k, v in (client.last_response_headers or {}).items()}
            max_used = max(max_used, int(headers.get("x-mbx-used-weight-1m", 0)))
        elapsed = time.perf_counter() - started
        reconcile_ms = _reconcile_phase(exchange, sim, price, open_orders)
        sim.admin("reset", {})
        stream_ms = _stream_phase(env, keys, sim, price, run, max(samples // 5, 5))
        retries = exchange._caller.retries
    finally:
        sim.stop()
    return {
        "signal_to_ack_p50_ms": _pct(ack_ms, 0.5),
        "signal_to_ack_p99_ms": _pct(ack_ms, 0.99),
        "signal_to_fill_p50_ms": _pct(fill_ms, 0.5),
        "signal_to_fill_p99_ms": _pct(fill_ms, 0.99),
        "resting_fill_poll_p50_ms": _pct(poll_ms, 0.5),
        "resting_fill_stream_p50_ms": _pct(stream_ms, 0.5),
        "sustained_orders_per_second": sent / elapsed,
        "max_used_weight_1m": max_used,
        "reconcile_open_orders_ms": reconcile_ms,
        "retries": retries,
    }


@click.command("live-sim")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--runs",
    type=click.IntRange(min=1, max=10),
    default=3,
    show_default=True,
    help="Median over this many runs (a fresh simulator process each).",
)
@click.option(
    "--samples",
    type=click.IntRange(min=10, max=2000),
    default=200,
    show_default=True,
    help="Orders of each kind timed per run.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=1.0, max=120.0),
    default=10.0,
    show_default=True,
    help="Length of the sustained-rate phase.",
)
@click.option(
    "--open-orders",
    type=click.IntRange(min=1, max=5000),
    default=1000,
    show_default=True,
    help="Resting orders in the reconcile phase.",
)
@config_option
def bench_live_sim(
    as_json: bool, runs: int, samples: int, seconds: float, open_orders: int, config_path: Path
) -> None:
    """Signal->ack / signal->fill latency and sustained orders/s through ccxt to the simulator."""
    console = Console(stderr=True, quiet=as_json)
    results = []
    for run in range(runs):
        console.print(f"live-sim run {run + 1}/{runs} ...")
        results.append(_one_run(config_path, samples, seconds, run, open_orders))
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    out: dict[str, Any] = {k: round(v, 2) for k, v in med.items()}
    out.update(
        runs=runs,
        samples=samples,
        sustained_seconds=seconds,
        reconcile_open_orders=open_orders,
        weight_limit_1m=6000,
        load_average_1m=round(os.getloadavg()[0], 2),
        path="OrderRequest -> CcxtExchange (precision, idempotent placement) -> ccxt.binance -> "
        "HTTP 127.0.0.1 -> tradeops exchange-sim (signature, weights, matching core)",
    )
    click.echo(json.dumps(out, indent=None if as_json else 2))
