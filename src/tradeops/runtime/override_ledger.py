"""The override-event ledger: for each component, the last override event that is recorded in the
operations log (a JSON value in the state store's kv table under `override_event:<component>`).

Trading may resume after an override is gone only once the event that resumes it (the removal or
the expiry) is recorded: while the last recorded event is a halt, the kill switch keeps trading
halted even without an override file (fail closed when the audit trail lags).
"""

from __future__ import annotations

import json

LEDGER_PREFIX = "override_event:"
HALTING_EVENTS = frozenset({"disabled", "malformed"})


def ledger_key(component: str) -> str:
    return LEDGER_PREFIX + component


def ledger_halts(value: str | None) -> bool:
    """True when the last recorded event of a component halts trading (unreadable: True)."""
    if not value:
        return False
    try:
        status = json.loads(value).get("status")
    except (ValueError, AttributeError):
        return True
    return status in HALTING_EVENTS
