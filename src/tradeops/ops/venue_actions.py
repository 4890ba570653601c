"""Operator actions on a live venue: show the reconciliation, cancel an order the books do not know
(only by an explicit command, signed in the operations log before anything is sent)."""

from __future__ import annotations

from typing import Any

from tradeops.bootstrap.live_account import LiveAccount
from tradeops.domain.errors import UserInputError
from tradeops.ops.audit_trail import record_operator_action
from tradeops.runtime.venue_reconcile import DiffKind, ReconcileReport


def report_dict(account: LiveAccount, report: ReconcileReport) -> dict[str, Any]:
    return {
        "environment": account.name,
        "clean": report.clean,
        "reducing": sorted(report.reducing),
        "rows": [
            {"kind": kind, "key": key, "local": local, "venue": venue, "action": action}
            for kind, key, local, venue, action in report.rows()
        ],
    }


def cancel_unknown_order(
    account: LiveAccount, client_order_id: str, *, reason: str, ticket: str, requested_by: str
) -> dict[str, Any]:
    """Cancel a venue order our books do not hold; the signed entry is written first."""
    if not reason.strip():
        raise UserInputError("--reason: say why this venue order is cancelled (it is signed in the log)")
    report = account.reconcile()
    diff = next(
        (d for d in report.diffs if d.kind is DiffKind.UNKNOWN_VENUE_ORDER and d.key == client_order_id), None
    )
    if diff is None:
        raise UserInputError(
            f"--cancel-unknown {client_order_id}: not an unknown venue order now "
            "(tradeops reconcile lists them)"
        )
    order = next(o for o in account.router.venue_open_orders() if o.client_order_id == client_order_id)
    record_operator_action(
        account.cfg,
        kind="reconcile",
        status="cancel_unknown_order",
        artefacts={
            "environment": account.name,
            "venue": order.venue,
            "symbol": order.symbol,
            "client_order_id": client_order_id,
            "venue_order_id": order.venue_order_id or "",
        },
        metadata={"reason": reason, "ticket": ticket, "requested_by": requested_by, "venue_view": diff.venue},
    )
    cancelled = account.router.venues[order.venue].cancel_venue_order(
        order.symbol, order.venue_order_id or ""
    )
    return {"client_order_id": client_order_id, "venue": order.venue, "cancelled": cancelled}
