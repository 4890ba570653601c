"""The replay timeline: every series' hidden bars in close-time order, revealed as time passes."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tradeops.domain.market import Bar
from tradeops.marketdata.stored_series import PRICE_FIELDS, StoredSeries, new_bar


class Timeline:
    """Hidden bars of all series in close-time order, and how many have been revealed.

    Close times, owners, visible counts and bar fields are gathered a chunk at a time into Python
    lists, so a reveal touches no numpy: a bisect, list slices, one attribute store and one C-built
    Bar per bar.
    """

    __slots__ = (
        "_chunk_start",
        "_closes",
        "_fields",
        "_objects",
        "_owners",
        "_visible",
        "close",
        "cursor",
        "next_ms",
        "owner",
        "row",
        "series",
        "size",
    )
    CHUNK = 4096

    def __init__(
        self,
        close: NDArray[np.int64],
        owner: NDArray[np.int32],
        row: NDArray[np.int64],
        series: list[StoredSeries],
    ) -> None:
        self.close = close
        self.owner = owner
        self.row = row
        self.series = series
        # Each series, its venue and its symbol by owner index, for gathering them in C.
        names = ([x.venue for x in series], [x.symbol for x in series])
        self._objects = tuple(np.array(values, dtype=object) for values in (series, *names))
        self.size = int(close.shape[0])
        self.cursor = 0
        # The earliest close time not yet revealed (None once every bar is visible).
        self.next_ms: int | None = close.item(0) if self.size else None
        self._chunk_start = 0
        self._closes: list[int] = []
        self._owners: list[StoredSeries] = []
        self._visible: list[int] = []
        self._fields: list[list[Any]] = []

    def _load_chunk(self, start: int) -> None:
        end = min(self.size, start + self.CHUNK)
        owners = self.owner[start:end]
        rows = self.row[start:end]
        # A series' rows in a chunk are consecutive (the timeline keeps each series' order), so the
        # chunk is the owners' row ranges interleaved: group by owner, copy the ranges, scatter back.
        group = np.argsort(owners, kind="stable")
        ids, counts = np.unique(owners, return_counts=True)
        firsts = rows[group][np.cumsum(counts) - counts]
        ranges = [
            (self.series[i], f, f + c)
            for i, f, c in zip(ids.tolist(), firsts.tolist(), counts.tolist(), strict=True)
        ]
        fields: list[list[Any]] = [objects[owners].tolist() for objects in self._objects]
        for name in ("ts", *PRICE_FIELDS):
            grouped = np.concatenate([(s.ts if name == "ts" else s.columns[name])[a:b] for s, a, b in ranges])
            column = np.empty_like(grouped)
            column[group] = grouped
            fields.append(column.tolist())
        self._owners, self._visible = fields[0], (rows + 1).tolist()  # flat lists: no GC-tracked pairs
        self._fields = fields[1:]  # venue, symbol, ts, open, ..., volume
        self._closes = self.close[start:end].tolist()
        self._chunk_start = start

    def reveal(self, now_ms: int) -> list[Bar]:
        """Bars not yet revealed that closed by `now_ms`, in time order; marks them visible."""
        revealed: list[Bar] = []
        position = self.cursor
        while position < self.size:
            a = position - self._chunk_start
            if a >= len(self._closes):
                self._load_chunk(position)
                a = 0
            closes = self._closes
            b = bisect_right(closes, now_ms, a)
            for owner, visible in zip(self._owners[a:b], self._visible[a:b], strict=True):
                owner.visible = visible
            venue, symbol, ts, o, h, lo, c, v = self._fields
            bars = zip(venue[a:b], symbol[a:b], ts[a:b], o[a:b], h[a:b], lo[a:b], c[a:b], v[a:b], strict=True)
            revealed += map(new_bar, bars)
            position += b - a
            if b < len(closes):
                self.next_ms = closes[b]
                break
        else:
            self.next_ms = None
        self.cursor = position
        return revealed
