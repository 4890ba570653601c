"""Read use case: trading state, the kill switch requested and observed, the heartbeat, and the
runbook's live checks (the overrides directory's file mode)."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from typing import Any

from tradeops.config.overrides import format_timestamp
from tradeops.ops.observed import ObservedStatusQuery, observed_status
from tradeops.ops.read_models import KillSwitchView, StateView
from tradeops.ops_ports import OpsContext


@dataclass(frozen=True, slots=True)
class StateQuery:
    pass


def _scopes(ctx: OpsContext) -> dict[str, dict[str, Any]]:
    details = getattr(ctx.store, "trading_state_details", None)
    if details is not None:
        return {
            k: {"state": s.value, "reason": r, "changed_at": format_timestamp(t) if t else None}
            for k, (s, r, t) in details().items()
        }
    return {
        k: {"state": s.value, "reason": "", "changed_at": None} for k, s in ctx.store.trading_states().items()
    }


def overrides_dir_mode_ok(ctx: OpsContext) -> bool | None:
    """The overrides directory is writable by its owner (and group) only; None when it is missing."""
    try:
        mode = ctx.overrides_dir.stat().st_mode
    except FileNotFoundError:
        return None
    return not mode & stat.S_IWOTH


def read_state(ctx: OpsContext, _query: StateQuery) -> StateView:
    """What was requested (overrides, disabled strategies) next to what the scheduler reports."""
    observed = observed_status(ctx, ObservedStatusQuery(wait_s=0.0))
    requested = observed.requested
    overrides = tuple(dict(o) for o in requested.overrides)
    active = any(bool(o.get("active")) for o in overrides)
    malformed = any(bool(o.get("malformed")) for o in overrides)
    beat = observed.observed
    seen: bool | None = None
    if beat is not None and beat["live"]:
        seen = bool(beat["override_seen"]) or bool(beat["override_malformed"])
    scopes = _scopes(ctx)
    halted = scopes.get("global", {}).get("state") == "halted"
    return StateView(
        environment=ctx.environment,
        checked_at=observed.checked_at,
        verdict=observed.verdict,
        new_orders_allowed=not (active or malformed or halted),
        scopes=scopes,
        kill_switch=KillSwitchView(active or malformed, malformed, seen, overrides),
        heartbeat=beat,
        strategies=observed.strategies,
        file_mode_ok=overrides_dir_mode_ok(ctx),
    )
