"""A cluster follower keeps warm, so that taking over is reconcile-then-trade, not a cold start.

While following, the host has its configuration loaded, the replayed market loaded (paper and
replay environments: the series the scheduler would load at start; a live environment's candles
come from its venues, fetched when the term starts), and it reads the account's state as the
leader projects it:
- the store's log position every poll, and the store's projection once that position has held
  still for a poll (a leader that died or was partitioned stops moving it); the takeover reuses
  that projection only while the store is still at the same position, and reads it afresh else;
- the chain of its local copy of the log (kept equal to the stream), verified incrementally with
  a resumable cursor, so the takeover's reconcile walks only the lines after the store's position
  instead of the whole log from its first line. A copy that was compared afresh (moved aside,
  rewritten) starts a new walk.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from tradeops.bootstrap.account import WarmStart
from tradeops.bootstrap.decision_log_wiring import signing_key
from tradeops.config.models import AppConfig
from tradeops.decision_log.anchor import Anchor, write_anchor
from tradeops.decision_log.chain import ChainBroken, ChainCursor, walk_chain
from tradeops.decision_log.entry import utc_timestamp
from tradeops.domain.errors import TradeopsError
from tradeops.marketdata.loaders import CandleSeries
from tradeops.persistence.projection import Projection
from tradeops.persistence.sql_store import LogPosition, SqlStateStore

if TYPE_CHECKING:
    from tradeops.bootstrap.cluster import ClusterNode
    from tradeops.bootstrap.engine import RunOptions
    from tradeops.cluster.log_follow import LogFollower

log = logging.getLogger(__name__)
CURSORS = 32  # verified positions kept (the store's position trails the stream a little)
ANCHOR_EVERY_S = 1.0


def load_market(cfg: AppConfig, options: RunOptions) -> list[CandleSeries] | None:
    """The series `tradeops run` would load at start (None for a live environment)."""
    from tradeops.bootstrap.engine import _load_market

    env = cfg.environments.get(options.environment)
    if env is None or env.mode == "live" or options.market is not None:
        return None
    sched_cfg = cfg.scheduler(options.scheduler)
    names = [n for n in (options.strategies or sched_cfg.schedules) if n in sched_cfg.schedules]
    if not names:
        return None
    schedules = [sched_cfg.schedules[n] for n in names]
    venues = {v for s in schedules for v in s.venues}
    symbols = {sym for s in schedules for sym in s.symbols}
    return _load_market(cfg, options, venues, symbols, schedules[0].interval)


class WarmFollower:
    def __init__(self, cfg: AppConfig, options: RunOptions, node: ClusterNode) -> None:
        self.node = node
        started = time.monotonic()
        self.market = load_market(cfg, options)
        self.market_load_s = time.monotonic() - started
        self.store = SqlStateStore(node.state_url)
        self.position: LogPosition | None = None
        self.projection: Projection | None = None
        self.polls = 0
        self._cursor: ChainCursor | None = None
        self._cursors: deque[ChainCursor] = deque(maxlen=CURSORS)
        self._follower: Any = None
        self._syncs = 0
        self._log_id = ""
        self._anchored_at = -ANCHOR_EVERY_S
        try:
            self._key: Any = signing_key(cfg, node.log_path)
        except TradeopsError as exc:  # unsigned: the copy is verified against the stream only
            log.warning("cluster: no signing key for the local log copy's anchor: %s", exc)
            self._key = None

    def poll(self, follower: LogFollower) -> None:
        """After the follower's log sync: walk the new lines, read the store's position."""
        if follower is not self._follower or follower.stats.full_syncs != self._syncs:
            self._follower, self._syncs = follower, follower.stats.full_syncs
            self._cursor = None  # a new or rewritten copy: walk it from its first line
            self._cursors.clear()
        try:
            position = self.store.log_position()
        except SQLAlchemyError as exc:
            log.warning("cluster: follower cannot read the store: %s", exc)
            self.position = self.projection = None
            return
        self._walk(position)
        if position != self.position:
            self.position, self.projection = position, None
        elif self.projection is None:  # the position held still for a poll: read the state
            try:
                self.projection = self.store.load_projection()
            except SQLAlchemyError as exc:
                log.warning("cluster: follower cannot read the store: %s", exc)
        self.polls += 1

    def _walk(self, position: LogPosition | None) -> None:
        last = self._cursor
        try:
            for cursor, entry in walk_chain(self.node.log_path, self._cursor):
                if position is not None and cursor.seq == position.seq:
                    self._cursors.append(cursor)
                if cursor.number == 1:
                    self._log_id = str(entry.get("log_id") or "")
                last = cursor
        except ChainBroken as exc:  # the takeover's reconcile refuses it, from the first line
            log.warning("cluster: the local log copy does not verify: %s", exc)
            self._cursor = None
            self._cursors.clear()
            return
        if last is not None and last is not self._cursor:
            self._cursor = last
            self._cursors.append(last)
            self._anchor(last)

    def _anchor(self, cursor: ChainCursor) -> None:
        """Sign the copy's head into `<log>.anchor`, as its writer would: the copy is the stream's
        (acknowledged entries only) and its chain was just walked, so `decision-log verify` checks
        a follower's copy like any log (at most every ANCHOR_EVERY_S)."""
        now = time.monotonic()
        if self._key is None or not self._log_id or now - self._anchored_at < ANCHOR_EVERY_S:
            return
        try:
            updated = utc_timestamp(datetime.now(UTC))
            write_anchor(
                self.node.log_path, Anchor(self._log_id, cursor.seq, cursor.head, updated, None), self._key
            )
        except OSError as exc:
            log.warning("cluster: cannot anchor the local log copy: %s", exc)
            return
        self._anchored_at = now

    def take(self) -> WarmStart:
        """Hand what was read to the term that starts (the projection goes with it)."""
        start = WarmStart(self.position, self.projection, tuple(self._cursors))
        self.projection = None
        return start

    def describe(self) -> str:
        market = "live venues at start" if self.market is None else f"{len(self.market)} series loaded"
        chain = self._cursor.seq if self._cursor else 0
        store = self.position.seq if self.position else 0
        read = "read" if self.projection is not None else "not yet read"
        return f"market {market}; store at log seq {store}, state {read}; log chain verified to seq {chain}"

    def close(self) -> None:
        self.store.close()
