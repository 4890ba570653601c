"""The live-venue operator actions as (context, Command) -> View on the in-memory fakes: reconcile,
cancel an unknown venue order, adopt an order or a balance, the watchdog's take-down. Each signs
one entry through `ctx.operator_log` before it changes anything; a refusal or an unwritable log
changes nothing at the venue or in the books."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.unit.ops_fakes import log_of, store_of, venues_of
from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.domain.errors import AuditWriteFailed, UserInputError
from tradeops.domain.trading import Position, Side
from tradeops.ops.control_common import Door
from tradeops.ops.venue_actions import CancelUnknownOrder, ShowReconcile, cancel_unknown, show_reconcile
from tradeops.ops.venue_adopt import AdoptCommand, adopt
from tradeops.ops.watchdog import TakeDown, Watchdog, take_down
from tradeops.ops_ports import OpsContext
from tradeops.ops_ports.fakes import fake_ops_context
from tradeops.runtime.heartbeat import HEARTBEAT_KV_KEY, Heartbeat
from tradeops.runtime.venue_reconcile import ACCOUNT, Diff, DiffKind, OrderView, ReconcileReport

REPO = Path(__file__).resolve().parents[2]
NOW = 1_772_366_400_000
CLI = Door("cli", "os-user")
DESK = OrderView("desk-1", "binance", "BTC/USDT", Side.BUY, Decimal("0.001"), "v-9")
UNKNOWN = Diff(DiffKind.UNKNOWN_VENUE_ORDER, "desk-1", ACCOUNT, "-", "buy 0.001 BTC/USDT")
BALANCE = Diff(DiffKind.BALANCE_MISMATCH, "binance:BTC", ACCOUNT, "0.5", "0.502")


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    return load_config(REPO / "config" / "core.yaml")


@pytest.fixture
def ctx(cfg: AppConfig) -> OpsContext:
    context = fake_ops_context(cfg, environment="binance_live", now_ms=NOW)
    venues = venues_of(context)
    venues.open_orders = [DESK]
    venues.report = ReconcileReport((UNKNOWN, BALANCE), frozenset({ACCOUNT}))
    return context


def test_reconcile_shows_every_difference_and_writes_nothing(ctx: OpsContext) -> None:
    shown = show_reconcile(ctx, ShowReconcile())
    assert not shown.clean
    assert shown.to_json() == {
        "environment": "binance_live",
        "clean": False,
        "reducing": [ACCOUNT],
        "rows": [
            {"kind": "unknown_venue_order", "key": "desk-1", "local": "-", "venue": "buy 0.001 BTC/USDT",
             "action": UNKNOWN.action},
            {"kind": "balance_mismatch", "key": "binance:BTC", "local": "0.5", "venue": "0.502",
             "action": BALANCE.action},
        ],
    }  # fmt: skip
    assert log_of(ctx).entries == []


def test_cancel_unknown_signs_then_cancels(ctx: OpsContext) -> None:
    done = cancel_unknown(ctx, CancelUnknownOrder("desk-1", "fat finger", "INC-9", CLI, "l2"))
    assert done.to_json() == {"client_order_id": "desk-1", "venue": "binance", "cancelled": True}
    assert done.line() == "cancelled at binance: desk-1"
    assert venues_of(ctx).cancelled == [("binance", "BTC/USDT", "v-9")]
    [entry] = log_of(ctx).entries
    assert (entry["kind"], entry["status"], entry["stage"]) == ("reconcile", "cancel_unknown_order", "stage4")
    assert entry["artefacts"] == {
        "environment": "binance_live",
        "venue": "binance",
        "symbol": "BTC/USDT",
        "client_order_id": "desk-1",
        "venue_order_id": "v-9",
    }
    assert entry["metadata"] == {
        "reason": "fat finger",
        "ticket": "INC-9",
        "requested_by": "l2",
        "venue_view": "buy 0.001 BTC/USDT",
    }


def test_cancel_unknown_refusals_and_an_unwritable_log_send_nothing(ctx: OpsContext) -> None:
    with pytest.raises(UserInputError, match="--reason"):
        cancel_unknown(ctx, CancelUnknownOrder("desk-1", " ", "INC-9", CLI))
    with pytest.raises(UserInputError, match="not an unknown venue order now"):
        cancel_unknown(ctx, CancelUnknownOrder("ours-1", "x", "INC-9", CLI))
    log_of(ctx).fail = "disk full"
    with pytest.raises(AuditWriteFailed):
        cancel_unknown(ctx, CancelUnknownOrder("desk-1", "x", "INC-9", CLI))
    assert venues_of(ctx).cancelled == [] and log_of(ctx).entries == []
    log_of(ctx).fail = None
    done = cancel_unknown(ctx, CancelUnknownOrder("desk-1", "x", "INC-9", CLI))  # requester: the door's
    assert log_of(ctx).entries[0]["metadata"]["requested_by"] == "os-user" and done.cancelled


def test_adopt_an_order_and_a_balance(ctx: OpsContext) -> None:
    order = adopt(ctx, AdoptCommand("order", "desk-1", "desk keeps it", "INC-7", CLI, "itest"))
    balance = adopt(ctx, AdoptCommand("balance", "binance:BTC", "desk trade", "INC-7", CLI, "itest"))

    venues = venues_of(ctx)
    assert venues.adopted == {"desk-1": {"venue": "binance", "symbol": "BTC/USDT", "venue_order_id": "v-9"}}
    assert venues.opening_shifts == [("binance", "BTC", Decimal("0.002"))]
    assert order.to_json() == {
        "environment": "binance_live", "kind": "order", "key": "desk-1", "local_before": "-",
        "venue": "buy 0.001 BTC/USDT", "local_after": "adopted: buy 0.001 BTC/USDT", "entry_seq": 1,
    }  # fmt: skip
    assert balance.local_after == "0.502" and balance.entry_seq == 2
    assert balance.line() == "adopted balance binance:BTC in binance_live: 0.5 -> 0.502 (signed, seq 2)"
    first, second = log_of(ctx).entries
    assert (first["kind"], first["status"], second["status"]) == ("reconcile", "adopt_order", "adopt_balance")
    assert first["artefacts"] == {
        "environment": "binance_live", "kind": "order", "key": "desk-1",
        "venue": "binance", "symbol": "BTC/USDT", "venue_order_id": "v-9",
    }  # fmt: skip
    assert second["artefacts"] == {"environment": "binance_live", "kind": "balance", "key": "binance:BTC"}
    assert second["metadata"] == {
        "reason": "desk trade", "ticket": "INC-7", "requested_by": "itest",
        "local": "0.5", "venue_view": "0.502",
    }  # fmt: skip


def test_adopt_refusals_and_an_unwritable_log_change_nothing(ctx: OpsContext) -> None:
    for command, message in (
        (AdoptCommand("order", "desk-1", "", "INC-7", CLI), "--reason"),
        (AdoptCommand("order", "desk-1", "x", " ", CLI), "--ticket"),
        (AdoptCommand("order", "binance:BTC", "x", "INC-7", CLI), "not a current unknown_venue_order"),
        (AdoptCommand("balance", "desk-1", "x", "INC-7", CLI), "not a current balance_mismatch"),
    ):
        with pytest.raises(UserInputError, match=message):
            adopt(ctx, command)
    log_of(ctx).fail = "disk full"
    with pytest.raises(AuditWriteFailed):
        adopt(ctx, AdoptCommand("balance", "binance:BTC", "x", "INC-7", CLI))
    venues = venues_of(ctx)
    assert venues.adopted == {} and venues.opening_shifts == [] and log_of(ctx).entries == []


def test_take_down_cancels_everything_flattens_longs_and_signs_it(ctx: OpsContext) -> None:
    venues = venues_of(ctx)
    venues.open_orders.append(OrderView("ours-1", "binance", "ETH/USDT", Side.SELL, Decimal("1"), "v-10"))
    store_of(ctx).positions = [
        Position("daily_trend", "binance", "BTC/USDT", Decimal("0.01")),
        Position("mean_reversion", "binance", "BTC/USDT", Decimal("0.02")),
        Position("mean_reversion", "binance", "ETH/USDT", Decimal("-1")),  # short: not sold
    ]
    done = take_down(ctx, TakeDown("kill_switch_unconfirmed", 0.5, flatten=True, first_order_seq=3))

    assert done.acted and venues.open_orders == []
    [(venue, sent)] = venues.submitted
    assert (venue, sent.symbol, sent.side, sent.quantity) == (
        "binance",
        "BTC/USDT",
        Side.SELL,
        Decimal("0.03"),
    )
    assert sent.reduce_only and sent.client_order_id == f"watchdog-{NOW}-3"
    [entry] = log_of(ctx).entries
    assert (entry["kind"], entry["status"]) == ("watchdog", "cancelled_open_orders")
    assert entry["artefacts"] == {"environment": "binance_live", "trigger": "kill_switch_unconfirmed"}
    assert entry["metadata"] == {
        "trigger": "kill_switch_unconfirmed",
        "cancelled": [
            {"venue": "binance", "symbol": "BTC/USDT", "order_id": "v-9"},
            {"venue": "binance", "symbol": "ETH/USDT", "order_id": "v-10"},
        ],
        "flattened": [
            {"venue": "binance", "symbol": "BTC/USDT", "order_id": "binance-1", "quantity": "0.03"}
        ],
        "heartbeat_age_s": 0.5,
    }
    assert done.to_json() == entry["metadata"]


def test_take_down_with_nothing_open_signs_nothing_and_a_failed_send_is_reported(ctx: OpsContext) -> None:
    venues = venues_of(ctx)
    venues.open_orders = []
    assert not take_down(ctx, TakeDown("heartbeat_stale", 9.0, flatten=False)).acted
    assert log_of(ctx).entries == []
    store_of(ctx).positions = [Position("daily_trend", "binance", "BTC/USDT", Decimal("0.01"))]
    venues.reject = "venue down"
    done = take_down(ctx, TakeDown("heartbeat_stale", 9.0, flatten=True))
    assert done.flattened == ({"venue": "binance", "symbol": "BTC/USDT", "error": "venue down"},)
    assert [e["metadata"]["flattened"] for e in log_of(ctx).entries] == [list(done.flattened)]


def _beat(wall_ms: int) -> str:
    return Heartbeat(
        wall_ms, wall_ms - 60_000, 1, "binance_live", True, 10, 5, "active", False, False
    ).to_json()


def test_the_watchdog_acts_on_a_stale_heartbeat_and_numbers_its_orders_across_looks(ctx: OpsContext) -> None:
    stale_ms = int(ctx.cfg.watchdog.stale_seconds * 1000)
    store_of(ctx).kv[HEARTBEAT_KV_KEY] = _beat(NOW - stale_ms + 1)
    store_of(ctx).positions = [Position("daily_trend", "binance", "BTC/USDT", Decimal("0.01"))]
    dog = Watchdog(ctx, engaged=lambda: True, positions_policy=lambda: "flatten")
    assert dog.check() is None  # fresh beat, switch engaged but not yet past the confirm window

    store_of(ctx).kv[HEARTBEAT_KV_KEY] = _beat(NOW - stale_ms - 1)
    first = dog.check()
    assert (
        first is not None
        and first.trigger == "heartbeat_stale"
        and first.heartbeat_age_s == stale_ms / 1000 + 0.001
    )
    venues_of(ctx).open_orders = [DESK]
    second = dog.check()
    assert second is not None
    ids = [order.client_order_id for _venue, order in venues_of(ctx).submitted]
    assert ids == [f"watchdog-{NOW}-1", f"watchdog-{NOW}-2"]
    assert [e["kind"] for e in log_of(ctx).entries] == ["watchdog", "watchdog"]
