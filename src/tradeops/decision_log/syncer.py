"""The writer's background threads in group mode: the syncer (fdatasyncs what the appending threads
wrote, back to back, and commits a partial batch `group_ms` after its first entry) and the anchorer
(replaces the signed anchor every `anchor_interval_s`, so that the anchor's own fsyncs never hold
up the log's); and the appending threads' hand-off of the GIL to the syncer."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TYPE_CHECKING

from tradeops.decision_log.errors import LogWriteError

if TYPE_CHECKING:
    from tradeops.decision_log.writer import DecisionLogWriter


# How long an appender that has written a batch waits for a running fdatasync before it goes on:
# long enough for a syncer waiting for the GIL to be woken and take it.
HANDOFF_SECONDS = 0.0001
# The longest a thread back from a blocking call (the syncer from fdatasync or from its wait for
# work) may wait for the GIL while an appender computes: CPython's default is 5 ms, and a syncer
# cycle has two such waits, so an entry appended just after a sync started became durable up to
# ~20 ms later (p99 29-36 ms at 110k appends/s). Only a thread that asks for the GIL makes the
# holder switch, so a lone busy thread pays nothing for the shorter interval.
SWITCH_INTERVAL_SECONDS = 0.0005


def shorten_switch_interval() -> None:
    """Lower the interpreter's GIL switch interval to SWITCH_INTERVAL_SECONDS (never raise it): a
    group-commit writer's durable latency is bounded by it."""
    if sys.getswitchinterval() > SWITCH_INTERVAL_SECONDS:
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


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
    """Wait for work: "sync" (written, not durable), "commit" (a partial batch is due), None (stop).

    Reads the appenders' state without their lock (single reads; `_first_pending` is set before the
    first entry of a batch is buffered): a stale answer costs at most an early partial commit or a
    wake-up, because appenders notify `_work` after each change that makes work."""
    with writer._work:
        while not writer._closing and writer._error is None:
            if writer._written[0] > writer._durable_seq:
                return "sync"
            timeout = None
            if writer._buffer:
                timeout = writer._first_pending + writer._group_seconds - time.monotonic()
                if timeout <= 0:
                    return "commit"
            writer._work.wait(timeout)
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
