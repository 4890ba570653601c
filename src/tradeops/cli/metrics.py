"""`tradeops metrics`: list exported names, generate the Grafana dashboard, watch a running runtime."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("metrics")
def metrics() -> None:
    """Prometheus metrics of the runtime: names, dashboard, live watcher."""


@metrics.command("names")
def names() -> int:
    """Print every exported metric family name (what rules and panels may use)."""
    from tradeops.observability.metrics import METRIC_NAMES

    click.echo("\n".join(METRIC_NAMES))
    return 0


@metrics.command("dashboard")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the dashboard JSON here (default: print it).",
)
@click.option("--check", is_flag=True, help="Exit 1 when --output differs from the generated dashboard.")
def dashboard(output: Path | None, check: bool) -> int:
    """Generate "Stage4 – Multi-Strategy Operations" (grafana-foundation-sdk, Grafana 11)."""
    from tradeops.domain.errors import UserInputError
    from tradeops.fsutil import atomic_write_text
    from tradeops.observability.dashboard import dashboard_json

    text = dashboard_json()
    if output is None:
        if check:
            raise UserInputError("--check needs --output PATH (the file to compare)")
        click.echo(text, nl=False)
        return 0
    if check:
        same = output.is_file() and output.read_text(encoding="utf-8") == text
        click.echo(f"{output}: {'up to date' if same else 'differs from the generated dashboard'}")
        return 0 if same else 1
    atomic_write_text(output, text)
    click.echo(f"wrote {output}")
    return 0
