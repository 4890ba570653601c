"""The writer's background threads in group mode: the syncer (fdatasyncs what the appending threads
wrote, back to back, and commits a partial batch `group_ms` after its first entry) and the anchorer
(replaces the signed anchor every `anchor_interval_s`, so that the anchor's own fsyncs never hold
up the log's); and the appending threads' hand-off of the GIL to the syncer."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from tradeops.decision_log.errors import LogWriteError

if TYPE_CHECKING:
    from tradeops.decision_log.writer import DecisionLogWriter


# How long an appender that has written a batch waits for a running fdatasync before it goes on:
# long enough for a syncer waiting for the GIL to be woken and take it.
HANDOFF_SECONDS = 0.0001


def hand_off(writer: DecisionLogWriter) -> None:
    """Called by an appending thread after it wrote a batch: if an fdatasync is in progress, block
    on its lock, which hands the GIL to a syncer whose fdatasync returned (it records it and starts
    the next, covering that batch); wait `HANDOFF_SECONDS` for one still running, or until it is
    done once it has run past `group_ms` (a slow disk throttles appends)."""
    started, done = writer._sync_started, writer._sync_done
    if started:
        slow = time.monotonic() - started > writer._group_seconds
        if done.acquire(timeout=-1 if slow else HANDOFF_SECONDS):
            done.release()


def _next_job(writer: DecisionLogWriter) -> str | None:
    """Wait for work: "sync" (written, not durable), "commit" (a partial batch is due), None (stop)."""
    with writer._cond:
        while not writer._closing and writer._error is None:
            if writer._written[0] > writer._durable_seq:
                return "sync"
            timeout = None
            if writer._buffer:
                timeout = writer._first_pending + writer._group_seconds - time.monotonic()
                if timeout <= 0:
                    return "commit"
            writer._syncer_waiting = True
            writer._cond.wait(timeout)
            writer._syncer_waiting = False
    return None


def run_syncer(writer: DecisionLogWriter) -> None:
    while (job := _next_job(writer)) is not None:
        try:
            if job == "commit":
                writer._write_batch()
            writer._sync(anchor=False)
        except LogWriteError:
            return  # the writer is failed; recover() starts a new syncer


def run_anchorer(writer: DecisionLogWriter) -> None:
    while not writer._stop.wait(max(writer._anchor_interval, 0.05)):
        if writer._error is None:
            with contextlib.suppress(LogWriteError):  # the writer is failed now; recover() anchors
                writer._anchor(force=False)
