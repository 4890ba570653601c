"""`tradeops reconcile [--json] [--cancel-unknown ID --reason R]`: local books against the venues."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tradeops.cli.options import config_options

EXIT_DIFF = 1


@click.command()
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--cancel-unknown", "cancel_id", help="Cancel this unknown venue order (client order id).")
@click.option("--reason", default="", help="Why (required with --cancel-unknown; signed).")
@click.option("--ticket", default="")
@click.option("--requested-by", default="operator", show_default=True)
def reconcile(
    config_path: Path,
    environment: str,
    as_json: bool,
    cancel_id: str | None,
    reason: str,
    ticket: str,
    requested_by: str,
) -> int:
    """Compare open orders and balances in the state store with the venues (its own connection).

    Exit 0 when they agree, 1 when they differ. Nothing is booked or adopted; an unknown venue
    order is cancelled only with --cancel-unknown, signed in the operations log first."""
    from rich.console import Console
    from rich.table import Table

    from tradeops.bootstrap.live_account import live_ops_context
    from tradeops.ops.control_common import Door
    from tradeops.ops.venue_actions import CancelUnknownOrder, ShowReconcile, cancel_unknown, show_reconcile

    with live_ops_context(config_path, environment) as ctx:
        if cancel_id is not None:
            command = CancelUnknownOrder(cancel_id, reason, ticket, Door("cli", requested_by), requested_by)
            done = cancel_unknown(ctx, command)
            click.echo(json.dumps(done.to_json(), sort_keys=True) if as_json else done.line())
            return 0
        shown = show_reconcile(ctx, ShowReconcile())
    if as_json:
        click.echo(json.dumps(shown.to_json(), sort_keys=True))
        return 0 if shown.clean else EXIT_DIFF
    if shown.clean:
        click.echo(f"reconcile ok: {environment} agrees with its venues (open orders, balances)")
        return 0
    table = Table(title=f"reconcile {environment}: {len(shown.report.diffs)} difference(s)")
    for header in ("kind", "key", "local", "venue", "action"):
        table.add_column(header)
    for row in shown.rows():
        table.add_row(*row)
    Console(width=200).print(table)
    return EXIT_DIFF
