"""`tradeops strategy`: disable, enable and list strategies (persisted; a running scheduler obeys)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from tradeops.cli.options import config_options
from tradeops.domain.clock import iso_to_ms
from tradeops.domain.errors import UserInputError


def _until_ms(until: str | None, duration_minutes: int | None, now_ms: int) -> int | None:
    if until and duration_minutes:
        raise UserInputError("--until and --duration-minutes are exclusive; give one")
    if duration_minutes:
        return now_ms + duration_minutes * 60_000
    if until:
        try:
            return iso_to_ms(until)
        except ValueError:
            raise UserInputError(f"--until {until!r}: use ISO 8601, e.g. 2026-03-01T12:00:00Z") from None
    return None


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
    from tradeops.ops.controls import Actor, disable_strategy

    with build_ops_context(config_path, environment) as ctx:
        until_ms = _until_ms(until, duration_minutes, ctx.clock_ms())
        actor = Actor(requested_by or getpass.getuser(), "cli")
        status = disable_strategy(
            ctx, name, reason=reason, ticket=ticket, actor=actor, until_ms=until_ms, replace=replace
        )
    click.echo(
        f"strategy {status.strategy} disabled (risk_budget_bucket=manual, allocation 0): {status.reason}"
    )
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
    from tradeops.ops.controls import Actor, enable_strategy

    with build_ops_context(config_path, environment) as ctx:
        before = ctx.store.strategy_statuses().get(name)
        actor = Actor(requested_by or getpass.getuser(), "cli")
        status = enable_strategy(ctx, name, reason=reason, ticket=ticket, actor=actor)
    if before is None or not before.disabled:
        click.echo(f"strategy {status.strategy} is not disabled; nothing changed")
    else:
        click.echo(f"strategy {status.strategy} enabled (status=restored)")
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
