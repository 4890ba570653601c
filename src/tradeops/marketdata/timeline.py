"""The replay timeline: every series' hidden bars in close-time order, revealed as time passes."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from tradeops.domain.market import Bar
from tradeops.marketdata.stored_series import PRICE_FIELDS, StoredSeries, new_bar


class Timeline:
    """Hidden bars of all series in close-time order, and how many have been revealed.

    Bar fields, owners and visible counts are gathered a chunk at a time into Python lists, so
    revealing costs list slices, one attribute store and one C-built Bar per bar.
    """

    __slots__ = (
        "_chunk_end",
        "_chunk_start",
        "_fields",
        "_objects",
        "_owners",
        "_visible",
        "close",
        "cursor",
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
        self._chunk_start = 0
        self._chunk_end = 0
        self._fields: list[list[Any]] = []
        self._owners: list[StoredSeries] = []
        self._visible: list[int] = []

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
        self._fields = fields[1:]
        self._chunk_start = start
        self._chunk_end = end

    def reveal(self, end: int) -> list[Bar]:
        """Bars of events [cursor, end); marks them visible in their series."""
        revealed: list[Bar] = []
        position = self.cursor
        while position < end:
            if not self._chunk_start <= position < self._chunk_end:
                self._load_chunk(position)
            a = position - self._chunk_start
            b = min(end, self._chunk_end) - self._chunk_start
            for owner, visible in zip(self._owners[a:b], self._visible[a:b], strict=True):
                owner.visible = visible
            revealed += map(new_bar, zip(*[values[a:b] for values in self._fields], strict=True))
            position += b - a
        self.cursor = end
        return revealed
