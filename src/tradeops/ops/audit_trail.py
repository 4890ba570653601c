"""Record one operator action (kill switch, silence, incident, rollback step) in the operations log.

Use cases that hold an `OpsContext` append through its `operator_log` port; the ones that still
take a config go through `record_operator_action`, which bootstrap resolves to the file adapter.
"""

from __future__ import annotations

from tradeops.bootstrap.operator_log import IDEMPOTENCY_WINDOW, operator_key, record_operator_action

__all__ = ["IDEMPOTENCY_WINDOW", "operator_key", "record_operator_action"]
