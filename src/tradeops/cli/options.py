"""Click options shared by several command groups (declared once)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tradeops.config.load import DEFAULT_CONFIG_PATH

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG_PATH,
    show_default=True,
    help="Configuration file.",
)


def config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--config and --environment, shared by the operator commands."""
    command = click.option(
        "--environment",
        default="binance_paper",
        show_default=True,
        help="Environment in the config (paper environments sign with a local key when none is set).",
    )(command)
    return config_option(command)
