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

    from tradeops.bootstrap.live_account import open_live_account
    from tradeops.ops.venue_actions import cancel_unknown_order, report_dict

    account = open_live_account(config_path, environment)
    try:
        if cancel_id is not None:
            done = cancel_unknown_order(
                account, cancel_id, reason=reason, ticket=ticket, requested_by=requested_by
            )
            click.echo(
                json.dumps(done, sort_keys=True)
                if as_json
                else f"cancelled at {done['venue']}: {cancel_id}"
                if done["cancelled"]
                else f"{cancel_id}: the venue had already closed it"
            )
            return 0
        report = account.reconcile()
        if as_json:
            click.echo(json.dumps(report_dict(account, report), sort_keys=True))
            return 0 if report.clean else EXIT_DIFF
        if report.clean:
            click.echo(f"reconcile ok: {environment} agrees with its venues (open orders, balances)")
            return 0
        table = Table(title=f"reconcile {environment}: {len(report.diffs)} difference(s)")
        for header in ("kind", "key", "local", "venue", "action"):
            table.add_column(header)
        for row in report.rows():
            table.add_row(*row)
        Console(width=200).print(table)
        return EXIT_DIFF
    finally:
        account.close()
