"""`tradeops cluster status`: leader, epoch, lease age, followers and their lag."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tradeops.cli.options import config_options


@click.group()
def cluster() -> None:
    """Cluster mode (several hosts, one active scheduler per environment)."""


@cluster.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@config_options
def status(as_json: bool, config_path: Path, environment: str) -> int:
    """Who leads the environment, at which epoch, and how far each follower lags."""
    from tradeops.bootstrap.cluster_reader import open_cluster_reader
    from tradeops.config.load import load_config
    from tradeops.ops.cluster_status import ClusterStatus, cluster_status

    view = cluster_status(open_cluster_reader(load_config(config_path)), ClusterStatus(environment))
    if as_json:
        click.echo(json.dumps(view.to_json(), indent=2))
    else:
        for line in view.lines():
            click.echo(line)
    return 0
