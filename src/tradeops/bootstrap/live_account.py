"""A live account seen from outside the scheduler (`tradeops reconcile`, `adopt`, `watchdog`): its
state store and a venue connection of its own, as the `VenueAccount` port (`LiveAccount`), and
`live_ops_context`, the operations context those doors run on."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tradeops.bootstrap.live import connect_venues, live_symbols
from tradeops.bootstrap.live_adoption import adopted_ids, record_adopted_order
from tradeops.bootstrap.live_adoption import shift_opening_balance as shift_opening
from tradeops.bootstrap.live_start import balance_tolerance, expected_balances
from tradeops.bootstrap.ops import assemble_ops_context
from tradeops.config.load import environment_of, load_config
from tradeops.config.models import AppConfig, EnvironmentConfig
from tradeops.domain.errors import UserInputError
from tradeops.domain.trading import OrderAck, OrderRequest
from tradeops.ops_ports import OpsContext
from tradeops.persistence.sql_store import SqlStateStore, open_state_store
from tradeops.runtime.live_reconcile import strategy_of
from tradeops.runtime.venue_reconcile import OrderView, ReconcileReport, reconcile
from tradeops.runtime.venue_router import VenueRouter


@dataclass
class LiveAccount:
    cfg: AppConfig
    name: str
    env: EnvironmentConfig
    store: SqlStateStore
    router: VenueRouter
    strategies: list[str]

    def close(self) -> None:
        self.store.close()

    def reconcile(self) -> ReconcileReport:
        """Compare the store's open orders and balances with the venues now (no fill is booked:
        the scheduler books them; a fill it has not seen yet shows as a difference)."""
        booked: dict[str, list[str]] = {}
        for row in self.store.table_rows("fills"):
            booked.setdefault(str(row["venue"]), []).append(str(row["fill_id"]))
        self.router.restore(self.store.load_open_orders(), booked)
        adopted = adopted_ids(self.store)
        return reconcile(
            self.router.local_open_orders(),
            [o for o in self.router.venue_open_orders() if o.client_order_id not in adopted],
            expected_balances(self.store, self.env.quote_asset),
            self.router.venue_balances(),
            strategy_of=strategy_of(self.strategies),
            tolerance=balance_tolerance(self.env),
        )

    def venue_open_orders(self) -> list[OrderView]:
        return self.router.venue_open_orders()

    def cancel_venue_order(self, venue: str, symbol: str, venue_order_id: str) -> bool:
        return self.router.venues[venue].cancel_venue_order(symbol, venue_order_id)

    def cancel_everything(self) -> list[tuple[str, str, str]]:
        return self.router.cancel_everything()

    def submit(self, venue: str, order: OrderRequest) -> OrderAck:
        return self.router.venues[venue].submit(order)

    def adopt_order(self, client_order_id: str, details: Mapping[str, str]) -> None:
        record_adopted_order(self.store, client_order_id, dict(details))

    def shift_opening_balance(self, venue: str, asset: str, delta: Decimal) -> None:
        shift_opening(self.store, venue, asset, delta)


def open_live_account(
    config_path: str | Path, environment: str, environ: Mapping[str, str] = os.environ
) -> LiveAccount:
    cfg = load_config(Path(config_path))
    env = environment_of(cfg, environment, config_path)
    if env.mode != "live":
        raise UserInputError(
            f"--environment {environment} is mode: paper; reconcile needs a live environment"
        )
    schedules = cfg.scheduler().schedules
    _interval, symbols = live_symbols(environment, schedules)
    router = connect_venues(environment, env, symbols, environ)
    store = open_state_store(env)
    return LiveAccount(cfg, environment, env, store, router, list(schedules))


def live_ops_context(
    config_path: str | Path, environment: str, environ: Mapping[str, str] = os.environ
) -> OpsContext:
    """The operations context of a live environment: its state store, its venues
    (`ctx.venues`), the operations log, the override files."""
    account = open_live_account(config_path, environment, environ)
    cfg = account.cfg
    ctx = assemble_ops_context(
        cfg, Path(config_path), environment, account.store, Path(cfg.runtime.overrides_dir), environ=environ
    )
    ctx.venues = account
    return ctx


def kill_switch_reader(
    ctx: OpsContext,
) -> tuple[Callable[[], bool], Callable[[], str], Callable[[], None]]:
    """(is the global kill switch engaged?, its positions policy, stop) from the same overrides
    directory and store the scheduler reads."""
    from tradeops.host.override_watcher import OverrideWatcher
    from tradeops.runtime.kill_switch import KillSwitch

    cfg = ctx.cfg
    watcher = OverrideWatcher(
        Path(cfg.runtime.overrides_dir),
        clock_ms=lambda: int(time.time() * 1000),
        poll_interval_ms=cfg.runtime.kill_switch.poll_interval_ms,
    )
    watcher.start()
    switch = KillSwitch(watcher, ctx.store, lambda: int(time.time() * 1000))

    def engaged() -> bool:
        return switch.override_active()

    def policy() -> str:
        return str(switch.on_disable().positions)

    return engaged, policy, watcher.stop
