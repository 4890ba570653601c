"""`tradeops config validate|show`."""

from __future__ import annotations

from pathlib import Path

import click

from tradeops.cli.options import config_option
from tradeops.config.load import load_config, validate_config_file


@click.group()
def config() -> None:
    """Validate and inspect the configuration."""


@config.command()
@config_option
def validate(config_path: Path) -> int:
    """Print every problem with its YAML path and line; exit 1 if there is any."""
    if not config_path.is_file():
        raise click.BadParameter(f"{config_path} does not exist", param_hint="--config")
    _cfg, problems = validate_config_file(config_path)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        return 1
    click.echo(f"{config_path}: OK")
    return 0


@config.command()
@config_option
def show(config_path: Path) -> None:
    """Print the validated configuration (defaults filled in) as JSON."""
    click.echo(load_config(config_path).model_dump_json(indent=2))
