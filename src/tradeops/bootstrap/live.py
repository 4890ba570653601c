"""Compose live order egress for one venue of a live environment (ccxt client + adapter).

The runtime does not use it yet (live egress is wired next); the benchmark and drills do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from tradeops.config.models import EnvironmentConfig
from tradeops.domain.errors import UserInputError
from tradeops.exchanges.ccxt_adapter import CcxtExchange
from tradeops.exchanges.ccxt_calls import RetryPolicy
from tradeops.exchanges.ccxt_client import build_ccxt_client


def build_ccxt_exchange(
    env_name: str,
    env: EnvironmentConfig,
    venue_name: str,
    environ: Mapping[str, str],
    *,
    clock_ms: Callable[[], int] | None = None,
    poll_interval_ms: int = 1_000,
) -> CcxtExchange:
    """A CcxtExchange for `environments.<env_name>.venues.<venue_name>`, keys from `environ`."""
    if venue_name not in env.venues:
        raise UserInputError(f"environments.{env_name}.venues: no venue {venue_name!r}")
    venue = env.venues[venue_name]
    client = build_ccxt_client(venue_name, venue, environ)
    cap = None if env.max_order_notional is None else Decimal(repr(env.max_order_notional))
    return CcxtExchange(
        client,
        venue_name,
        env.quote_asset,
        policy=RetryPolicy(max_retries=venue.max_retries),
        max_order_notional=cap,
        clock_ms=clock_ms,
        poll_interval_ms=poll_interval_ms,
    )
