"""The scheduler: one asyncio loop, per-schedule cadence, warmup and measured drift.

Time comes from the injected clock: a ReplayClock makes replays and tests deterministic and fast,
a WallClock runs live. Market data is revealed up to the clock's now before due schedules run.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tradeops.runtime.engine import CycleOutcome, TradingEngine
from tradeops.runtime.heartbeat import HeartbeatPublisher
from tradeops.runtime.ports import RevealingMarket, SchedulerClock, StepGuard

PROJECTION_LAG_S = 0.02  # longer than a group commit (group_ms, 5 ms by default)


@dataclass
class Due:
    name: str
    cadence_ms: int
    warmup_bars: int
    venues: Sequence[str]
    symbols: Sequence[str]
    max_drift_ms: int = 0
    next_ms: int = 0
    phase_index: int = 0
    warm: bool = False  # every instrument had warmup_bars (bar counts never fall: it stays so)


@dataclass
class SchedulerReport:
    steps: int = 0
    cycles: int = 0
    outcomes: list[CycleOutcome] = field(default_factory=list)
    stopped_by: str = "data_exhausted"
    last_step_ms: int | None = None


class Scheduler:
    def __init__(
        self,
        engine: TradingEngine,
        market: RevealingMarket,
        clock: SchedulerClock,
        on_step: Callable[[int, SchedulerReport], None] | None = None,
        keep_outcomes: bool = False,
        on_data_end: Callable[[int | None], None] | None = None,
    ) -> None:
        self.engine = engine
        self.market = market
        self.clock = clock
        self.on_step = on_step
        self.keep_outcomes = keep_outcomes
        self.on_data_end = on_data_end
        self._checkpointed_ms: int | None = None
        self.stop_event = asyncio.Event()
        self._instant_steps = 0
        self.heartbeat: HeartbeatPublisher | None = None
        self.guard: StepGuard | None = None  # cluster mode: lease standing and cluster overrides
        self.dues = [
            Due(
                name=slot.name,
                cadence_ms=max(1, int(slot.schedule.cadence_seconds * 1000)),
                warmup_bars=max(slot.schedule.warmup_bars, slot.strategy.required_bars()),
                venues=slot.schedule.venues,
                symbols=slot.schedule.symbols,
                max_drift_ms=int(slot.schedule.max_drift_seconds * 1000),
            )
            for slot in engine.slots.values()
        ]

    def retime(self, now_ms: int) -> None:
        """The engine's schedules changed (cadence, drift budget, warmup): a changed cadence next
        falls due at its next tick after `now_ms`; unchanged ones keep their place."""
        for due in self.dues:
            schedule = self.engine.slots[due.name].schedule
            cadence = max(1, int(schedule.cadence_seconds * 1000))
            warmup = max(schedule.warmup_bars, self.engine.slots[due.name].strategy.required_bars())
            if warmup != due.warmup_bars:
                due.warmup_bars, due.warm = warmup, False
            due.max_drift_ms = int(schedule.max_drift_seconds * 1000)
            if cadence != due.cadence_ms:
                due.cadence_ms = cadence
                due.next_ms = math.ceil((now_ms + 1) / cadence) * cadence

    def stop(self) -> None:
        self.stop_event.set()

    def _warm(self, due: Due) -> bool:
        if not due.warm:
            count = self.market.bar_count
            due.warm = all(count(v, s) >= due.warmup_bars for v in due.venues for s in due.symbols)
        return due.warm

    def _align(self, start_ms: int) -> None:
        """First due time: the next cadence tick. In real time, schedules sharing a cadence are spread
        over half their drift budget, so hundreds of them do not all fall due in the same instant."""
        staggered = not self.clock.instant
        peers: dict[int, int] = {}
        for due in self.dues:
            due.next_ms = math.ceil(start_ms / due.cadence_ms) * due.cadence_ms
            if staggered:
                index = peers.get(due.cadence_ms, 0)
                peers[due.cadence_ms] = index + 1
                due.phase_index = index
        for due in self.dues:
            count = peers.get(due.cadence_ms, 1)
            if staggered and count > 1:
                window = min(due.cadence_ms, due.max_drift_ms) / 2
                due.next_ms += int(window * due.phase_index / count)

    async def _sleep(self, ts_ms: int) -> None:
        """Wait for `ts_ms` in real (or paced) time; `run` moves an instant clock itself."""
        sleeper = asyncio.ensure_future(self.clock.sleep_until(ts_ms))
        stopper = asyncio.ensure_future(self.stop_event.wait())
        try:
            done, _ = await asyncio.wait(
                {sleeper, stopper}, timeout=PROJECTION_LAG_S, return_when=asyncio.FIRST_COMPLETED
            )
            # In real time the last step's entries are durable a group commit later: project them
            # now rather than a whole cadence later.
            self.engine.sink.commit(force=True)
            if not done:
                await self._wait_beating({sleeper, stopper})
        finally:
            for task in (sleeper, stopper):
                if not task.done():
                    task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)

    async def _wait_beating(self, tasks: set[asyncio.Future[Any]]) -> None:
        """Wait for the first of `tasks`, publishing the heartbeat meanwhile (a waiting scheduler is alive;
        a hung or stopped one falls silent)."""
        heartbeat = self.heartbeat
        timeout = heartbeat.interval_s if heartbeat is not None else None
        while True:
            done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if done:
                return
            if heartbeat is not None:
                heartbeat.beat()

    async def run(
        self,
        *,
        until_ms: int | None = None,
        max_steps: int | None = None,
        forever: bool = False,
    ) -> SchedulerReport:
        """Run until data runs out (unless `forever`), `until_ms`, `max_steps` or stop()."""
        report = SchedulerReport()
        self._align(self.clock.now_ms())
        market, dues, stop_event, clock = self.market, self.dues, self.stop_event, self.clock
        while not stop_event.is_set():
            reveal = market.next_reveal_ms()
            if reveal is None and forever:
                # A replayed market has ended: say so and wait; never wrap around or run on stale bars.
                self._finish(report)
                if self.on_data_end is not None:
                    self.on_data_end(report.last_step_ms)
                await self._wait_beating({asyncio.ensure_future(self.stop_event.wait())})
                report.stopped_by = "stop"
                break
            if reveal is None:
                break
            now = reveal  # the earlier of the next reveal and the next due schedule
            for due in dues:
                if due.next_ms < now:
                    now = due.next_ms
            if until_ms is not None and now > until_ms:
                report.stopped_by = "until"
                break
            if clock.instant:  # as-fast-as-possible replay: no waiting
                await clock.sleep_until(now)
                self._instant_steps += 1
                if self._instant_steps % 256 == 0:
                    await asyncio.sleep(0)  # still let signal handlers run now and then
            else:
                await self._sleep(now)
            if stop_event.is_set():
                report.stopped_by = "stop"
                break
            self.step(now, report)
            if max_steps is not None and report.steps >= max_steps:
                report.stopped_by = "max_steps"
                break
        else:
            report.stopped_by = "stop"
        self._finish(report)
        return report

    def _finish(self, report: SchedulerReport) -> None:
        """Checkpoint the replay cursor (once per position) and make everything durable and projected."""
        if report.last_step_ms is not None and report.last_step_ms != self._checkpointed_ms:
            self._checkpointed_ms = report.last_step_ms
            self.engine.checkpoint(report.last_step_ms)
        self.engine.publish_stats(force=True)
        self.engine.sink.flush()

    def run_once(self, now_ms: int) -> SchedulerReport:
        """Reveal everything up to `now_ms` and run each schedule exactly once."""
        report = SchedulerReport(stopped_by="run_once")
        self.step(now_ms, report, force=True)
        self._finish(report)
        return report

    def step(self, now_ms: int, report: SchedulerReport, force: bool = False) -> None:
        """Reveal data up to `now_ms`, then run every schedule that is due (all of them if `force`)."""
        engine = self.engine
        bars = self.market.advance_to(now_ms)
        engine.on_market(now_ms, bars)
        if self.guard is not None:
            self.guard.apply(engine)
        killed = engine.refresh_disabled() or engine.halt_reason is not None
        lateness_s = self.clock.lateness_s
        for due in self.dues:
            due_ms = due.next_ms
            if due_ms > now_ms and not force:
                continue
            lateness = lateness_s(due_ms)
            # Catch up without bursts: the next run is the next cadence tick after now.
            cadence = due.cadence_ms
            ticks = (now_ms - due_ms) // cadence + 1
            due.next_ms = due_ms + cadence * (ticks if ticks > 1 else 1)
            if killed or not (due.warm or self._warm(due)):
                continue
            outcome = engine.run_cycle(due.name, now_ms, lateness)
            report.cycles += 1
            if self.keep_outcomes:
                report.outcomes.append(outcome)
        report.steps += 1
        report.last_step_ms = now_ms
        engine.end_step(now_ms)
        engine.stats.last_cycle_ms = now_ms
        if self.heartbeat is not None:
            self.heartbeat.on_step(now_ms, report.steps)
        if self.on_step is not None:
            self.on_step(now_ms, report)
