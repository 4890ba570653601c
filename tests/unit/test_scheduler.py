"""The scheduler on an injected replay clock: cadence, warmup, max_signals and measured drift."""

from __future__ import annotations

import asyncio

from tests.unit.test_engine import MIN5, build
from tradeops.domain.market import Bar
from tradeops.runtime.clock import ReplayClock
from tradeops.runtime.scheduler import Scheduler, SchedulerReport


def _feed(market, bars: int, start: int = 0) -> None:
    for i in range(bars):
        market.push(Bar("binance", "BTC/USDT", start + i * MIN5, 100.0, 101.0, 99.0, 100.0, 1000.0))


def test_cadence_and_warmup_on_a_replay_clock():
    engine, market, _clock, _sink, strategy = build()
    _feed(market, 12)
    clock = ReplayClock(0)  # as fast as possible
    scheduler = Scheduler(engine, market, clock, keep_outcomes=True)
    report = asyncio.run(scheduler.run())
    # daily_trend runs every 300 s; the last bar closes at 12 x 5 min; warmup needs 120 bars here.
    assert report.cycles == 0  # never warm with 12 bars and warmup_bars 120
    assert report.stopped_by == "data_exhausted"
    assert strategy.calls == 0


def test_runs_once_per_cadence_when_warm_and_keeps_the_top_signals():
    engine, market, _clock, _sink, strategy = build()
    slot = engine.slots["daily_trend"]
    engine.slots["daily_trend"] = type(slot)(
        slot.name, slot.strategy, slot.schedule.model_copy(update={"warmup_bars": 1}), slot.profile
    )
    _feed(market, 6)
    scheduler = Scheduler(engine, market, ReplayClock(0))
    report = asyncio.run(scheduler.run())
    assert report.cycles == strategy.calls == 6  # bars close every 5 min = the schedule's cadence
    stats = engine.stats.strategies["daily_trend"]
    assert stats.cycles == 6 and stats.drift.count == 6
    assert stats.drift.total == 0.0  # a replay clock has no lateness
    assert stats.latency.count == 6 and stats.latency.total > 0  # the cycle time is measured


def test_stop_and_run_once():
    engine, market, _clock, _sink, strategy = build()
    _feed(market, 3)
    scheduler = Scheduler(engine, market, ReplayClock(0, speed=1.0))
    scheduler.stop()
    assert asyncio.run(scheduler.run(forever=True)).stopped_by == "stop"
    slot = engine.slots["daily_trend"]
    engine.slots["daily_trend"] = type(slot)(
        slot.name, slot.strategy, slot.schedule.model_copy(update={"warmup_bars": 1}), slot.profile
    )
    report: SchedulerReport = Scheduler(engine, market, ReplayClock(0)).run_once(3 * MIN5)
    assert report.cycles == 1 and strategy.calls == 1


def test_run_forever_on_a_finite_market_says_the_data_ended_and_waits_without_wrapping():
    engine, market, _clock, sink, strategy = build()
    slot = engine.slots["daily_trend"]
    engine.slots["daily_trend"] = type(slot)(
        slot.name, slot.strategy, slot.schedule.model_copy(update={"warmup_bars": 1}), slot.profile
    )
    _feed(market, 4)
    ended: list[int | None] = []
    scheduler = Scheduler(engine, market, ReplayClock(0), on_data_end=ended.append)

    async def drive() -> SchedulerReport:
        task = asyncio.ensure_future(scheduler.run(forever=True))
        for _ in range(200):  # bounded: the replay needs a handful of loop turns
            await asyncio.sleep(0)
            if ended:
                break
        calls = strategy.calls
        await asyncio.sleep(0.05)
        assert strategy.calls == calls  # waiting, not cycling on stale bars or replaying again
        scheduler.stop()
        return await task

    report = asyncio.run(drive())
    assert ended == [4 * MIN5] and report.stopped_by == "stop"
    assert strategy.calls == report.cycles == 4
    assert [r.kind for r in sink.records].count("checkpoint") == 1  # the cursor, once


def test_a_scheduler_waiting_in_real_time_projects_at_once_and_a_replay_does_not_force():
    engine, market, _clock, sink, _strategy = build()
    _feed(market, 3)
    asyncio.run(Scheduler(engine, market, ReplayClock(0)).run())
    assert sink.forced_commits == 0  # as fast as possible: the sink gathers steps
    engine, market, _clock, sink, _strategy = build()
    _feed(market, 3)
    # 5-minute bars 10 ms apart in wall time: each step waits for its tick
    report = asyncio.run(Scheduler(engine, market, ReplayClock(0, speed=MIN5 / 10)).run())
    assert report.steps >= 3 and sink.forced_commits == report.steps  # one per wait before a step
