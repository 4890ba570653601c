"""The running scheduler's heartbeat: what it actually does, stamped with wall-clock time.

Every step (and once a second while it waits) the scheduler publishes a Heartbeat through the
HeartbeatSink port; the store-backed adapter keeps the latest one under HEARTBEAT_KV_KEY, where the
operator tools (`--check-disabled`, `tradeops kill-switch status`, `GET /v1/status`) and the
watchdog (`tradeops watchdog`: a stale beat takes the venues' orders down) read it. It is the only
heartbeat: one key, one writer. A
heartbeat older than `stale_after_s` means no scheduler is running (or it is hung).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tradeops.domain.trading import TradingState
from tradeops.runtime.stats import RuntimeStats

HEARTBEAT_KV_KEY = "runtime.scheduler_heartbeat"  # the state store's kv row holding the latest beat


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One observation of the running scheduler; every time is wall-clock Unix milliseconds."""

    wall_ms: int
    started_ms: int
    pid: int
    environment: str
    running: bool
    steps: int
    cycles: int
    global_state: str
    override_active: bool
    override_malformed: bool
    strategies: Mapping[str, str] = field(default_factory=dict)  # name -> active|disabled|halted|...
    halt_reason: str | None = None
    market_time_ms: int | None = None
    last_order_ms: int | None = None
    interval_s: float = 1.0
    stale_after_s: float = 5.0
    run_id: str = ""  # the account run publishing it

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "strategies": dict(self.strategies)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Heartbeat | None:
        """The stored beat, or None when it is missing or not one (never raises on bad content)."""
        try:
            raw: Any = json.loads(text)
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        except (ValueError, TypeError, KeyError):
            return None

    def age_s(self, now_ms: int) -> float:
        return max(0.0, (now_ms - self.wall_ms) / 1000)

    def live_at(self, now_ms: int) -> bool:
        """A running scheduler whose last beat is recent enough to be believed."""
        return self.running and self.age_s(now_ms) <= self.stale_after_s


class HeartbeatSink(Protocol):
    """Where heartbeats go (the state store's kv row in production, a list in tests)."""

    def publish(self, beat: Heartbeat) -> None: ...


class HeartbeatPublisher:
    """Builds heartbeats from the runtime's live figures and publishes them, at most every
    `interval_s` of wall time unless something an operator cares about changed (a trading state,
    the override), which is published at once."""

    def __init__(
        self,
        stats: RuntimeStats,
        sink: HeartbeatSink,
        wall_ms: Callable[[], int],
        *,
        interval_s: float = 1.0,
        stale_after_s: float = 5.0,
        run_id: str = "",
    ) -> None:
        self.run_id = run_id
        self.stats = stats
        self.sink = sink
        self.wall_ms = wall_ms
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self.started_ms = wall_ms()
        self.steps = 0
        self.market_time_ms: int | None = None
        self.last: Heartbeat | None = None
        self._orders = 0
        self._last_order_ms: int | None = None
        self._cycles: dict[str, int] = {}
        self._seen: dict[str, tuple[bool, TradingState]] = {}  # (disabled, state) as last published
        self._seen_global: TradingState | None = None  # stats.global_state as last published
        self.failures = 0
        self.on_change: Callable[[str], None] | None = None  # one line per observed change (the console)

    def _states(self) -> dict[str, str]:
        return {
            name: "disabled" if s.disabled else s.trading_state.value
            for name, s in sorted(self.stats.strategies.items())
        }

    def on_step(self, market_time_ms: int, steps: int) -> None:
        """After a scheduler step: stamp the strategies that ran a cycle, note a new order, and
        publish only when due or when an observed state changed (one pass over the strategies)."""
        self.steps = steps
        self.market_time_ms = market_time_ms
        stats = self.stats
        now = stats.last_step_wall_ms = self.wall_ms()
        cycles, seen = self._cycles, self._seen
        orders = 0
        changed = False
        for name, strategy in stats.strategies.items():
            ran = strategy.cycles
            if ran != cycles.get(name, 0):  # it ran a cycle in this step
                cycles[name] = ran
                strategy.last_cycle_wall_ms = now
            orders += strategy.orders
            was = seen.get(name)
            if was is None or was[0] != strategy.disabled or was[1] != strategy.trading_state:
                changed = True
        if orders != self._orders:
            self._orders, self._last_order_ms = orders, now
        last = self.last
        if (
            changed
            or last is None
            or now - last.wall_ms >= self.interval_s * 1000
            or len(seen) != len(stats.strategies)
            or stats.global_state != self._seen_global  # the state whose value `last` holds
            or last.override_active != stats.override_active
            or last.override_malformed != stats.override_malformed
            or not last.running
        ):
            self.beat()

    def beat(self, *, force: bool = False, running: bool = True) -> Heartbeat | None:
        """Publish now if due (or forced, or the observed state changed); return what was published."""
        now = self.wall_ms()
        orders = sum(s.orders for s in self.stats.strategies.values())
        if orders != self._orders:
            self._orders, self._last_order_ms = orders, now
        states = self._states()
        last = self.last
        changed = last is None or (
            last.strategies != states
            or last.global_state != self.stats.global_state.value
            or last.override_active != self.stats.override_active
            or last.override_malformed != self.stats.override_malformed
            or last.running != running
        )
        if not (force or changed) and last is not None and now - last.wall_ms < self.interval_s * 1000:
            return None
        global_state = self.stats.global_state
        beat = Heartbeat(
            wall_ms=now,
            started_ms=self.started_ms,
            pid=os.getpid(),
            environment=self.stats.environment,
            running=running,
            steps=self.steps,
            cycles=sum(s.cycles for s in self.stats.strategies.values()),
            global_state=global_state.value,
            override_active=self.stats.override_active,
            override_malformed=self.stats.override_malformed,
            strategies=states,
            halt_reason=self.stats.halt_reason,
            market_time_ms=self.market_time_ms,
            last_order_ms=self._last_order_ms,
            interval_s=self.interval_s,
            stale_after_s=self.stale_after_s,
            run_id=self.run_id,
        )
        if last is not None and self.on_change is not None:
            for line in describe_changes(last, beat):
                self.on_change(line)
        self.stats.heartbeat_ms = now
        self.stats.heartbeat_stale_after_s = self.stale_after_s
        try:
            self.sink.publish(beat)
        except Exception:  # the heartbeat reports; a failing one never stops trading
            self.failures += 1
            return None
        self.last = beat
        self._seen_global = global_state
        self._seen = {name: (s.disabled, s.trading_state) for name, s in self.stats.strategies.items()}
        return beat

    def stopped(self) -> None:
        """A clean stop: say so at once, so tools answer `no scheduler running` without waiting."""
        self.beat(force=True, running=False)


