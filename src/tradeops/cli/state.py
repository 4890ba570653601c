"""`tradeops state check | rebuild | migrate`: the state store against its decision log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tradeops.cli.options import config_options

EXIT_MISMATCH = 1


def _target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--log", "log_path", help="The decision log (default: the store's own log).")(
        command
    )
    command = click.option(
        "--state",
        "state_path",
        help="A SQLite store instead of the environment's (e.g. var/runs/<id>/state.sqlite).",
    )(command)
    return config_options(command)


def _target(config_path: Path, environment: str, state_path: str | None, log_path: str | None) -> Any:
    from tradeops.bootstrap.state_tools import resolve_target

    return resolve_target(config_path, environment, state_path, log_path)


@click.group()
def state() -> None:
    """The state store is a projection of the signed decision log: check it, rebuild it, migrate it."""


@state.command("check")
@_target_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(
    config_path: Path, environment: str, state_path: str | None, log_path: str | None, as_json: bool
) -> int:
    """Exit 0 only when the store equals the projection of its log up to its recorded position."""
    from tradeops.bootstrap.state_tools import MAX_LISTED, check_state

    report = check_state(_target(config_path, environment, state_path, log_path))
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True))
        return 0 if report.ok else EXIT_MISMATCH
    seq = report.position["seq"] if report.position else 0
    pending = max(0, report.log_seq - seq)
    if report.ok:
        rows = ", ".join(f"{t} {v['store']['rows']}" for t, v in report.tables.items())
        click.echo(f"state ok: {report.store} equals {report.log} up to seq {seq} ({rows})")
        if pending:
            click.echo(f"note: the log holds {pending} later entries; the next start replays them")
        return 0
    click.echo(f"state MISMATCH: {report.store} vs {report.log} (store at seq {seq}): "
               f"{len(report.differences)} difference(s)", err=True)  # fmt: skip
    for line in report.differences[:MAX_LISTED]:
        click.echo(f"  {line}", err=True)
    if len(report.differences) > MAX_LISTED:
        click.echo(f"  ... and {len(report.differences) - MAX_LISTED} more (--json lists all)", err=True)
    return EXIT_MISMATCH


@state.command("rebuild")
@_target_options
@click.option(
    "--to", "to_path", help="Write the rebuilt store here (SQLite path) instead of the store itself."
)
@click.option("--force", is_flag=True, help="Replace the projected state of an existing store.")
def rebuild(
    config_path: Path,
    environment: str,
    state_path: str | None,
    log_path: str | None,
    to_path: str | None,
    force: bool,
) -> int:
    """Build the store from the decision log alone (refuses to overwrite without --force)."""
    from tradeops.bootstrap.state_tools import rebuild_state

    name, position = rebuild_state(
        _target(config_path, environment, state_path, log_path), to_path, force=force
    )
    seq = position.seq if position else 0
    click.echo(f"state rebuilt: {name} from {seq} log entries; check it with `tradeops state check`")
    return 0


@state.command("migrate")
@_target_options
def migrate(config_path: Path, environment: str, state_path: str | None, log_path: str | None) -> int:
    """Upgrade the store's schema (Alembic) to this code's revision."""
    from tradeops.bootstrap.state_tools import migrate_state

    target = _target(config_path, environment, state_path, log_path)
    before, now = migrate_state(target)
    if before == now:
        click.echo(f"state store {target.store_name}: already at revision {now}")
    else:
        click.echo(f"state store {target.store_name}: migrated {before or 'new'} -> {now}")
    return 0
