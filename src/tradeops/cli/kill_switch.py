"""`tradeops kill-switch`: the global override (also `python scripts/disable_multi_strategy.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tradeops.cli.options import config_options
from tradeops.config.overrides import COMPONENTS


def _override_lines(view: dict[str, Any]) -> list[str]:
    where = f"{view['component']} ({view['path']})"
    if view["malformed"]:
        return [f"override {where}: MALFORMED, trading halted: {view['problem']}"]
    state = "active" if view["active"] else "expired" if view["expired"] else "inactive"
    expiry = f"until {view['expires_at']}" if view["expires_at"] else "no expiry"
    policy = view["on_disable"]
    orders = "cancel open orders" if policy["cancel_open_orders"] else "keep open orders"
    return [
        f"override {where}: {state}: {view['reason']} (ticket {view['ticket'] or '-'}, "
        f"by {view['requested_by'] or '-'}, since {view['timestamp']}, {expiry})",
        f"  on disable: {orders}; positions: {policy['positions']}"
        + ("; written with --force" if view["forced"] else ""),
    ]


def render_status(status: dict[str, Any]) -> list[str]:
    """Human lines; the first is exactly `disabled` or `enabled`."""
    lines = [str(status["status"])]
    lines += [f"reason: {r}" for r in status["reasons"]]
    for view in status["overrides"]:
        lines += _override_lines(view)
    for s in status["disabled_strategies"]:
        until = f"until {s['until']}" if s["until"] else "no expiry"
        lines.append(
            f"strategy {s['strategy']} disabled: {s['reason'] or '(no reason given)'} "
            f"(ticket {s['ticket'] or '-'}, by {s['requested_by'] or '-'}, since {s['changed_at']}, {until})"
        )
    if status["enabled_strategies"]:
        lines.append(f"strategies enabled: {', '.join(status['enabled_strategies'])}")
    return lines


def render_observed(view: dict[str, Any]) -> list[str]:
    """The verdict first (`disabled`, `enabled`, `no scheduler running`, `not obeyed`), then requested
    against observed, then the details of the requested state."""
    lines = [str(view["status"])]
    lines.append(f"requested: {view['requested_status']} (override files and strategy status in the store)")
    observed = view["observed"]
    if observed is None:
        lines.append("observed: no scheduler has published a heartbeat to this state store")
    elif not observed["live"]:
        why = "stopped" if not observed["running"] else "stalled or killed"
        lines.append(
            f"observed: no scheduler running (last heartbeat {observed['heartbeat_at']}, "
            f"{observed['heartbeat_age_seconds']:.1f} s ago, pid {observed['pid']}: {why})"
        )
    else:
        override = "override seen" if observed["override_seen"] else "no override seen"
        lines.append(
            f"observed: {observed['status']} by the running scheduler (pid {observed['pid']}, heartbeat "
            f"{observed['heartbeat_age_seconds']:.1f} s ago at {observed['heartbeat_at']}; global "
            f"{observed['global_state']}; {override}; {observed['cycles']} cycles; last order "
            f"{observed['last_order_at'] or 'none'})"
        )
    for name, row in view["strategy_states"].items():
        lines.append(f"  {name:<18} requested {row['requested']:<9} observed {row['observed']}")
    if view["status"] == "not obeyed":
        lines.append(
            "the running scheduler has not (yet) done what was requested: check again, then its console"
        )
    return lines + render_status({**view, "status": view["requested_status"]})[1:]


def print_status(config_path: Path, environment: str, as_json: bool) -> int:
    """Requested and observed state; exit 0, 3 when no scheduler runs, 4 when it has not obeyed."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.observed import ObservedStatusQuery, observed_status

    with build_ops_context(config_path, environment) as ctx:
        view = observed_status(ctx, ObservedStatusQuery())
    payload = view.to_dict()
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(render_observed(payload)))
    return view.exit_code


@click.group("kill-switch")
def kill_switch() -> None:
    """Stop every new order (override file) and resume; a running scheduler obeys within ms."""


@kill_switch.command()
@click.option("--reason", required=True, help="Why trading stops (required, not blank).")
@click.option("--ticket", required=True, help="Incident or change ticket, e.g. INC-42.")
@click.option("--requested-by", required=True, help="Team or person asking for the stop.")
@click.option(
    "--component", type=click.Choice(sorted(COMPONENTS)), default="multi_strategy", show_default=True
)
@click.option("--duration-minutes", type=click.IntRange(min=1), help="Expire by itself after N minutes.")
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path),
    help="Overrides directory (default: runtime.overrides_dir).",
)
@click.option("--force", is_flag=True, help="Replace an existing override (recorded as forced=true).")
@click.option(
    "--positions",
    type=click.Choice(["hold", "reduce", "flatten"]),
    help="While disabled: hold positions, only reduce them, or flatten them (default: config).",
)
@click.option("--keep-open-orders", is_flag=True, help="Do not cancel open orders (default: cancel them).")
@config_options
def disable(
    reason: str,
    ticket: str,
    requested_by: str,
    component: str,
    duration_minutes: int | None,
    output_dir: Path | None,
    force: bool,
    positions: str | None,
    keep_open_orders: bool,
    config_path: Path,
    environment: str,
) -> int:
    """Write the override file atomically (mode 600) and log it; prints the path written."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.control_common import Door
    from tradeops.ops.kill_switch_control import HaltTrading, halt

    command = HaltTrading(
        reason,
        ticket,
        Door("cli", requested_by),
        component=component,
        duration_minutes=duration_minutes,
        force=force,
        positions=positions,
        cancel_open_orders=False if keep_open_orders else None,
    )
    with build_ops_context(config_path, environment, overrides_dir=output_dir) as ctx:
        halted = halt(ctx, command)
    click.echo(halted.path)
    click.echo(halted.notice, err=True)
    return 0


@kill_switch.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_options
def status(as_json: bool, config_path: Path, environment: str) -> int:
    """Print `disabled`/`enabled` as the running scheduler observes it (exit 3: `no scheduler running`,
    4: not obeyed yet), then requested against observed, the overrides and disabled strategies."""
    return print_status(config_path, environment, as_json)


@kill_switch.command()
@click.option("--reason", default="", help="Why trading may resume (required when an override exists).")
@click.option("--ticket", default="", help="Ticket (default: the removed override's own ticket).")
@click.option(
    "--component", type=click.Choice(sorted(COMPONENTS)), help="Only this component (default: all)."
)
@click.option("--requested-by", default=None, help="Who resumes trading (default: the OS user).")
@config_options
def clear(
    reason: str,
    ticket: str,
    component: str | None,
    requested_by: str | None,
    config_path: Path,
    environment: str,
) -> int:
    """Remove the override file(s) and log it: a running scheduler resumes."""
    import getpass

    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.control_common import Door
    from tradeops.ops.kill_switch_control import ResumeTrading, resume

    command = ResumeTrading(reason, Door("cli", getpass.getuser()), requested_by, ticket, component)
    with build_ops_context(config_path, environment) as ctx:
        click.echo(resume(ctx, command).message)
    return 0
