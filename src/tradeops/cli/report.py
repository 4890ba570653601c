"""`tradeops report run RUN_ID|latest`: the charts and HTML page of a recorded run (thin mapping)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table


@click.group()
def report() -> None:
    """Reports of recorded runs (var/runs/<run_id>/)."""


@report.command("run")
@click.argument("run", default="latest")
@click.option("--html", "html", type=click.Path(path_type=Path, dir_okay=False), help="Write the page here.")
@click.option(
    "--png", "png_dir", type=click.Path(path_type=Path, file_okay=False), help="Write the PNGs here."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON instead of the table.")
def run_report(run: str, html: Path | None, png_dir: Path | None, as_json: bool) -> int:
    """Draw equity and per-strategy PNGs and a self-contained HTML page for RUN (an id, or latest)."""
    from tradeops.ops.run_reports import ReportContext, ReportRun, report_run

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]report"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("reading", total=None)
        view = report_run(
            ReportContext(),
            ReportRun(run, html, png_dir),
            lambda done, total, what: progress.update(task, completed=done, total=total, description=what),
        )
    if as_json:
        click.echo(json.dumps(view.summary, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        _print_summary(view.summary, Console())
    for kind, path in view.written:
        click.echo(f"{kind}: {path}", err=as_json)
    return 0


def _print_summary(summary: dict[str, Any] | Any, console: Console) -> None:
    from tradeops.ops.run_html import STRATEGY_COLUMNS, cell

    run = summary["run"]
    window = run["window"]
    console.print(
        f"[bold]run {run['run_id']}[/] ({run['kind']}, {run['environment']}): {window['start']} .. "
        f"{window['end']}, {run['steps']} steps, data {run['data_sha256'][:19]}, "
        f"config {str(run['config_sha256'])[:12]}"
    )
    table = Table(title="per-strategy statistics")
    table.add_column("strategy")
    for _, label in STRATEGY_COLUMNS:
        table.add_column(label, justify="right")
    for name, row in summary["strategies"].items():
        table.add_row(name, *(cell(key, row.get(key)) for key, _ in STRATEGY_COLUMNS))
    if not console.is_terminal:
        console.width = max(console.width, 170)
    console.print(table)
    account = summary["account"]
    console.print(
        f"account {summary['initial_equity']} -> {summary['equity']} {account['quote_asset']}: return "
        f"{cell('total_return', account['total_return'])}, max DD "
        f"{cell('max_drawdown_ratio', account['max_drawdown_ratio'])}, "
        f"Sharpe {cell('sharpe', account['sharpe'])}"
    )
    for line in summary.get("warnings") or []:
        console.print(f"warning: {line}")
