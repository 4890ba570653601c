"""`tradeops watchdog`: the kill path independent of the trading loop, on a live environment's own
venue connection (`ctx.venues`). `Watchdog.check` looks once (runtime/watchdog.py decides whether
a trigger fires, from the kill switch and the scheduler's heartbeat in `ctx.store`); when one
fires, `take_down(ctx, TakeDown) -> TakenDown` cancels the account's open orders at the venues
directly, flattens long positions if the active override says `positions: flatten`, and signs
what it did through `ctx.operator_log`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from tradeops.domain.errors import TradeopsError
from tradeops.domain.money import ZERO
from tradeops.domain.trading import OrderRequest, Side
from tradeops.ops.venue_actions import venues_of
from tradeops.ops_ports import OpsContext
from tradeops.runtime.heartbeat import kill_switch_confirmed_ms, read_heartbeat
from tradeops.runtime.watchdog import WatchdogInputs, WatchdogLimits, trigger

__all__ = ["TakeDown", "TakenDown", "Watchdog", "take_down"]


@dataclass(frozen=True, slots=True)
class TakeDown:
    trigger: str  # why (runtime.watchdog.trigger)
    heartbeat_age_s: float | None
    flatten: bool  # also sell what the account's strategies hold long
    first_order_seq: int = 1  # flattening orders are watchdog-<ms>-<seq>, counting from here


@dataclass(frozen=True, slots=True)
class TakenDown:
    trigger: str
    cancelled: tuple[tuple[str, str, str], ...]  # (venue, symbol, venue order id)
    flattened: tuple[dict[str, str], ...]
    heartbeat_age_s: float | None

    @property
    def acted(self) -> bool:
        """Something was cancelled or sent (and so signed)."""
        return bool(self.cancelled or self.flattened)

    def to_json(self) -> dict[str, object]:
        """What the signed entry's metadata holds."""
        return {
            "trigger": self.trigger,
            "cancelled": [{"venue": v, "symbol": s, "order_id": o} for v, s, o in self.cancelled],
            "flattened": list(self.flattened),
            "heartbeat_age_s": self.heartbeat_age_s,
        }


def _flatten(ctx: OpsContext, first_seq: int) -> list[dict[str, str]]:
    """Sell what the account's strategies hold long (spot), by market order at each venue."""
    venues = venues_of(ctx)
    held: dict[tuple[str, str], Decimal] = {}
    for pos in ctx.store.load_positions():
        held[(pos.venue, pos.symbol)] = held.get((pos.venue, pos.symbol), ZERO) + pos.quantity
    out = []
    seq = first_seq
    for (venue, symbol), quantity in sorted(held.items()):
        if quantity <= 0:
            continue
        now = ctx.clock_ms()
        order = OrderRequest(
            client_order_id=f"watchdog-{now}-{seq}",
            strategy="watchdog",
            venue=venue,
            symbol=symbol,
            side=Side.SELL,
            quantity=quantity,
            reference_price=ZERO,
            ts=now,
            reduce_only=True,
        )
        seq += 1
        try:
            ack = venues.submit(venue, order)
        except TradeopsError as exc:
            out.append({"venue": venue, "symbol": symbol, "error": str(exc)[:200]})
            continue
        out.append({"venue": venue, "symbol": symbol, "order_id": ack.order_id, "quantity": str(quantity)})
    return out


def take_down(ctx: OpsContext, command: TakeDown) -> TakenDown:
    """Cancel every open order at the venues (ours or not), flatten if asked, and sign what was
    done (kind watchdog, status cancelled_open_orders); nothing is signed when nothing was open."""
    venues = venues_of(ctx)
    cancelled = tuple(venues.cancel_everything())
    flattened = tuple(_flatten(ctx, command.first_order_seq)) if command.flatten else ()
    done = TakenDown(command.trigger, cancelled, flattened, command.heartbeat_age_s)
    if done.acted:
        ctx.operator_log.append(
            kind="watchdog",
            status="cancelled_open_orders",
            artefacts={"environment": venues.name, "trigger": command.trigger},
            metadata=done.to_json(),
        )
    return done


@dataclass
class Watchdog:
    """What the watchdog remembers between looks: since when the switch is engaged, how many
    flattening orders it sent."""

    ctx: OpsContext
    engaged: Callable[[], bool]
    positions_policy: Callable[[], str]
    engaged_since_ms: int | None = None
    orders_sent: int = 0

    @property
    def limits(self) -> WatchdogLimits:
        cfg = self.ctx.cfg.watchdog
        return WatchdogLimits(int(cfg.confirm_seconds * 1000), int(cfg.stale_seconds * 1000))

    def check(self) -> TakenDown | None:
        """One look; acts when a trigger fires. The outcome when something was cancelled or sent."""
        now = self.ctx.clock_ms()
        engaged = self.engaged()
        if engaged and self.engaged_since_ms is None:
            self.engaged_since_ms = now
        elif not engaged:
            self.engaged_since_ms = None
        store = self.ctx.store
        beat = read_heartbeat(store)
        confirmed = kill_switch_confirmed_ms(store) is not None
        inputs = WatchdogInputs(
            now, engaged, self.engaged_since_ms, confirmed, beat.wall_ms if beat else None
        )
        why = trigger(inputs, self.limits)
        if why is None:
            return None
        age = None if inputs.heartbeat_ms is None else (inputs.now_ms - inputs.heartbeat_ms) / 1000
        flatten = engaged and self.positions_policy() == "flatten"
        done = take_down(self.ctx, TakeDown(why, age, flatten, self.orders_sent + 1))
        self.orders_sent += len(done.flattened)
        return done if done.acted else None
