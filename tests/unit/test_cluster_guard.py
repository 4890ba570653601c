"""Cluster mode in the runtime, driven through fakes: the lease standing and the override bucket
decide whether an order may leave and what the account's global state says."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tradeops.cluster.lease import HALT_AT, REDUCE_AT, LeaderLease
from tradeops.config.models import ClusterConfig
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import TradingState
from tradeops.runtime.cluster_guard import ClusterGate, ClusterGuard, Standing
from tradeops.runtime.overrides import INACTIVE, OverrideState, parse_override


@dataclass
class FakeLease:
    epoch: int = 4
    now: Standing = Standing.LEADING

    def standing(self) -> Standing:
        return self.now


@dataclass
class FakeOverrides:
    current: OverrideState = INACTIVE
    away_s: float = 0.0
    disabled: frozenset[str] = frozenset()

    def state(self) -> OverrideState:
        return self.current

    def strategy_disabled(self, strategy: str, now_ms: int) -> bool:
        return strategy in self.disabled

    def disconnected_for(self) -> float:
        return self.away_s


@dataclass
class FakeEngine:
    global_state: TradingState = TradingState.ACTIVE
    halt_reason: str | None = None
    changes: list[tuple[TradingState, str]] = field(default_factory=list)

    def set_state(self, scope: str, new: TradingState, reason: str) -> None:
        assert scope == "global"
        self.global_state = new
        self.changes.append((new, reason))


class HostGate:
    def allows_new_order(self, strategy: str) -> DenialReason | None:
        return DenialReason.STRATEGY_DISABLED if strategy == "daily_trend" else None


def _gate(lease: FakeLease, overrides: FakeOverrides) -> ClusterGate:
    return ClusterGate(HostGate(), lease, overrides, lambda: 1_000)


def test_orders_pass_only_while_the_lease_is_held_and_no_cluster_override_is_in_force() -> None:
    lease, overrides = FakeLease(), FakeOverrides()
    gate = _gate(lease, overrides)
    assert gate.allows_new_order("mean_reversion") is None
    assert gate.allows_new_order("daily_trend") is DenialReason.STRATEGY_DISABLED  # the host's own gate
    overrides.disabled = frozenset({"mean_reversion"})  # disabled through the bucket
    assert gate.allows_new_order("mean_reversion") is DenialReason.STRATEGY_DISABLED
    overrides.disabled = frozenset()
    lease.now = Standing.REDUCING
    assert gate.allows_new_order("mean_reversion") is None  # the risk gate allows reducing orders only
    lease.now = Standing.LOST
    assert gate.allows_new_order("mean_reversion") is DenialReason.KILL_SWITCH


def test_a_malformed_bucket_value_stops_every_order_fail_safe() -> None:
    overrides = FakeOverrides(parse_override(b"{not json", Path("nats-kv:multi_strategy_disable.json"), 0))
    gate = _gate(FakeLease(), overrides)
    assert overrides.current.malformed
    assert gate.allows_new_order("mean_reversion") is DenialReason.KILL_SWITCH
    assert gate.override is overrides.current


def test_the_guard_reduces_then_halts_as_the_lease_ages_and_never_lifts_another_cause() -> None:
    lease, overrides, engine = FakeLease(), FakeOverrides(), FakeEngine()
    guard = ClusterGuard(lease, overrides, max_disconnect_s=5.0)
    guard.apply(engine)
    assert engine.changes == []
    lease.now = Standing.REDUCING
    guard.apply(engine)
    lease.now = Standing.LOST
    guard.apply(engine)
    assert [state for state, _ in engine.changes] == [TradingState.REDUCING, TradingState.HALTED]
    other = FakeEngine(global_state=TradingState.REDUCING)  # e.g. the hard-drawdown monitor
    ClusterGuard(FakeLease(), overrides, 5.0).apply(other)
    assert other.changes == []


def test_nats_unreachable_longer_than_allowed_reduces_and_reconnecting_restores() -> None:
    overrides, engine = FakeOverrides(away_s=6.0), FakeEngine()
    guard = ClusterGuard(FakeLease(), overrides, max_disconnect_s=5.0)
    guard.apply(engine)
    assert engine.global_state is TradingState.REDUCING
    overrides.away_s = 0.0
    guard.apply(engine)
    assert engine.global_state is TradingState.ACTIVE


class Ticking:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_lease_is_judged_from_the_last_successful_renewal_and_loss_is_final() -> None:
    clock = Ticking()
    lease = LeaderLease(None, None, "leader.x", "host-a", 2.0, monotonic=clock)  # type: ignore[arg-type]
    assert lease.standing() is Standing.LOST  # never won
    lease._last_ok = clock.t
    assert lease.standing() is Standing.LEADING
    clock.t += 2.0 * REDUCE_AT
    assert lease.standing() is Standing.REDUCING
    clock.t += 2.0 * (HALT_AT - REDUCE_AT)
    assert lease.standing() is Standing.LOST
    lease._last_ok = clock.t
    assert lease.standing() is Standing.LOST  # this epoch never leads again


def test_the_cluster_block_is_strict() -> None:
    cfg = ClusterConfig(nats_url="nats://127.0.0.1:4222", host_id="host-a")
    assert cfg.lease_ttl_seconds > 0
    with pytest.raises(ValidationError, match="NATS URL"):
        ClusterConfig(nats_url="http://x", host_id="host-a")
    with pytest.raises(ValidationError, match="Extra inputs"):
        ClusterConfig.model_validate({"nats_url": "nats://h:1", "host_id": "a", "leader": "a"})


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(list(Standing)), st.floats(min_value=0.0, max_value=20.0)), max_size=30
    ),
    start=st.sampled_from(list(TradingState)),
)
def test_the_guard_never_trades_without_a_fresh_lease_and_never_lifts_what_it_did_not_set(
    steps: list[tuple[Standing, float]], start: TradingState
) -> None:
    lease, overrides = FakeLease(), FakeOverrides()
    engine = FakeEngine(global_state=start)
    guard = ClusterGuard(lease, overrides, max_disconnect_s=5.0)
    lost = False
    for standing, away in steps:
        lease.now = Standing.LOST if lost else standing
        lost = lost or standing is Standing.LOST
        overrides.away_s = away
        guard.apply(engine)
        if lease.now is not Standing.LEADING or away > 5.0:
            assert engine.global_state is not TradingState.ACTIVE
        if lost:
            assert engine.global_state is TradingState.HALTED
    if start is not TradingState.ACTIVE:
        assert all(state is not TradingState.ACTIVE for state, _ in engine.changes)
