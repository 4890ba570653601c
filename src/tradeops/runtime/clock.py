"""Clocks. WallClock for live paper trading; ReplayClock drives replays, tests and drills."""

from __future__ import annotations

import asyncio
import time


class WallClock:
    """Real time. `lateness_s` is how far past its due time a wake-up happened."""

    instant = False  # real time is waited for

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    async def sleep_until(self, ts_ms: int) -> None:
        delay = ts_ms / 1000 - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def lateness_s(self, ts_ms: int) -> float:
        return max(0.0, time.time() - ts_ms / 1000)


class ReplayClock:
    """Simulated time starting at `start_ms`.

    speed None: jump straight to each due time (as fast as possible, lateness 0).
    speed N: simulated time runs N times faster than wall time.
    """

    def __init__(self, start_ms: int, speed: float | None = None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self._now = start_ms
        self._speed = speed
        self._wall_anchor = time.monotonic()
        self._sim_anchor = start_ms

    def now_ms(self) -> int:
        return self._now

    @property
    def instant(self) -> bool:
        """True when sleeping never waits (as-fast-as-possible replay)."""
        return self._speed is None

    def set(self, ts_ms: int) -> None:
        """Move time forward (tests and as-fast-as-possible replays)."""
        self._now = max(self._now, ts_ms)

    def _wall_target(self, ts_ms: int) -> float:
        assert self._speed is not None
        return self._wall_anchor + (ts_ms - self._sim_anchor) / 1000 / self._speed

    async def sleep_until(self, ts_ms: int) -> None:
        if self._speed is not None:
            delay = self._wall_target(ts_ms) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        self.set(ts_ms)

    def lateness_s(self, ts_ms: int) -> float:
        if self._speed is None:
            return 0.0
        return max(0.0, time.monotonic() - self._wall_target(ts_ms))
