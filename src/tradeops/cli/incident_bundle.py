"""How `tradeops incident bundle|verify|close` report a bundle."""

from __future__ import annotations

import click

from tradeops.config.models import AppConfig


def print_built(cfg: AppConfig, incident_id: str, environment: str, prometheus_url: str | None) -> None:
    """Build and seal the bundle; say where it is and what could not be produced."""
    from tradeops.ops.incident_bundle import BuildBundle, build_bundle

    built = build_bundle(cfg, BuildBundle(incident_id, environment, prometheus_url))
    click.echo(
        f"bundle {built.directory}: {built.files} files, {built.snapshots} dashboard snapshots, "
        f"manifest {built.manifest_sha384[:23]}... sealed in the operations log"
    )
    for item in built.unavailable:
        click.echo(f"  not produced: {item['artefact']}: {item['why']}", err=True)


def print_verified(cfg: AppConfig, incident_id: str) -> int:
    """0 when every bundled file matches the sealed manifest; 1 with each difference."""
    from tradeops.ops.incident_bundle import verify_bundle

    result = verify_bundle(cfg, incident_id)
    if result.ok:
        click.echo(f"OK: bundle of {incident_id} matches its sealed manifest")
        return 0
    for line in result.lines():
        click.echo(line, err=True)
    click.echo(f"FAILED: bundle of {incident_id} differs from its sealed manifest", err=True)
    return 1
