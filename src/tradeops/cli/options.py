"""Click options shared by several command groups (declared once)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from tradeops.config.load import DEFAULT_CONFIG_PATH, ENVIRONMENT_ENV
from tradeops.domain.errors import UserInputError

CONFIG_ENV = "TRADEOPS_CONFIG"
DEFAULT_ENVIRONMENT = "binance_paper"

FC = TypeVar("FC", bound=Callable[..., Any])


def _config_from_env(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A config named by TRADEOPS_CONFIG must exist; say on stderr that it is the one in use."""
    if value is None or param.name is None:
        return value
    if ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT:
        if not value.is_file():
            raise UserInputError(
                f"{CONFIG_ENV}={value}: no such file; point {CONFIG_ENV} at a core.yaml or unset it"
            )
        click.echo(f"config: {value} (from {CONFIG_ENV})", err=True)
    return value


def config_path_option(
    help_text: str = "Configuration file.", dest: str = "config_path"
) -> Callable[[FC], FC]:
    """--config (env TRADEOPS_CONFIG, default config/core.yaml) with its own help text."""
    return click.option(
        "--config",
        dest,
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_CONFIG_PATH,
        envvar=CONFIG_ENV,
        show_envvar=True,
        show_default=True,
        callback=_config_from_env,
        help=help_text,
    )


config_option = config_path_option()


def environment_option(help_text: str = "Environment in the config.") -> Callable[[FC], FC]:
    """--environment (env TRADEOPS_ENVIRONMENT, default binance_paper): a shell set up for one
    environment (a simulator rehearsal, the testnet) runs the runbook commands unchanged."""
    return click.option(
        "--environment",
        default=DEFAULT_ENVIRONMENT,
        envvar=ENVIRONMENT_ENV,
        show_envvar=True,
        show_default=True,
        help=help_text,
    )


def config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--config and --environment, shared by the operator commands."""
    command = environment_option(
        "Environment in the config (paper environments sign with a local key when none is set)."
    )(command)
    return config_option(command)
