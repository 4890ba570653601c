"""Continuing a persistent run: the market it replays, the cursor to resume after, and the entries
every start records (opening balance, resolved intents, run started/resumed)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeops.domain import events
from tradeops.domain.clock import ms_to_iso
from tradeops.domain.errors import Fatal, UserInputError
from tradeops.domain.money import decimal_str
from tradeops.domain.trading import OrderRequest, OrderType, Side, TradingState
from tradeops.runtime.stats import HALT_REASONS

if TYPE_CHECKING:
    from tradeops.bootstrap.account import Account
    from tradeops.bootstrap.engine import RunOptions, Runtime

MarketIdentity = dict[str, str | int | None]


def market_identity(opts: RunOptions, interval: str) -> MarketIdentity:
    """What market a run replays; an account resumes only on the same one."""
    if opts.market is not None:
        source = "memory"
    elif opts.data is None:
        source = "synthetic"
    else:
        source = str(opts.data)
    identity: MarketIdentity = {"source": source, "interval": interval}
    if source == "synthetic":
        identity.update(seed=opts.seed, bars=opts.synthetic_bars)
    if opts.from_ms is not None:
        identity["from_ms"] = opts.from_ms
    if opts.to_ms is not None:
        identity["to_ms"] = opts.to_ms
    return identity


def _text(market: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={market[k]}" for k in sorted(market))


def resume_point(account: Account, market: MarketIdentity) -> int:
    """The replay cursor to continue after (0: a new account). Another market is refused."""
    cursor = int(account.meta.get("cursor_ms", "0"))
    recorded = account.meta.get("market")
    if cursor and recorded is not None and recorded != _text(market):
        raise UserInputError(
            f"state {account.plan.store}: this account replays {recorded}; the run asks for "
            f"{_text(market)}: use the same market flags (--bars, --data, --from/--to), or --state NEW.sqlite"
        )
    return cursor


def _request(row: Any) -> OrderRequest:
    return OrderRequest(
        client_order_id=row.client_order_id,
        strategy=row.strategy,
        venue=row.venue,
        symbol=row.symbol,
        side=Side(row.side),
        quantity=row.quantity,
        reference_price=Decimal(0),
        ts=row.ts,
        order_type=OrderType(row.order_type),
        limit_price=row.limit_price,
        reduce_only=row.reduce_only,
    )


def resolve_intents(runtime: Runtime, account: Account, now_ms: int) -> int:
    """Every journaled intent without an outcome is looked up at its venue, never resent blindly."""
    intents = account.reconciled.projection.open_intents()
    exchange = runtime.engine.exchange
    resolve = getattr(exchange, "resolve", None)  # a live venue: by client order id at the venue
    lookup = getattr(exchange, "lookup", None)
    if intents and lookup is None and resolve is None:
        raise Fatal(
            f"{len(intents)} order intent(s) have no outcome and this venue cannot look orders up by "
            f"client order id (first: {intents[0].client_order_id}); resolve them before trading"
        )
    for intent in intents:
        if resolve is not None:
            order_id = resolve(intent.row())
        else:
            order_id = lookup(intent.client_order_id) if lookup else None
        if order_id is None:
            detail = (
                "intent had no acknowledgement before the restart and the venue does not hold it; not resent"
            )
            runtime.sink.record(
                events.order_abandoned(now_ms, intent.client_order_id, intent.strategy, intent.venue, detail)
            )
        else:
            runtime.sink.record(events.order_submitted(_request(intent), order_id))
    return len(intents)


def start_account(
    runtime: Runtime,
    account: Account,
    market: MarketIdentity,
    balances: Mapping[str, Decimal],
    initial: Decimal,
    resume_ms: int,
) -> None:
    """Record what this start found and did; halt on a mismatch; wire the fail-stop."""
    from tradeops.bootstrap.account import MISMATCH, mismatch_message

    engine, sink = runtime.engine, runtime.sink
    if account.mismatch is not None:
        runtime.halt_detail = mismatch_message(runtime.options.environment, account.mismatch)
        engine.fail_stop(MISMATCH, record=False)
        return

    def on_failure(reason: str) -> None:
        print(f"error: trading HALTED (state_store_unwritable): {reason}", file=sys.stderr)
        engine.fail_stop("state_store_unwritable")

    account.sink.on_failure = on_failure
    now = runtime.clock.now_ms()
    if account.reconciled.replayed is not None:
        first, last = account.reconciled.replayed
        sink.record(events.state_replayed(now, first, last))
    if not balances:
        quote = runtime.engine.portfolio.quote_asset
        sink.record(
            events.balances_set(now, {quote: decimal_str(initial)}, "opening balance of a new account")
        )
    resolve_intents(runtime, account, now)
    state = account.store.trading_state_details().get("global")
    if state is not None and state[0] is TradingState.HALTED and state[1] in HALT_REASONS:
        engine.clear_halt(f"recovered from {state[1]}: store level with the log")
    status = "resumed" if resume_ms else "started"
    sink.record(events.run_changed(now, status, account.plan.run_id, account.plan.kind, market))
    if resume_ms:
        runtime.resumed_from_ms = resume_ms
        print(
            f"state: {account.plan.kind} run {account.plan.run_id} resumes after {ms_to_iso(resume_ms)}",
            file=sys.stderr,
        )
    sink.flush()
