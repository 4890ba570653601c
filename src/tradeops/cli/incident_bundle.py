"""How `tradeops incident bundle|verify|close` report a bundle: thin mappings onto
`tradeops.ops.incident_bundle`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tradeops.ops_ports import OpsContext


def print_built(ctx: OpsContext, incident_id: str, prometheus_url: str | None) -> None:
    """Build and seal the bundle; say where it is and what could not be produced."""
    from tradeops.ops.incident_bundle import BuildBundle, build_bundle

    built = build_bundle(ctx, BuildBundle(incident_id, prometheus_url))
    click.echo(
        f"bundle {built.directory}: {built.files} files, {built.snapshots} dashboard snapshots, "
        f"manifest {built.manifest_sha384[:23]}... sealed in the operations log"
    )
    for item in built.unavailable:
        click.echo(f"  not produced: {item['artefact']}: {item['why']}", err=True)


def print_verified(ctx: OpsContext, incident_id: str) -> int:
    """0 when every bundled file matches the sealed manifest; 1 with each difference."""
    from tradeops.ops.incident_bundle import VerifyBundle, verify_bundle

    result = verify_bundle(ctx, VerifyBundle(incident_id))
    if result.ok:
        click.echo(f"OK: bundle of {incident_id} matches its sealed manifest")
        return 0
    for line in result.lines():
        click.echo(line, err=True)
    click.echo(f"FAILED: bundle of {incident_id} differs from its sealed manifest", err=True)
    return 1
