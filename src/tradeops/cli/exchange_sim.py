"""`tradeops exchange-sim`: a local Binance-spot-compatible exchange to rehearse live trading on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal

import click

from tradeops.domain.errors import UserInputError

DEFAULT_PORT = 8765


@click.group("exchange-sim")
def exchange_sim() -> None:
    """Local exchange simulator (Binance spot REST API) that a real ccxt client talks to."""


@exchange_sim.command()
@click.option("--venue", type=click.Choice(["binance"]), default="binance", show_default=True)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port, printed on start).",
)
@click.option("--data", type=click.Path(exists=True), help="Candle file or directory to replay.")
@click.option("--synthetic", is_flag=True, help="The deterministic synthetic market (default).")
@click.option("--symbols", default="BTC/USDT,ETH/USDT,SOL/USDT", show_default=True)
@click.option("--interval", default="5m", show_default=True)
@click.option(
    "--step-ms",
    type=click.IntRange(min=0),
    default=None,
    help="Wall milliseconds per bar (default: the interval, real time; 0: the market moves "
    "only through the admin endpoint).",
)
@click.option(
    "--accounts",
    type=click.Path(exists=True, dir_okay=False),
    help='JSON {"accounts": [{"api_key", "secret", "balances"}]} (default: one funded account).',
)
@click.option(
    "--weight-limit",
    type=click.IntRange(min=10),
    default=6000,
    show_default=True,
    help="Request weight per minute per IP.",
)
@click.option(
    "--ws-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the WebSockets, user data and market streams (default: --port + 1000; any free "
    "port with --port 0).",
)
@click.option("--seed", type=int, default=7, show_default=True)
def serve(
    venue: str,
    port: int,
    data: str | None,
    synthetic: bool,
    symbols: str,
    interval: str,
    step_ms: int | None,
    accounts: str | None,
    weight_limit: int,
    ws_port: int | None,
    seed: int,
) -> None:
    """Serve the simulator until interrupted."""
    from tradeops.bootstrap.exchange_sim import SimOptions, serve_simulator
    from tradeops.domain.market import interval_to_ms

    if data and synthetic:
        raise UserInputError("--data and --synthetic: choose one")
    try:
        interval_ms = interval_to_ms(interval)
    except (ValueError, KeyError):
        raise UserInputError(f"--interval {interval!r}: use e.g. 1m, 5m, 1h") from None
    names = tuple(s.strip().upper() for s in symbols.split(",") if s.strip())
    if not names or any("/" not in s for s in names) or len(names) > 50:
        raise UserInputError(f"--symbols {symbols!r}: use 1..50 of BASE/QUOTE, e.g. BTC/USDT,ETH/USDT")
    serve_simulator(
        SimOptions(
            venue=venue,
            port=port,
            data=data,
            symbols=names,
            interval=interval,
            step_ms=interval_ms if step_ms is None else step_ms,
            accounts=accounts,
            weight_limit=weight_limit,
            ws_port=ws_port,
            seed=seed,
            maker_fee=Decimal("0.001"),
        )
    )


def fetch_keys(port: int, timeout: float = 5.0) -> tuple[str, str]:
    """The simulator's default account credentials (admin endpoint, loopback)."""
    url = f"http://127.0.0.1:{port}/_sim/keys"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read(4096))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UserInputError(
            f"--port {port}: no exchange simulator answers on 127.0.0.1:{port} ({exc}); "
            "start one with `tradeops exchange-sim serve --port {port}`".replace("{port}", str(port))
        ) from None
    return str(body["api_key"]), str(body["secret"])


@exchange_sim.command()
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
def keys(port: int) -> None:
    """Print the funded test account as `API_KEY SECRET` on one line."""
    api_key, secret = fetch_keys(port)
    click.echo(f"{api_key} {secret}")
