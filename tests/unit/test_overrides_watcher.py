"""The watcher notices override files appear, change, expire and disappear (inotify and polling)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tradeops.bootstrap.override_files import remove_override_file, write_override
from tradeops.config.overrides import OverrideFile, format_timestamp
from tradeops.host.override_watcher import OverrideWatcher
from tradeops.runtime.overrides import OverrideState

NOW = 1_772_366_400_000  # 2026-03-01T12:00:00Z
WAIT_S = 10.0  # generous bound: the loop stops as soon as the condition holds


class FakeClock:
    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def override(expires_ms: int | None = None, reason: str = "feed outage") -> OverrideFile:
    return OverrideFile.model_validate(
        {
            "schema": "stage4.scheduler.override",
            "schema_version": "1.0",
            "timestamp": format_timestamp(NOW),
            "action": "disable_multi_strategy",
            "reason": reason,
            "ticket": "INC-42",
            "requested_by": "l2-ops",
            **({"expires_at": format_timestamp(expires_ms)} if expires_ms else {}),
        }
    )


def eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return condition()


class Recorder:
    def __init__(self) -> None:
        self.states: list[OverrideState] = []
        self.lock = threading.Lock()

    def __call__(self, state: OverrideState) -> None:
        with self.lock:
            self.states.append(state)

    def flags(self) -> list[tuple[bool, bool, bool]]:
        with self.lock:
            return [(s.active, s.malformed, s.expired) for s in self.states]


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "polling"])
def test_background_thread_sees_create_change_and_remove(tmp_path: Path, use_inotify: bool) -> None:
    recorder = Recorder()
    watcher = OverrideWatcher(
        tmp_path, FakeClock(), poll_interval_ms=5, on_change=recorder, use_inotify=use_inotify
    )
    with watcher:
        assert watcher.mode == ("inotify" if use_inotify else "polling")
        assert not watcher.state.active
        path = write_override(tmp_path, override(), force=False)
        assert eventually(lambda: watcher.state.active)
        assert watcher.state.reason == "feed outage"

        path.chmod(0o644)  # tampering: still halted, now as malformed
        assert eventually(lambda: watcher.state.malformed)
        assert watcher.state.active

        remove_override_file(path)
        assert eventually(lambda: not watcher.state.active and not watcher.state.present)
        assert eventually(lambda: recorder.flags()[-1] == (False, False, False))
    assert watcher.mode == "stopped"
    # One notification per distinct state, in order: inactive, active, malformed, inactive.
    assert recorder.flags() == [
        (False, False, False),
        (True, False, False),
        (True, True, False),
        (False, False, False),
    ]


def test_watcher_started_on_a_missing_directory_picks_it_up(tmp_path: Path) -> None:
    directory = tmp_path / "overrides"
    watcher = OverrideWatcher(directory, FakeClock(), poll_interval_ms=5)
    with watcher:
        write_override(directory, override(), force=False)
        assert eventually(lambda: watcher.state.active)


def test_check_now_reads_synchronously_and_notifies_once_per_change(tmp_path: Path) -> None:
    recorder = Recorder()
    watcher = OverrideWatcher(tmp_path, FakeClock(), on_change=recorder)  # no thread
    assert recorder.flags() == [(False, False, False)]
    write_override(tmp_path, override(), force=False)
    assert watcher.state.active is False  # nothing re-read it yet
    assert watcher.check_now().active
    watcher.check_now()
    assert recorder.flags() == [(False, False, False), (True, False, False)]


def test_quick_check_sees_a_new_file_without_the_thread_and_without_notifying(tmp_path: Path) -> None:
    recorder = Recorder()
    watcher = OverrideWatcher(tmp_path, FakeClock(), on_change=recorder)
    write_override(tmp_path, override(), force=False)
    assert watcher.quick_check().active
    assert watcher.state.active
    assert recorder.flags() == [(False, False, False)]  # the order path never runs listeners
    watcher.check_now()
    assert recorder.flags()[-1] == (True, False, False)


def test_quick_check_notices_an_edit_in_place(tmp_path: Path) -> None:
    watcher = OverrideWatcher(tmp_path, FakeClock())
    path = write_override(tmp_path, override(), force=False)
    assert watcher.quick_check().reason == "feed outage"
    doc = json.loads(path.read_text())
    doc["reason"] = "a much longer reason than before"
    path.write_text(json.dumps(doc))  # same inode, new size and mtime
    assert watcher.quick_check().reason == "a much longer reason than before"


def test_expiry_with_an_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    recorder = Recorder()
    watcher = OverrideWatcher(tmp_path, clock, on_change=recorder)
    write_override(tmp_path, override(expires_ms=NOW + 60_000), force=False)
    state = watcher.check_now()
    assert state.active_at(clock())
    clock.now = NOW + 60_000
    assert not state.active_at(clock())  # the gate sees the expiry before any re-read
    expired = watcher.check_now()
    assert not expired.active and expired.expired
    assert recorder.flags() == [(False, False, False), (True, False, False), (False, False, True)]


def test_polling_thread_publishes_expiry_by_itself(tmp_path: Path) -> None:
    clock = FakeClock()
    watcher = OverrideWatcher(tmp_path, clock, poll_interval_ms=5, use_inotify=False)
    write_override(tmp_path, override(expires_ms=NOW + 60_000), force=False)
    with watcher:
        assert eventually(lambda: watcher.state.active)
        clock.now = NOW + 61_000
        assert eventually(lambda: watcher.state.expired)


def test_a_failing_listener_does_not_stop_the_watcher(tmp_path: Path) -> None:
    seen: list[bool] = []

    def listener(state: OverrideState) -> None:
        seen.append(state.active)
        raise RuntimeError("listener bug")

    watcher = OverrideWatcher(tmp_path, FakeClock(), poll_interval_ms=5, on_change=listener)
    with watcher:
        write_override(tmp_path, override(), force=False)
        assert eventually(lambda: seen[-1:] == [True])
        remove_override_file(tmp_path / "multi_strategy_disable.json")
        assert eventually(lambda: seen[-1:] == [False])
