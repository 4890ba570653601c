"""The override watcher: keeps the override files' state current with inotify on the directory
(polling when inotify is unavailable). Implements runtime.overrides.OverrideSource."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradeops.config.overrides import COMPONENT_BY_FILE
from tradeops.host.override_files import Signature, file_signature, override_paths, read_overrides
from tradeops.host.overrides_directory import arm_directory
from tradeops.runtime.overrides import INACTIVE, OverrideState

log = logging.getLogger(__name__)

_WATCH_GONE = 0x8000 | 0x400 | 0x800  # IN_IGNORED, IN_DELETE_SELF, IN_MOVE_SELF


class OverrideWatcher:
    """Keeps `state` current: inotify on the directory, or polling every `poll_interval_ms` when
    inotify is unavailable. `on_change` runs on the watcher thread (or in `check_now`) once per
    change, never on the order path."""

    WAKE_MS = 100  # with inotify: wake this often to notice expiry and stop()

    def __init__(
        self,
        directory: str | Path,
        clock_ms: Callable[[], int],
        poll_interval_ms: int = 10,
        on_change: Callable[[OverrideState], None] | None = None,
        *,
        use_inotify: bool | None = None,
    ) -> None:
        self.directory = Path(directory)
        # The directory itself is part of the safety state: its removal, replacement or a
        # permission change halts trading like a malformed file does.
        self.armed = arm_directory(self.directory)
        self._paths = (str(self.directory), *override_paths(self.directory))
        self.poll_interval_ms = poll_interval_ms
        self.on_change = on_change
        self._clock_ms = clock_ms
        self._use_inotify = use_inotify
        self._lock = threading.Lock()
        self._notify_lock = threading.Lock()
        # (signature, state) replaced as one object so a lock-free reader never pairs a new
        # signature with an old state.
        self._snapshot: tuple[Signature, OverrideState] = ((), INACTIVE)
        self._notified: OverrideState | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.mode = "stopped"
        self.check_now()

    @property
    def state(self) -> OverrideState:
        return self._snapshot[1]

    def check_now(self, notify: bool = True) -> OverrideState:
        """Re-read the files synchronously, publish the result and (by default) notify a change."""
        with self._lock:
            signature = file_signature(self._paths)
            state = read_overrides(self.directory, self._clock_ms(), self.armed)
            self._snapshot = (signature, state)
        if notify:
            self._notify(state)
        return state

    def quick_check(self) -> OverrideState:
        """The per-order check: three lstat calls (directory and files); re-read only on a change.
        No notification."""
        signature, state = self._snapshot
        if file_signature(self._paths) == signature:
            return state
        return self.check_now(notify=False)

    def _notify(self, state: OverrideState) -> None:
        if self.on_change is None:
            return
        with self._notify_lock:
            if state == self._notified:
                return
            self._notified = state
            try:
                self.on_change(state)
            except Exception:  # a failing listener must not stop the watcher
                log.exception("override on_change listener failed")

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        inotify = self._open_inotify() if self._use_inotify in (None, True) else None
        if inotify is None and self._use_inotify:
            raise RuntimeError("inotify requested but unavailable")
        self.mode = "inotify" if inotify is not None else "polling"
        target = self._run_inotify if inotify is not None else self._run_polling
        self._thread = threading.Thread(
            target=target, args=(inotify,) if inotify else (), name="override-watcher", daemon=True
        )
        self._thread.start()
        self.check_now()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        self.mode = "stopped"

    def __enter__(self) -> OverrideWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- loops -----------------------------------------------------------------------------------

    def _run_polling(self) -> None:
        interval = self.poll_interval_ms / 1000
        while not self._stop.wait(interval):
            self._tick()

    def _tick(self) -> None:
        signature, state = self._snapshot
        expiring = state.active and state.expires_ms is not None and self._clock_ms() >= state.expires_ms
        if expiring or file_signature(self._paths) != signature:
            self.check_now()
        elif self.on_change is not None and self._notified != state:
            self.check_now()  # quick_check published a change that nobody was told about yet

    def _open_inotify(self) -> Any:
        try:
            from inotify_simple import INotify
        except ImportError:
            return None
        try:
            return INotify()
        except OSError:
            return None

    def _add_watch(self, inotify: Any) -> int | None:
        from inotify_simple import flags

        mask = (
            flags.CREATE
            | flags.DELETE
            | flags.MOVED_TO
            | flags.MOVED_FROM
            | flags.CLOSE_WRITE
            | flags.MODIFY
            | flags.ATTRIB
            | flags.DELETE_SELF
            | flags.MOVE_SELF
        )
        with contextlib.suppress(OSError):
            return int(inotify.add_watch(str(self.directory), mask))
        return None

    def _run_inotify(self, inotify: Any) -> None:
        watch = self._add_watch(inotify)
        try:
            while not self._stop.is_set():
                # Without a watch (directory missing) poll until it appears.
                timeout = self.WAKE_MS if watch is not None else self.poll_interval_ms
                events = inotify.read(timeout=timeout)
                if self._stop.is_set():
                    return
                if any(e.mask & _WATCH_GONE for e in events):
                    watch = None
                if watch is None:
                    watch = self._add_watch(inotify)
                if any(e.name in COMPONENT_BY_FILE or not e.name for e in events):
                    self.check_now()
                else:
                    self._tick()  # expiry, missed events, a pending notification
        finally:
            inotify.close()
