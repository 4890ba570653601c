"""The watchdog's decision (pure): should the account's venue orders be taken down now, and why.

Two triggers: the kill switch is engaged and the scheduler has not confirmed it within
`confirm_seconds`; or the scheduler's heartbeat (once seen) is older than `stale_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WatchdogInputs:
    now_ms: int
    engaged: bool  # the kill switch (global override) is engaged
    engaged_since_ms: int | None  # when this watchdog first saw it engaged
    confirmed: bool  # the scheduler confirmed the engaged switch (its kv row)
    heartbeat_ms: int | None  # the scheduler's last heartbeat (None: none recorded)


@dataclass(frozen=True, slots=True)
class WatchdogLimits:
    confirm_ms: int
    stale_ms: int


def trigger(inputs: WatchdogInputs, limits: WatchdogLimits) -> str | None:
    """`kill_switch_unconfirmed`, `heartbeat_stale`, or None (nothing to do)."""
    if (
        inputs.engaged
        and not inputs.confirmed
        and inputs.engaged_since_ms is not None
        and inputs.now_ms - inputs.engaged_since_ms >= limits.confirm_ms
    ):
        return "kill_switch_unconfirmed"
    if inputs.heartbeat_ms is not None and inputs.now_ms - inputs.heartbeat_ms >= limits.stale_ms:
        return "heartbeat_stale"
    return None
