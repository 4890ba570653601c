"""`tradeops api`: serve the control API (mTLS + scoped tokens) or print its OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tradeops.cli.options import config_options


@click.group()
def api() -> None:
    """The control API: status, schedules, strategy disable/enable, kill switch, decision log."""


@api.command()
@config_options
@click.option("--host", help="Bind address (default: control_api.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: control_api.port).")
@click.option(
    "--insecure-dev",
    is_flag=True,
    help="Start even without mTLS material or a usable token (loopback only; warns every minute).",
)
def serve(config_path: Path, environment: str, host: str | None, port: int | None, insecure_dev: bool) -> int:
    """Serve until interrupted; refuses to start without TLS files and a token whose secret is set."""
    from tradeops.config.load import environment_of, load_config
    from tradeops.control_api.server import serve as run_server

    cfg = load_config(config_path)
    environment_of(cfg, environment, config_path)
    run_server(
        cfg,
        config_path=config_path,
        environment=environment,
        insecure_dev=insecure_dev,
        host=host,
        port=port,
    )
    return 0


@api.command()
@click.option("--output", type=click.Path(path_type=Path), help="Write to a file instead of stdout.")
def openapi(output: Path | None) -> int:
    """Print the OpenAPI document (no server, no config needed)."""
    from tradeops.control_api.app import create_app
    from tradeops.fsutil import atomic_write_text

    def no_context() -> None:
        raise RuntimeError("the OpenAPI document needs no context")

    text = json.dumps(create_app(no_context).openapi(), indent=2, sort_keys=True)  # type: ignore[arg-type]
    if output is None:
        click.echo(text)
    else:
        atomic_write_text(output, text + "\n")
        click.echo(f"wrote {output}")
    return 0
