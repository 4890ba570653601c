"""`tradeops bench cluster`: override propagation A -> B, lease failover, decision-log mirroring cost."""

from __future__ import annotations

import json

import click


@click.command("cluster")
@click.option("--trials", type=click.IntRange(min=1, max=100), default=10, show_default=True)
@click.option("--ttl", "ttl_s", type=click.FloatRange(min=1.0, max=30.0), default=2.0, show_default=True)
@click.option("--entries", type=click.IntRange(min=100), default=5000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_cluster(trials: int, ttl_s: float, entries: int, as_json: bool) -> int:
    """Starts its own nats-server on loopback (Debian nats-server)."""
    from tradeops.bootstrap.cluster_bench import run_bench

    result = run_bench(trials, ttl_s, entries)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        for name, value in result.items():
            click.echo(f"{name}: {value}")
    return 0
