"""The global kill switch as files, the pure part: what the override files say (`OverrideState`,
combined over the components most severe first) and the port the kill switch reads it through.

An override file in ``runtime.overrides_dir`` stops every new order. Reading is fail-safe: a file
that is present but cannot be trusted (bad JSON, unknown schema, missing fields, a symlink, group or
world permissions) counts as an ACTIVE override with ``malformed=True`` and the reason: trading
halts until an operator looks. Only an absent or expired file lets trading continue. The same holds
for the directory: while a watcher runs, its removal, replacement by a symlink or a permission
change halts every component. The files are read and watched (inotify, polling fallback) by the
adapter in tradeops/host/ (override_files.py, override_watcher.py); the document's schema, its
components and the timestamp format are tradeops/config/overrides.py (import them from there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from tradeops.config.overrides import (
    COMPONENT_BY_FILE,
    COMPONENTS,
    Component,
    OnDisable,
    OverrideFile,
    validate_override,
)

__all__ = [
    "INACTIVE",
    "MAX_OVERRIDE_BYTES",
    "REQUIRED_MODE",
    "OverrideSource",
    "OverrideState",
    "combine",
    "directory_fault",
    "malformed",
    "parse_override",
]

MAX_OVERRIDE_BYTES = 64 * 1024
REQUIRED_MODE = 0o600


@dataclass(frozen=True, slots=True)
class OverrideState:
    """What the override files say at `observed_ms`. For several files: the most severe one,
    with every file's own state in `files`."""

    active: bool
    component: str | None = None
    path: Path | None = None
    malformed: bool = False
    expired: bool = False
    problem: str = ""  # why a present file is not trusted
    override: OverrideFile | None = None
    files: tuple[OverrideState, ...] = ()
    observed_ms: int = field(default=0, compare=False)

    @property
    def present(self) -> bool:
        return self.path is not None

    @property
    def reason(self) -> str:
        if self.malformed:
            return f"malformed override {self.path}: {self.problem}"
        return self.override.reason if self.override else ""

    @property
    def expires_ms(self) -> int | None:
        return self.override.expires_ms if self.override and not self.malformed else None

    @property
    def on_disable(self) -> OnDisable:
        return self.override.on_disable if self.override and not self.malformed else OnDisable()

    def active_at(self, now_ms: int) -> bool:
        """Active at `now_ms` (an override expires by itself, even before the watcher re-reads it)."""
        if not self.active:
            return False
        expires = self.expires_ms
        return expires is None or now_ms < expires


INACTIVE = OverrideState(active=False)


def malformed(path: Path, component: Component, problem: str, now_ms: int) -> OverrideState:
    return OverrideState(True, component.name, path, malformed=True, problem=problem, observed_ms=now_ms)


def parse_override(data: bytes, path: str | Path, now_ms: int) -> OverrideState:
    """Judge an override document (a file's bytes, or a cluster KV value named like the file)
    fail-safe: anything but a valid document for its name is an active, malformed override."""
    path = Path(path)
    component = COMPONENT_BY_FILE.get(path.name, COMPONENTS["multi_strategy"])
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return malformed(path, component, f"is not valid JSON ({exc})", now_ms)
    if not isinstance(document, dict):
        return malformed(path, component, "is not a JSON object", now_ms)
    override = validate_override(document)
    if isinstance(override, str):
        return malformed(path, component, override, now_ms)
    if override.action != component.action:
        problem = f"action {override.action!r} does not match file name (expected {component.action!r})"
        return malformed(path, component, problem, now_ms)
    expires = override.expires_ms
    expired = expires is not None and now_ms >= expires
    return OverrideState(
        not expired, component.name, path, expired=expired, override=override, observed_ms=now_ms
    )


def directory_fault(directory: Path, problem: str, now_ms: int) -> OverrideState:
    """Every component halted: nothing in (or about to be in) the directory can be trusted."""
    files = tuple(
        malformed(directory, c, f"overrides directory {problem}", now_ms) for c in COMPONENTS.values()
    )
    return replace(files[0], files=files)


def _severity(state: OverrideState) -> int:
    return (3 if state.malformed else 2) if state.active else (1 if state.expired else 0)


def combine(files: tuple[OverrideState, ...], now_ms: int) -> OverrideState:
    """Every component's state combined: the most severe present file leads, the rest ride along."""
    present = tuple(f for f in files if f.present)
    if not present:
        return replace(INACTIVE, observed_ms=now_ms)
    lead = max(present, key=_severity)
    return replace(lead, files=present, observed_ms=now_ms)


class OverrideSource(Protocol):
    """The override files as the kill switch reads them (the watcher adapter in tradeops/host/)."""

    @property
    def poll_interval_ms(self) -> int: ...

    @property
    def state(self) -> OverrideState:
        """The last state read (kept current by the watcher's thread)."""
        ...

    def quick_check(self) -> OverrideState:
        """The per-order check: re-read only when a file changed since the last read."""
        ...
