"""`tradeops config validate|show`."""

from __future__ import annotations

from pathlib import Path

import click

from tradeops.cli.options import config_option, environment_option
from tradeops.config.load import load_config, validate_config_file
from tradeops.domain.errors import ConfigError


@click.group()
def config() -> None:
    """Validate and inspect the configuration."""


def _print_problems(config_path: Path) -> list[str]:
    """Validate the file and print each problem as file:line (one implementation for validate and apply)."""
    if not config_path.is_file():
        raise click.BadParameter(f"{config_path} does not exist", param_hint="--config")
    _cfg, problems = validate_config_file(config_path)
    for problem in problems:
        click.echo(problem, err=True)
    return list(problems)


@config.command()
@config_option
def validate(config_path: Path) -> int:
    """Print every problem with its YAML path and line; exit 1 if there is any."""
    if _print_problems(config_path):
        return 1
    click.echo(f"{config_path}: OK")
    return 0


@config.command()
@config_option
def show(config_path: Path) -> None:
    """Print the validated configuration (defaults filled in) as JSON."""
    click.echo(load_config(config_path).model_dump_json(indent=2))


@config.command()
@config_option
@environment_option("Environment the scheduler runs.")
@click.option("--reason", default="", help="Why the configuration changes (required, one line).")
@click.option(
    "--ticket", default="", help="Ticket or incident id (required with control_api.require_ticket)."
)
@click.option("--by", "requested_by", default="operator", show_default=True, help="Who asks for it.")
@click.option(
    "--from-git", "from_git", default=None, metavar="COMMIT", help="First restore the file from COMMIT."
)
@click.option(
    "--wait",
    "wait_seconds",
    default=15.0,
    show_default=True,
    type=click.FloatRange(0, 120),
    help="Seconds to wait for the running scheduler's confirmation.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def apply(
    config_path: Path,
    environment: str,
    reason: str,
    ticket: str,
    requested_by: str,
    from_git: str | None,
    wait_seconds: float,
    as_json: bool,
) -> int:
    """Validate the file, sign a config_change entry and hand it to the running scheduler.

    The scheduler applies risk profiles, strategy parameters, schedule cadences and the kill-switch
    policy at its next cycle boundary and confirms; a change that needs a restart is refused whole.
    With no scheduler running, the entry is recorded and the change applies at the next start."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.cli.config_views import print_applied
    from tradeops.ops.config_apply import ApplyConfig, apply_config, restore_from_git
    from tradeops.ops.controls import Actor

    if from_git is not None:
        try:
            restore_from_git(config_path, from_git)
        except ConfigError as exc:
            for problem in exc.problems or (str(exc),):
                click.echo(problem, err=True)
            click.echo(
                f"--from-git {from_git}: {len(exc.problems)} problem(s); {config_path} unchanged", err=True
            )
            return 1
    problems = _print_problems(config_path)
    if problems:
        click.echo(f"{config_path}: {len(problems)} problem(s); nothing applied", err=True)
        return 1
    with build_ops_context(config_path, environment) as ctx:
        outcome = apply_config(
            ctx,
            ApplyConfig(
                config_path=config_path,
                reason=reason,
                ticket=ticket,
                actor=Actor(requested_by, "cli"),
                from_git=from_git,
                wait_seconds=wait_seconds,
            ),
        )
    return print_applied(outcome, as_json=as_json, wait_seconds=wait_seconds)
