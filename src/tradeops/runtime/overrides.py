"""The global kill switch as files: read them fail-safe, watch them with inotify (polling fallback).

An override file in ``runtime.overrides_dir`` stops every new order. Reading is fail-safe: a file
that is present but cannot be trusted (bad JSON, unknown schema, missing fields, a symlink, group or
world permissions) counts as an ACTIVE override with ``malformed=True`` and the reason: trading
halts until an operator looks. Only an absent or expired file lets trading continue. The same holds
for the directory (tradeops.runtime.overrides_directory): while a watcher runs, its removal,
replacement by a symlink or a permission change halts every component.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tradeops.domain.clock import iso_to_ms
from tradeops.runtime.overrides_directory import ArmedDirectory, arm_directory, directory_problem

log = logging.getLogger(__name__)

OVERRIDE_SCHEMA = "stage4.scheduler.override"
OVERRIDE_SCHEMA_VERSION = "1.0"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MAX_OVERRIDE_BYTES = 64 * 1024
REQUIRED_MODE = 0o600


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    file_name: str
    action: str


COMPONENTS: dict[str, Component] = {
    "multi_strategy": Component("multi_strategy", "multi_strategy_disable.json", "disable_multi_strategy"),
    "decision_orchestrator": Component(
        "decision_orchestrator", "decision_orchestrator_disable.json", "disable_decision_orchestrator"
    ),
}
COMPONENT_BY_FILE = {c.file_name: c for c in COMPONENTS.values()}
PositionsPolicy = Literal["hold", "reduce", "flatten"]


def format_timestamp(ts_ms: int) -> str:
    """Epoch ms -> ``YYYY-MM-DDTHH:MM:SSZ`` (the override file's timestamp form)."""
    return datetime.fromtimestamp(ts_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OnDisable(BaseModel):
    """What the engine does with open orders and positions while the override is active."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cancel_open_orders: bool = True
    positions: PositionsPolicy = "hold"


class OverrideFile(BaseModel):
    """The JSON document of one override file."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_name: Literal["stage4.scheduler.override"] = Field(alias="schema")
    schema_version: Literal["1.0"]
    timestamp: str
    action: Literal["disable_multi_strategy", "disable_decision_orchestrator"]
    reason: str = Field(min_length=1)
    ticket: str
    requested_by: str
    expires_at: str | None = None
    on_disable: OnDisable = OnDisable()
    forced: bool = False

    @field_validator("timestamp", "expires_at")
    @classmethod
    def _utc_second(cls, value: str | None) -> str | None:
        if value is not None and not TIMESTAMP_RE.match(value):
            raise ValueError("must look like YYYY-MM-DDTHH:MM:SSZ")
        return value

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def expires_ms(self) -> int | None:
        return None if self.expires_at is None else iso_to_ms(self.expires_at)

    def to_json(self) -> dict[str, object]:
        """The document as written: optional keys are omitted when absent."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


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


def _malformed(path: Path, component: Component, problem: str, now_ms: int) -> OverrideState:
    return OverrideState(True, component.name, path, malformed=True, problem=problem, observed_ms=now_ms)


def _read_bytes(path: Path) -> bytes:
    """Read without following a symlink; refuse anything but a private regular file."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError("is a symlink (override files must be regular files)") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode != REQUIRED_MODE:
            raise ValueError(f"has permissions {mode:04o}; expected 0600 (chmod 600)")
        if info.st_size > MAX_OVERRIDE_BYTES:
            raise ValueError(f"is {info.st_size} bytes; larger than {MAX_OVERRIDE_BYTES}")
        chunks = []
        while chunk := os.read(fd, MAX_OVERRIDE_BYTES + 1):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _validation_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "document"
    if first["type"] == "missing":
        return f"missing field {where!r}"
    if first["type"] == "extra_forbidden":
        return f"unknown field {where!r}"
    if where == "schema":
        return f"unknown schema {first.get('input')!r}; expected {OVERRIDE_SCHEMA!r}"
    return f"field {where!r}: {first['msg']}"


def read_override(path: str | Path, now_ms: int) -> OverrideState:
    """Read one override file fail-safe (see the module docstring)."""
    path = Path(path)
    component = COMPONENT_BY_FILE.get(path.name, COMPONENTS["multi_strategy"])
    try:
        data = _read_bytes(path)
    except FileNotFoundError:
        return replace(INACTIVE, observed_ms=now_ms)
    except ValueError as exc:
        return _malformed(path, component, str(exc), now_ms)
    except OSError as exc:
        return _malformed(path, component, f"cannot be read ({exc.strerror})", now_ms)
    return parse_override(data, path, now_ms)


def parse_override(data: bytes, path: str | Path, now_ms: int) -> OverrideState:
    """Judge an override document (a file's bytes, or a cluster KV value named like the file)
    fail-safe: anything but a valid document for its name is an active, malformed override."""
    path = Path(path)
    component = COMPONENT_BY_FILE.get(path.name, COMPONENTS["multi_strategy"])
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _malformed(path, component, f"is not valid JSON ({exc})", now_ms)
    if not isinstance(document, dict):
        return _malformed(path, component, "is not a JSON object", now_ms)
    try:
        override = OverrideFile.model_validate(document)
    except ValidationError as exc:
        return _malformed(path, component, _validation_problem(exc), now_ms)
    if override.action != component.action:
        problem = f"action {override.action!r} does not match file name (expected {component.action!r})"
        return _malformed(path, component, problem, now_ms)
    expires = override.expires_ms
    expired = expires is not None and now_ms >= expires
    return OverrideState(
        not expired, component.name, path, expired=expired, override=override, observed_ms=now_ms
    )


def _directory_fault(directory: Path, problem: str, now_ms: int) -> OverrideState:
    """Every component halted: nothing in (or about to be in) the directory can be trusted."""
    files = tuple(
        _malformed(directory, c, f"overrides directory {problem}", now_ms) for c in COMPONENTS.values()
    )
    return replace(files[0], files=files)


def _severity(state: OverrideState) -> int:
    return (3 if state.malformed else 2) if state.active else (1 if state.expired else 0)


def read_overrides(directory: str | Path, now_ms: int, armed: ArmedDirectory | None = None) -> OverrideState:
    """Every component's file in `directory`, combined: the most severe state leads. A directory
    that cannot be trusted (see `directory_problem`) halts every component."""
    directory = Path(directory)
    problem = directory_problem(directory, armed)
    if problem is not None:
        return _directory_fault(directory, problem, now_ms)
    files = tuple(read_override(directory / c.file_name, now_ms) for c in COMPONENTS.values())
    present = tuple(f for f in files if f.present)
    if not present:
        return replace(INACTIVE, observed_ms=now_ms)
    lead = max(present, key=_severity)
    return replace(lead, files=present, observed_ms=now_ms)


_WATCH_GONE = 0x8000 | 0x400 | 0x800  # IN_IGNORED, IN_DELETE_SELF, IN_MOVE_SELF

Signature = tuple[tuple[int, int, int, int, int] | None, ...]


def override_paths(directory: str | Path) -> tuple[str, ...]:
    return tuple(str(Path(directory) / c.file_name) for c in COMPONENTS.values())


def file_signature(paths: tuple[str, ...]) -> Signature:
    """Cheap identity of the override files (one lstat each): changes on create, replace, edit,
    chmod and removal."""
    result: list[tuple[int, int, int, int, int] | None] = []
    for path in paths:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            result.append(None)
        except OSError:
            result.append((-1, -1, -1, -1, -1))
        else:
            result.append((info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode))
    return tuple(result)


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
