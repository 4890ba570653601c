"""Starting a live account: what the venues held when the account began (the reconcile baseline),
the trade ids already booked, the first reconciliation and the after-step loop."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeops.config.models import EnvironmentConfig
from tradeops.domain.errors import Fatal, TradeopsError
from tradeops.domain.money import ZERO, decimal_str, to_decimal
from tradeops.domain.trading import Fill, Liquidity, Side, base_asset
from tradeops.runtime.live_loop import LiveLoop
from tradeops.runtime.live_reconcile import ReconcileLoop

if TYPE_CHECKING:
    from tradeops.bootstrap.account import Account
    from tradeops.bootstrap.engine import Runtime
    from tradeops.bootstrap.live import LiveParts

OPENING_KEY = "live_opening_balances"  # kv: {venue: {asset: amount}} before the account's first fill
DEFAULT_TOLERANCE = Decimal("0.00000001")


def fill_of_row(row: Mapping[str, Any]) -> Fill:
    return Fill(
        order_id=str(row["order_id"]),
        client_order_id=str(row["client_order_id"]),
        strategy=str(row["strategy"]),
        venue=str(row["venue"]),
        symbol=str(row["symbol"]),
        side=Side(str(row["side"])),
        quantity=to_decimal(row["quantity"]),
        price=to_decimal(row["price"]),
        fee=to_decimal(row["fee"]),
        fee_asset=str(row["fee_asset"]),
        liquidity=Liquidity(str(row["liquidity"])),
        ts=int(row["ts"]),
        trade_id=str(row["fill_id"]),
    )


def fill_deltas(rows: Iterable[Mapping[str, Any]], quote: str) -> dict[tuple[str, str], Decimal]:
    """What the booked fills (store rows) changed per (venue, asset)."""
    return balance_deltas((fill_of_row(row) for row in rows), quote)


def balance_deltas(fills: Iterable[Fill], quote: str) -> dict[tuple[str, str], Decimal]:
    """What fills change per (venue, asset): base by the position change, quote by cash, a fee in
    a third asset off that asset."""
    out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for fill in fills:
        base = base_asset(fill.symbol)
        if base:
            out[(fill.venue, base)] += fill.position_change
        out[(fill.venue, quote)] += fill.cash_change
        if fill.fee and fill.fee_asset not in (base, quote):
            out[(fill.venue, fill.fee_asset)] -= fill.fee
    return dict(out)


def booked_trade_ids(account: Account) -> dict[str, list[str]]:
    booked: dict[str, list[str]] = defaultdict(list)
    for row in account.store.table_rows("fills"):
        booked[str(row["venue"])].append(str(row["fill_id"]))
    return dict(booked)


def opening_balances(store: Any) -> dict[tuple[str, str], Decimal] | None:
    """What the venues held before the account's fills (None: not recorded yet)."""
    raw = store.kv_get(OPENING_KEY)
    if not raw:
        return None
    data = json.loads(raw)
    return {(v, a): Decimal(x) for v, assets in data.items() for a, x in assets.items()}


def expected_balances(store: Any, quote: str) -> dict[tuple[str, str], Decimal]:
    """Per (venue, asset): the opening balance plus what every booked fill changed."""
    out = dict(opening_balances(store) or {})
    for key, delta in fill_deltas(store.table_rows("fills"), quote).items():
        out[key] = out.get(key, ZERO) + delta
    return out


def _opening(account: Account | None) -> dict[tuple[str, str], Decimal] | None:
    return opening_balances(account.store) if account is not None else None


def live_opening(live: LiveParts, account: Account | None, balances: Mapping[str, Decimal]) -> Decimal:
    """Record the venues' balances before this account's fills (once) and return the quote cash a
    new account starts with: what the venues hold in the quote asset."""
    quote = live.quote_asset
    venue = live.router.venue_balances()
    if account is not None and _opening(account) is None:
        deltas = fill_deltas(account.store.table_rows("fills"), quote)
        opening: dict[str, dict[str, str]] = defaultdict(dict)
        for key in sorted(venue.keys() | deltas.keys()):
            amount = venue.get(key, ZERO) - deltas.get(key, ZERO)
            opening[key[0]][key[1]] = decimal_str(amount)
        account.store.kv_set(OPENING_KEY, json.dumps(opening, sort_keys=True))
    return sum((amount for (_v, asset), amount in venue.items() if asset == quote), ZERO) or balances.get(
        quote, ZERO
    )


def balance_tolerance(env: EnvironmentConfig) -> defaultdict[str, Decimal]:
    tolerance: defaultdict[str, Decimal] = defaultdict(lambda: DEFAULT_TOLERANCE)
    tolerance.update({a: to_decimal(v) for a, v in env.live.balance_tolerance.items()})
    return tolerance


def _with_dead_men(loop: LiveLoop, live: LiveParts, runtime: Runtime) -> Any:
    """The live loop's step, then re-arm each venue's cancel-all countdown when due (a failure is
    counted and logged; the countdown the venue holds keeps running, so it fails closed)."""
    stats = runtime.engine.stats

    def on_step(now_ms: int, report: Any = None) -> None:
        loop.on_step(now_ms, report)
        for dead_man in live.dead_men:
            try:
                dead_man.beat(now_ms)
            except TradeopsError as exc:
                stats.exchange_errors[(dead_man.venue, "dead_man")] += 1
                print(f"{dead_man.venue}: dead-man's switch not re-armed: {exc}", file=sys.stderr)

    return on_step


def start_live(runtime: Runtime, env: EnvironmentConfig, live: LiveParts, account: Account | None) -> None:
    """Wire the reconcile loop after each step; reconcile once before trading."""
    quote = env.quote_asset

    def expected() -> dict[tuple[str, str], Decimal]:
        if account is None:
            return {}
        runtime.sink.flush()
        runtime.sink.commit()  # every fill booked so far is in the store
        return expected_balances(account.store, quote)

    def adopted() -> frozenset[str]:
        from tradeops.bootstrap.live_adoption import adopted_ids

        return adopted_ids(account.store) if account is not None else frozenset()

    reconcile = ReconcileLoop(
        runtime.engine,
        live.router,
        expected,
        int(env.live.reconcile_interval_seconds * 1000),
        balance_tolerance(env),
        adopted,
    )
    loop = LiveLoop(runtime.engine, account.store if account is not None else None, reconcile)
    runtime.live_loop = loop
    step_hook = loop.on_step
    if live.dead_men:
        step_hook = _with_dead_men(loop, live, runtime)
    for name, venue in live.router.venues.items():
        requests = getattr(venue, "requests", None)
        if requests is not None:
            runtime.engine.stats.venue_requests[name] = requests  # per-endpoint metrics
    runtime.scheduler.on_step = step_hook
    runtime.closers.extend(stream.stop for stream in live.market_streams)
    if live.market_streams:
        names = ", ".join(stream.venue for stream in live.market_streams)
        print(f"market data: {names} by websocket (ccxt.pro), REST catch-up and fallback", file=sys.stderr)
    now = runtime.clock.now_ms()
    report = reconcile.run(now)
    if report is not None and not report.clean:
        print(
            f"reconcile: {len(report.diffs)} difference(s) with the venues; affected strategies reduce "
            "(tradeops reconcile shows them)",
            file=sys.stderr,
        )
    for dead_man in live.dead_men:  # armed before the first order; a venue refusing it does not trade
        try:
            dead_man.beat(now)
        except TradeopsError as exc:
            raise Fatal(f"{dead_man.venue}: cannot arm dead-man's switch (dead_man_seconds): {exc}") from exc
    loop.on_step(now)
    runtime.sink.flush()
