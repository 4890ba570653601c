"""Housekeeping around a long-running scheduler: once a second it logs override changes nobody
logged (a file removed by hand, an expiry), runs the incident triggers, takes a configuration
handed over by `tradeops config apply` (between two scheduler steps), and keeps resource usage
sampled. A failing hook is reported (once per distinct problem) and retried; it never stops
trading by itself, but an override event it cannot record keeps trading halted (the kill switch
waits for the recorded resume)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradeops.bootstrap.engine import Runtime
from tradeops.domain.errors import Fatal, TradeopsError
from tradeops.host.process import start_resource_monitor
from tradeops.ops.config_live import LiveConfig
from tradeops.ops.controls import reconcile_override_events
from tradeops.ops.incident_triggers import IncidentAutomation
from tradeops.ops_ports import OpsContext
from tradeops.runtime.overrides import OverrideState


@dataclass
class Supervisor:
    runtime: Runtime
    ctx: OpsContext
    interval_s: float = 1.0
    automation: IncidentAutomation | None = None
    live_config: LiveConfig | None = None
    closers: list[Callable[[], Any]] = field(default_factory=list)
    failures: int = 0
    _reported: dict[str, str] = field(default_factory=dict)

    def start(self) -> Supervisor:
        monitor = start_resource_monitor(self.runtime.stats, self.ctx.cfg.runtime.resource_limits)
        self.closers.append(monitor.stop)
        self.automation = IncidentAutomation(self.ctx)
        live = self.live_config = LiveConfig.start(self.runtime, self.ctx)
        self.closers.append(live.close)
        return self

    def tick(self) -> None:
        now = self.ctx.clock_ms()
        hooks: list[tuple[str, Callable[[], object]]] = [
            ("overrides", lambda: reconcile_override_events(self.ctx, self._override_state(now))),
        ]
        if self.automation is not None:
            automation = self.automation
            hooks.append(("incidents", lambda: automation.on_tick(self.runtime.stats, now)))
        if self.live_config is not None:
            hooks.append(("config", self.live_config.tick))
        for name, hook in hooks:
            try:
                hook()
                self._reported.pop(name, None)
            except Fatal:
                raise
            except (TradeopsError, OSError) as exc:
                self.failures += 1
                if name == "overrides":  # an override event not recorded: trading stays halted
                    self.runtime.stats.decision_log_write_failures += 1
                if self._reported.get(name) != str(exc):  # once per distinct problem, not every tick
                    self._reported[name] = str(exc)
                    print(
                        f"warning: {name} hook failed (retrying every {self.interval_s:g}s): {exc}",
                        file=sys.stderr,
                    )

    def _override_state(self, now: int) -> OverrideState:
        """What the running kill switch's watcher sees (it judges the directory against how it was
        at start: a removed directory halts trading and must be logged as such, not as a removal)."""
        override = getattr(getattr(self.runtime.engine, "gate", None), "override", None)
        if isinstance(override, OverrideState):
            return override
        return self.ctx.overrides.read_all(now)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.tick()
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
            except TimeoutError:
                continue

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()
        self.closers.clear()
