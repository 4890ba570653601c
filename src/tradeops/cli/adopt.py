"""`tradeops adopt --order ID | --balance VENUE:ASSET --reason R --ticket T`: a thin mapping onto
the adopt use case (ops/venue_adopt.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tradeops.cli.options import config_options


@click.command()
@config_options
@click.option("--order", "order_id", help="Adopt this unknown venue order (client order id).")
@click.option(
    "--balance", "balance_key", help="Adopt this balance difference (venue:asset, e.g. binance:BTC)."
)
@click.option("--reason", default="", help="Why (required; signed in the operations log).")
@click.option("--ticket", default="", help="Ticket (required).")
@click.option("--requested-by", default="operator", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def adopt(
    config_path: Path,
    environment: str,
    order_id: str | None,
    balance_key: str | None,
    reason: str,
    ticket: str,
    requested_by: str,
    as_json: bool,
) -> int:
    """Take a venue order or balance tradeops does not know into the books (signed first).

    Only a difference `tradeops reconcile` shows now; nothing is booked as a fill."""
    from tradeops.bootstrap.live_account import live_ops_context
    from tradeops.domain.errors import UserInputError
    from tradeops.ops.control_common import Door
    from tradeops.ops.venue_adopt import AdoptCommand, adopt

    if (order_id is None) == (balance_key is None):
        raise UserInputError("adopt: give exactly one of --order CLIENT_ORDER_ID or --balance VENUE:ASSET")
    kind, key = ("order", order_id) if order_id is not None else ("balance", balance_key)
    command = AdoptCommand(kind, str(key), reason, ticket, Door("cli", requested_by), requested_by)  # type: ignore[arg-type]
    with live_ops_context(config_path, environment) as ctx:
        view = adopt(ctx, command)
    click.echo(json.dumps(view.to_json(), sort_keys=True) if as_json else view.line())
    return 0
