"""The kill switch's own copies: every override file it saw (byte for byte, once per content) and a
marker for each removal, under `var/runtime/override_history/`, named `<UTC time>-<component>-...`.
`tradeops incident bundle` collects the ones inside an incident's window."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from tradeops.config.overrides import format_timestamp
from tradeops.fsutil import atomic_write_bytes
from tradeops.runtime.overrides import MAX_OVERRIDE_BYTES, OverrideState

log = logging.getLogger(__name__)


def history_dir(overrides_dir: str | Path) -> Path:
    return Path(overrides_dir).parent / "override_history"


def _stamp(ts_ms: int) -> str:
    return format_timestamp(ts_ms).replace(":", "").replace("-", "")


class OverrideArchive:
    """An OverrideWatcher listener (`on_change`): copy what changed, remember what it copied."""

    def __init__(self, overrides_dir: str | Path, clock_ms: Callable[[], int]) -> None:
        self.directory = history_dir(overrides_dir)
        self._clock_ms = clock_ms
        self._seen: dict[str, str] = {}  # component -> sha384 of the last copy
        self._lock = threading.Lock()

    def __call__(self, state: OverrideState) -> None:
        files = state.files or ((state,) if state.present else ())
        now = self._clock_ms()
        with self._lock:
            present = set()
            for item in files:
                if item.component is None or item.path is None:
                    continue
                present.add(item.component)
                self._copy(item.component, item.path, now)
            for component in sorted(set(self._seen) - present):
                previous = self._seen.pop(component)
                marker = {
                    "component": component,
                    "removed_at": format_timestamp(now),
                    "previous_sha384": previous,
                }
                name = f"{_stamp(now)}-{component}-removed.json"
                atomic_write_bytes(
                    self.directory / name, json.dumps(marker, sort_keys=True).encode() + b"\n", 0o600
                )

    def _copy(self, component: str, path: Path, now: int) -> None:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_OVERRIDE_BYTES + 1)
        except OSError as exc:  # gone again, or unreadable: the watcher reports that itself
            log.debug("override %s not archived: %s", path, exc)
            return
        digest = "sha384:" + hashlib.sha384(data).hexdigest()
        if self._seen.get(component) == digest:
            return
        self._seen[component] = digest
        name = f"{_stamp(now)}-{component}-{digest[7:19]}.json"
        atomic_write_bytes(self.directory / name, data, 0o600)
