"""Click options shared by several command groups (declared once)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--config and --environment, shared by the operator commands."""
    command = click.option(
        "--environment",
        default="binance_paper",
        show_default=True,
        help="Environment in the config (paper environments sign with a local key when none is set).",
    )(command)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        default=Path("config/core.yaml"),
        show_default=True,
    )(command)
