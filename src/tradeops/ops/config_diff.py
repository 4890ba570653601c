"""What differs between two configurations, and which differences a running scheduler can take live.

Live at a cycle boundary: risk profiles (allocations and limits), strategy parameters, the cadence,
drift budget, warmup, signal cap and risk profile of a schedule that already runs, and the kill-switch
position/cancel policy. Everything else (venues, environments, adding or removing a schedule, the
decision log, the control API, ...) needs a restart; a change that holds any of those is refused
whole, so nothing is ever applied partly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tradeops.config.models import AppConfig

MAX_CHANGES_SHOWN = 200  # bounded entries: a diff beyond this is summarised by its count

_SCHEDULE_LIVE = ("cadence_seconds", "max_drift_seconds", "warmup_bars", "max_signals", "risk_profile")
_LIVE_PATTERNS = (
    re.compile(r"^risk_profiles\.[^.]+(\..+)?$"),
    re.compile(r"^strategies\..+$"),
    re.compile(r"^runtime\.kill_switch\.(positions|cancel_open_orders)$"),
)
_SCHEDULE_PATH = re.compile(r"^runtime\.multi_strategy_schedulers\.([^.]+)\.schedules\.([^.]+)(?:\.(.+))?$")


@dataclass(frozen=True)
class Change:
    """One changed leaf: its dotted path, the old and the new value (None: absent)."""

    path: str
    old: object
    new: object

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class ConfigDiff:
    changes: tuple[Change, ...]
    restart_required: tuple[str, ...]  # one line per change that cannot be applied live

    @property
    def live(self) -> bool:
        return not self.restart_required

    def summary(self) -> dict[str, object]:
        return {
            "changes": [c.to_dict() for c in self.changes[:MAX_CHANGES_SHOWN]],
            "change_count": len(self.changes),
            "restart_required": list(self.restart_required[:MAX_CHANGES_SHOWN]),
        }


def _flatten(value: object, prefix: str, out: dict[str, object]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def changed_leaves(old: AppConfig, new: AppConfig) -> tuple[Change, ...]:
    """Every leaf whose value differs (lists compare whole), sorted by path."""
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    _flatten(old.model_dump(mode="json"), "", before)
    _flatten(new.model_dump(mode="json"), "", after)
    paths = sorted(set(before) | set(after))
    return tuple(Change(p, before.get(p), after.get(p)) for p in paths if before.get(p) != after.get(p))


def _restart_reason(change: Change, old: AppConfig, new: AppConfig, scheduler: str) -> str | None:
    if any(p.match(change.path) for p in _LIVE_PATTERNS):
        return None
    match = _SCHEDULE_PATH.match(change.path)
    if match is not None:
        sched, name, field_name = match.groups()
        old_scheds = old.runtime.multi_strategy_schedulers
        new_scheds = new.runtime.multi_strategy_schedulers
        exists = sched in old_scheds and name in old_scheds[sched].schedules
        kept = sched in new_scheds and name in new_scheds[sched].schedules
        if sched != scheduler and (sched in old_scheds) and (sched in new_scheds):
            return None  # a scheduler this process does not run: takes effect where it runs
        if not exists:
            return f"{change.path}: adding schedule {name} needs a restart"
        if not kept:
            return f"{change.path}: removing schedule {name} needs a restart"
        if field_name is not None and field_name.split(".")[0] in _SCHEDULE_LIVE:
            if field_name == "risk_profile" and change.new not in new.risk_profiles:
                return f"{change.path}: risk profile {change.new!r} does not exist"
            return None
    return f"{change.path}: cannot change while the scheduler runs (restart it to apply)"


def diff_configs(old: AppConfig, new: AppConfig, *, scheduler: str | None = None) -> ConfigDiff:
    """The changes from `old` (what the scheduler runs) to `new`, and which of them need a restart."""
    running = scheduler or old.runtime.default_scheduler
    changes = changed_leaves(old, new)
    reasons = [_restart_reason(c, old, new, running) for c in changes]
    return ConfigDiff(changes, tuple(r for r in reasons if r is not None))