def describe_changes(before: Heartbeat, after: Heartbeat) -> list[str]:
    """What an operator watching the console must see: each trading-state change, in one line."""
    lines: list[str] = []
    if after.override_malformed and not before.override_malformed:
        lines.append("override file MALFORMED: trading halted (tradeops kill-switch status)")
    elif before.override_malformed and not after.override_malformed:
        lines.append("override file no longer malformed")
    if after.override_active != before.override_active and not after.override_malformed:
        lines.append(
            "kill switch override seen: new orders stop" if after.override_active else "kill switch cleared"
        )
    if after.global_state != before.global_state:
        lines.append(f"trading state: {before.global_state} -> {after.global_state}")
    for name, state in after.strategies.items():
        old = before.strategies.get(name)
        if old is not None and old != state:
            lines.append(f"strategy {name}: {old} -> {state}")
    if before.running and not after.running:
        lines.append("scheduler stopped")
    return lines


# --- the kill-switch confirmation (read by `tradeops watchdog`, beside the heartbeat above) ----------

KILL_CONFIRMED_KEY = "kill_switch_confirmed"


class KvReader(Protocol):
    """What a reader of the beat and the confirmation needs (the watchdog, the read API)."""

    def kv_get(self, key: str) -> str | None: ...


class KvStore(KvReader, Protocol):
    def kv_set(self, key: str, value: str) -> None: ...


def read_heartbeat(store: KvReader) -> Heartbeat | None:
    """The latest published beat (None: none yet, or unreadable; the watchdog acts on staleness)."""
    raw = store.kv_get(HEARTBEAT_KV_KEY)
    return Heartbeat.from_json(raw) if raw else None


def confirm_kill_switch(store: KvStore, ts_ms: int, engaged: bool, cancelled: int) -> None:
    """The scheduler has acted on the kill switch (cancelled `cancelled` orders) at `ts_ms`."""
    store.kv_set(KILL_CONFIRMED_KEY, json.dumps({"ts_ms": ts_ms, "engaged": engaged, "cancelled": cancelled}))


def kill_switch_confirmed_ms(store: KvReader) -> int | None:
    """When the scheduler last confirmed an engaged kill switch (None: not confirmed)."""
    raw = store.kv_get(KILL_CONFIRMED_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return int(data["ts_ms"]) if data.get("engaged") else None
    except (ValueError, KeyError, TypeError):
        return None
