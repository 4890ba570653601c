"""Group commit's hand-offs: an appender that wrote a batch gives the GIL to a running fdatasync,
commits an old partial batch itself, and periodic anchors leave the directory fsync to close; the
syncer never needs the appenders' lock, and a group writer bounds the GIL switch interval."""

from __future__ import annotations

import sys
import threading
import time
from types import SimpleNamespace

from tradeops.decision_log.anchor import read_anchor
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.syncer import SWITCH_INTERVAL_SECONDS, hand_off
from tradeops.decision_log.writer import DecisionLogWriter

KEY = SigningKey("ops", b"test-secret", "sha256")


def fake_writer(started: float, group_seconds: float) -> SimpleNamespace:
    done = threading.Lock()
    done.acquire()
    return SimpleNamespace(_sync_started=started, _sync_done=done, _group_seconds=group_seconds)


def wait_until(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)
    return condition()


def test_no_fdatasync_running_means_no_wait() -> None:
    writer = fake_writer(0.0, 60.0)
    hand_off(writer)  # the lock is held and never released: returning at all is the behaviour
    assert writer._sync_done.locked()


def test_an_fdatasync_still_running_is_waited_for_only_briefly() -> None:
    writer = fake_writer(time.monotonic(), 60.0)
    hand_off(writer)
    assert writer._sync_done.locked()


def test_an_fdatasync_past_group_ms_is_waited_for_until_it_is_recorded() -> None:
    writer = fake_writer(time.monotonic() - 1.0, 0.005)
    recorded = threading.Event()

    def syncer() -> None:
        time.sleep(0.02)
        recorded.set()
        writer._sync_done.release()

    thread = threading.Thread(target=syncer)
    thread.start()
    hand_off(writer)
    assert recorded.is_set()
    thread.join()


def test_a_batch_older_than_group_ms_is_written_by_the_next_append(tmp_path, monkeypatch) -> None:
    # No syncer activity: only the appending thread can write the batch.
    monkeypatch.setattr("tradeops.decision_log.writer.run_syncer", lambda writer: None)
    path = tmp_path / "log.jsonl"
    writer = DecisionLogWriter(path, KEY, group_entries=1000, group_ms=1.0)
    writer.append(kind="test", stage="s", status="a", artefacts={})
    assert len(path.read_bytes().splitlines()) == 1  # the genesis entry only
    time.sleep(0.005)
    writer.append(kind="test", stage="s", status="b", artefacts={})
    assert len(path.read_bytes().splitlines()) == 3
    writer.close()


def test_periodic_anchors_leave_the_directory_fsync_to_close(tmp_path, monkeypatch) -> None:
    synced: list[object] = []
    monkeypatch.setattr("tradeops.fsutil.fsync_dir", synced.append)
    path = tmp_path / "log.jsonl"
    writer = DecisionLogWriter(path, KEY, group_entries=10, anchor_interval_s=0.05)
    opened = len(synced)  # the genesis anchor's
    for i in range(25):
        writer.append(kind="test", stage="s", status=f"s{i}", artefacts={})
    writer.flush()

    def anchored_seq() -> int:
        anchor, problem = read_anchor(path, {"ops": KEY})
        assert problem is None
        return anchor.seq if anchor else 0

    assert wait_until(lambda: anchored_seq() == writer.durable_seq == 26)
    assert len(synced) == opened
    writer.append(kind="test", stage="s", status="last", artefacts={})
    writer.close()  # anchors seq 27, renamed durably
    assert len(synced) == opened + 1
    assert anchored_seq() == 27


def test_the_syncer_makes_a_written_batch_durable_while_an_appender_holds_its_lock(tmp_path) -> None:
    # An appender holds the append lock for most of its CPU time: a syncer that needed it after
    # each fdatasync would queue behind it once per sync.
    writer = DecisionLogWriter(tmp_path / "log.jsonl", KEY, group_entries=5, group_ms=1000.0)
    for i in range(5):  # a full batch: written by this thread, left to the syncer to fdatasync
        writer.append(kind="test", stage="s", status=f"s{i}", artefacts={})
    with writer._lock:
        assert wait_until(lambda: writer.durable_seq == 6, seconds=10.0)
        assert writer.durable_head() == (6, writer.head)
    writer.close()


def test_a_partial_batch_is_committed_by_the_syncer_group_ms_after_its_first_entry(tmp_path) -> None:
    writer = DecisionLogWriter(tmp_path / "log.jsonl", KEY, group_entries=1000, group_ms=2.0)
    writer.append(kind="test", stage="s", status="alone", artefacts={})
    assert wait_until(lambda: writer.durable_seq == 2, seconds=10.0)  # no further append, no flush
    writer.close()


def test_a_group_writer_shortens_the_switch_interval_and_never_lengthens_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "getswitchinterval", lambda: 0.005)
    set_to: list[float] = []
    monkeypatch.setattr(sys, "setswitchinterval", set_to.append)
    DecisionLogWriter(tmp_path / "a.jsonl", KEY).close()
    assert set_to == [SWITCH_INTERVAL_SECONDS]
    monkeypatch.setattr(sys, "getswitchinterval", lambda: 0.0001)
    DecisionLogWriter(tmp_path / "b.jsonl", KEY).close()
    DecisionLogWriter(tmp_path / "c.jsonl", KEY, fsync_mode="each").close()
    assert set_to == [SWITCH_INTERVAL_SECONDS]
