"""What a run report must warn about: data it could not trust and strategies that could not run.

Data quality per instrument over the run window (first to last step): bars, gaps (consecutive
bars further apart than one interval, with the bars missing), stale bars (no volume: the price was
carried, nothing traded). Warnings, one line each: a strategy whose venues or symbols are missing
from the data (e.g. cross_exchange without a second venue), one with fewer bars than its warm-up,
one that never signalled; gaps and stale bars in the window; orders the venue rejected or failed,
and orders the risk gate denied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeops.domain.clock import ms_to_iso
from tradeops.marketdata.series_store import SeriesStore
from tradeops.runtime.engine import TradingEngine

LISTED_GAPS = 20


@dataclass(frozen=True, slots=True)
class Gap:
    venue: str
    symbol: str
    last_bar_ms: int  # open time of the bar before the gap
    next_bar_ms: int  # open time of the bar after it
    missing_bars: int

    def to_json(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "after": ms_to_iso(self.last_bar_ms),
            "before": ms_to_iso(self.next_bar_ms),
            "missing_bars": self.missing_bars,
        }


def instrument_quality(series: SeriesStore, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """Bars, gaps and stale bars of every instrument inside [start_ms, end_ms] (open times)."""
    out = []
    for venue, symbol in series.instruments():
        ts, columns = series.loaded(venue, symbol)
        interval = series.interval_ms(venue, symbol)
        inside = (ts >= start_ms - interval) & (ts <= end_ms)
        window = ts[inside]
        steps = np.diff(window)
        gaps = [
            Gap(venue, symbol, int(window[i]), int(window[i + 1]), int(steps[i] // interval) - 1)
            for i in np.flatnonzero(steps > interval)
        ]
        volume = columns.get("volume")
        stale = int(np.count_nonzero(volume[inside] <= 0)) if volume is not None else 0
        out.append(
            {
                "venue": venue,
                "symbol": symbol,
                "interval_ms": interval,
                "bars_loaded": int(ts.shape[0]),
                "bars_in_window": int(window.shape[0]),
                "first_bar": ms_to_iso(int(ts[0])) if ts.shape[0] else None,
                "last_bar": ms_to_iso(int(ts[-1])) if ts.shape[0] else None,
                "gaps": len(gaps),
                "missing_bars": sum(g.missing_bars for g in gaps),
                "gap_list": [g.to_json() for g in gaps[:LISTED_GAPS]],
                "stale_bars": stale,
            }
        )
    return out


def data_digest(series: SeriesStore) -> str:
    """sha256 over every loaded instrument's identity and OHLCV arrays: the data this run saw."""
    digest = hashlib.sha256()
    for venue, symbol in sorted(series.instruments()):
        ts, columns = series.loaded(venue, symbol)
        digest.update(f"{venue}|{symbol}|{series.interval_ms(venue, symbol)}|".encode())
        digest.update(np.ascontiguousarray(ts).tobytes())
        for name in sorted(columns):
            digest.update(np.ascontiguousarray(columns[name]).tobytes())
    return "sha256:" + digest.hexdigest()


def _strategy_warnings(engine: TradingEngine, series: SeriesStore) -> list[str]:
    loaded = set(series.instruments())
    out = []
    for slot in engine.slots.values():
        schedule, name = slot.schedule, slot.name
        missing = [
            f"{venue} {symbol}"
            for venue in schedule.venues
            for symbol in schedule.symbols
            if (venue, symbol) not in loaded
        ]
        if missing:
            out.append(
                f"{name}: the data has no {', '.join(missing)} (it needs {', '.join(schedule.venues)} x "
                f"{', '.join(schedule.symbols)}): it cannot trade what is missing"
            )
        needed = max(schedule.warmup_bars, slot.strategy.required_bars())
        present = [(v, s) for v in schedule.venues for s in schedule.symbols if (v, s) in loaded]
        have = min((series.bar_count(v, s) for v, s in present), default=0)
        if have < needed:
            out.append(f"{name}: needs {needed} bars of history, the data has {have}")
        stats = engine.stats.strategies.get(name)
        if stats is not None and stats.signals == 0:
            out.append(f"{name}: no signal in the whole run")
    return out


def run_warnings(engine: TradingEngine, series: SeriesStore, quality: list[dict[str, Any]]) -> list[str]:
    """Every warning of the run, one line each (empty: nothing to warn about)."""
    out = _strategy_warnings(engine, series)
    for row in quality:
        where = f"{row['venue']} {row['symbol']}"
        if row["gaps"]:
            out.append(
                f"{where}: {row['gaps']} gap(s) in the run window, {row['missing_bars']} bar(s) missing"
            )
        if row["stale_bars"]:
            out.append(f"{where}: {row['stale_bars']} stale bar(s) (no volume) in the run window")
    for (venue, kind), count in sorted(engine.stats.exchange_errors.items()):
        if count:
            out.append(f"{venue}: {count} order(s) {kind.replace('_', ' ')} at the venue")
    for name, stats in sorted(engine.stats.strategies.items()):
        for reason, count in sorted(stats.denials.items()):
            if count:
                out.append(f"{name}: {count} order(s) denied by the risk gate ({reason})")
    return out
