"""`tradeops strategy`: disable, enable, show and list strategies (persisted; a running scheduler obeys)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tradeops.cli.options import config_options

if TYPE_CHECKING:
    from tradeops.ops.strategy_control import Door


def _cli_door() -> Door:
    from tradeops.ops.strategy_control import Door

    return Door("cli", getpass.getuser())


@click.group()
def strategy() -> None:
    """Per-strategy disable/enable: allocation 0 and bucket `manual` while disabled."""


@strategy.command()
@click.argument("name")
@click.option("--reason", required=True, help="Why the strategy stops.")
@click.option("--ticket", required=True, help="Incident or change ticket.")
@click.option("--requested-by", default=None, help="Team or person (default: the OS user).")
@click.option("--until", help="Re-enable by itself at this time (ISO 8601 UTC).")
@click.option("--duration-minutes", type=click.IntRange(min=1), help="Re-enable by itself after N minutes.")
@click.option(
    "--replace", is_flag=True, help="Replace an active disable's reason/ticket (the log keeps both)."
)
@config_options
def disable(
    name: str,
    reason: str,
    ticket: str,
    requested_by: str | None,
    until: str | None,
    duration_minutes: int | None,
    replace: bool,
    config_path: Path,
    environment: str,
) -> int:
    """Disable strategy NAME (its allocation becomes 0, its bucket `manual`)."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.strategy_control import DisableStrategy, disable

    command = DisableStrategy(
        name, reason, ticket, _cli_door(), requested_by, until, duration_minutes, replace=replace
    )
    with build_ops_context(config_path, environment) as ctx:
        click.echo(disable(ctx, command).message)
    return 0


@strategy.command()
@click.argument("name")
@click.option("--reason", required=True, help="Why the strategy may trade again.")
@click.option("--ticket", required=True, help="Incident or change ticket.")
@click.option("--requested-by", default=None, help="Team or person (default: the OS user).")
@config_options
def enable(
    name: str, reason: str, ticket: str, requested_by: str | None, config_path: Path, environment: str
) -> int:
    """Re-enable strategy NAME (its risk profile's bucket and allocation come back)."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.strategy_control import EnableStrategy, enable

    command = EnableStrategy(name, reason, ticket, _cli_door(), requested_by)
    with build_ops_context(config_path, environment) as ctx:
        click.echo(enable(ctx, command).message)
    return 0


@strategy.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_options
def show(name: str, as_json: bool, config_path: Path, environment: str) -> int:
    """One strategy: disabled or not (why, until when, by whom), risk profile and allocation."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.strategy_control import ShowStrategy
    from tradeops.ops.strategy_control import show as show_strategy

    with build_ops_context(config_path, environment) as ctx:
        detail = show_strategy(ctx, ShowStrategy(name))
    if as_json:
        click.echo(json.dumps(detail.to_json(), indent=2))
    else:
        for line in detail.lines():
            click.echo(line)
    return 0


@strategy.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_options
def list_(as_json: bool, config_path: Path, environment: str) -> int:
    """Schedules with cadence, risk profile, effective allocation and disabled flag."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.controls import list_schedules

    with build_ops_context(config_path, environment) as ctx:
        rows = list_schedules(ctx)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return 0
    click.echo(f"{'schedule':<20} {'cadence':>8} {'profile':<13} {'bucket':<13} {'allocation':>10}  state")
    for row in rows:
        state = f"DISABLED: {row['reason'] or '-'}" if row["disabled"] else "enabled"
        if row["disabled"] and row["until"]:
            state += f" (until {row['until']})"
        click.echo(
            f"{row['schedule']!s:<20} {row['cadence_seconds']!s:>7}s {row['risk_profile']!s:<13} "
            f"{row['risk_budget_bucket']!s:<13} {row['allocation']!s:>10}  {state}"
        )
    return 0
