"""Cluster mode as the runtime sees it: the lease standing and the cluster-wide overrides.

`ClusterGate` wraps the host's own order gate: an order passes only while this host holds a fresh
lease, no cluster override is in force (a malformed one counts as in force) and the host's gate
allows it. `ClusterGuard.apply`, run by the scheduler at every step, records the account's global
state: REDUCING when the lease renewal is late or NATS has been unreachable longer than
`max_disconnect_seconds`, HALTED when the lease is lost; ACTIVE again only when it set the state.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tradeops.config.overrides import OnDisable
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import TradingState
from tradeops.runtime.overrides import INACTIVE, OverrideState
from tradeops.runtime.ports import OrderGate

CLUSTER_REASON = "cluster:"


class Standing(enum.Enum):
    LEADING = "leading"
    REDUCING = "reducing"  # renewal late: reduce-only, and say so
    LOST = "lost"  # no new order at all; another host may lead soon


class LeaseStanding(Protocol):
    epoch: int

    def standing(self) -> Standing: ...


class BucketOverrides(Protocol):
    """The cluster's override bucket as last seen, and how long NATS has been unreachable."""

    def state(self) -> OverrideState: ...

    def strategy_disabled(self, strategy: str, now_ms: int) -> bool: ...

    def disconnected_for(self) -> float: ...


class GuardedEngine(Protocol):
    global_state: TradingState
    halt_reason: str | None

    def set_state(self, scope: str, new: TradingState, reason: str) -> None: ...


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass
class ClusterGate:
    """Implements OrderGate (and what the engine reads of a kill switch: override, on_disable)."""

    inner: OrderGate | None
    lease: LeaseStanding
    overrides: BucketOverrides
    clock_ms: Callable[[], int]

    def allows_new_order(self, strategy: str) -> DenialReason | None:
        if self.lease.standing() is Standing.LOST:
            return DenialReason.KILL_SWITCH
        now = self.clock_ms()
        if self.overrides.state().active_at(now):
            return DenialReason.KILL_SWITCH
        inner = None if self.inner is None else self.inner.allows_new_order(strategy)
        if inner is None and self.overrides.strategy_disabled(strategy, now):
            return DenialReason.STRATEGY_DISABLED
        return inner

    @property
    def override(self) -> OverrideState:
        remote = self.overrides.state()
        if remote.active_at(self.clock_ms()):
            return remote
        local = getattr(self.inner, "override", None)
        return local if isinstance(local, OverrideState) else INACTIVE

    def on_disable(self) -> OnDisable:
        remote = self.overrides.state()
        if remote.active_at(self.clock_ms()):
            return remote.on_disable
        inner = self.inner.on_disable() if self.inner is not None else None
        return inner if isinstance(inner, OnDisable) else OnDisable()

    def override_malformed(self) -> bool:
        if self.overrides.state().malformed:
            return True
        return self.inner.override_malformed() if self.inner is not None else False

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)  # disabled_strategies, refresh_statuses, watcher...


class ClusterGuard:
    def __init__(self, lease: LeaseStanding, overrides: BucketOverrides, max_disconnect_s: float) -> None:
        self.lease = lease
        self.overrides = overrides
        self.max_disconnect_s = max_disconnect_s
        self.standing = Standing.LEADING

    def wanted(self) -> tuple[TradingState, str]:
        standing = self.standing = self.lease.standing()
        if standing is Standing.LOST:
            return TradingState.HALTED, f"{CLUSTER_REASON} lease epoch {self.lease.epoch} lost"
        if standing is Standing.REDUCING:
            return TradingState.REDUCING, f"{CLUSTER_REASON} lease renewal late (epoch {self.lease.epoch})"
        away = self.overrides.disconnected_for()
        if away > self.max_disconnect_s:
            return TradingState.REDUCING, f"{CLUSTER_REASON} NATS unreachable for {away:.1f}s"
        return TradingState.ACTIVE, f"{CLUSTER_REASON} lease held, NATS reachable"

    def apply(self, engine: GuardedEngine) -> Standing:
        """Bring the engine's global state in line with the cluster; never lift another cause."""
        state, reason = self.wanted()
        current = engine.global_state
        ours = engine.halt_reason is None and self._set_by_us(engine)
        if state is TradingState.ACTIVE:
            if current is not TradingState.ACTIVE and ours:
                engine.set_state("global", TradingState.ACTIVE, reason)
                self._last_reason = ""
        elif _SEVERITY[state] > _SEVERITY[current] or (ours and state is not current):
            engine.set_state("global", state, reason)
            self._last_reason = reason
        return self.standing

    _last_reason: str = ""

    def _set_by_us(self, engine: GuardedEngine) -> bool:
        return engine.global_state is not TradingState.ACTIVE and self._last_reason.startswith(CLUSTER_REASON)


# --- what `tradeops cluster status` reports (filled by bootstrap, shown by ops) ---------------


@dataclass(frozen=True, slots=True)
class Member:
    host_id: str
    role: str
    epoch: int
    lag_entries: int  # log entries the host's local copy is behind the stream
    seen_age_s: float


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """What the cluster's buckets, stream and fence row say right now (built by bootstrap)."""

    leader: str | None
    lease_epoch: int | None
    lease_age_s: float | None
    fence_epoch: int | None
    refused_writes: int
    stream_entries: int
    members: tuple[Member, ...]
