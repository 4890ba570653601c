"""`tradeops load-test run|compare` (also `python scripts/load_test_scheduler.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from tradeops.cli.options import config_options
from tradeops.config.load import load_config
from tradeops.domain.errors import UserInputError


@click.group("load-test")
def load_test() -> None:
    """Load-test the scheduler against runtime.resource_limits; compare two reports."""


@load_test.command("run")
@click.option(
    "--iterations",
    type=int,
    default=10,
    show_default=True,
    help="Scheduler steps; every schedule runs once per step.",
)
@click.option(
    "--schedules",
    type=int,
    default=3,
    show_default=True,
    help="Schedules, cloned round-robin from the configured ones.",
)
@click.option("--signals", type=int, default=5, show_default=True, help="max_signals per schedule and cycle.")
@click.option(
    "--tick-ms",
    type=float,
    default=None,
    help="Wall time per iteration (default 250); 0 runs iterations back to back (stress).",
)
@click.option("--output", type=click.Path(path_type=Path), help="Also write the report here (JSON).")
@config_options
@click.option("--data", type=click.Path(), help="Candle file or directory instead of the synthetic market.")
@click.option("--decision-log", "decision_log", type=click.Path(), help="Keep the run's decision log here.")
@click.option("--quiet", is_flag=True, help="No table, no progress bar.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the report as JSON (without the timeline) instead of the table.",
)
def run(
    iterations: int,
    schedules: int,
    signals: int,
    tick_ms: float | None,
    output: Path | None,
    config_path: Path,
    environment: str,
    data: str | None,
    decision_log: str | None,
    quiet: bool,
    as_json: bool,
) -> int:
    """Run the real scheduler with N schedules and judge measured CPU/RSS/IO against the limits.

    Prints the table on stdout (progress on stderr), then the report without its timeline as one
    compact `json: {...}` line, and writes the full report (with the per-sample timeline) to --output
    and to logs/load_tests/latest.json; --json prints the report indented instead of the table.
    Exit 0 for ok/warning, 1 for error, 2 for a bad flag.
    """
    from tradeops.ops.loadtest import DEFAULT_TICK_MS, run_load_test, save_report
    from tradeops.ops.loadtest.report import render_report

    if data is not None and not Path(data).exists():
        raise UserInputError(f"--data {data}: no such file or directory")
    if not config_path.is_file():
        raise UserInputError(f"--config {config_path}: no such file; pass the path of core.yaml")
    cfg = load_config(config_path)
    console = Console(stderr=True, quiet=quiet)
    with Progress(
        TextColumn("[bold]load test"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("iterations"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("iterations", total=iterations)
        report = run_load_test(
            cfg,
            config_path=config_path,
            environment=environment,
            schedules=schedules,
            iterations=iterations,
            signals=signals,
            tick_ms=DEFAULT_TICK_MS if tick_ms is None else tick_ms,
            data=data,
            decision_log_path=decision_log,
            on_progress=lambda done, total: progress.update(task, completed=done),
        )
    payload = report.to_dict()
    written = save_report(payload, output)
    where = ", ".join(str(p) for p in written)
    printed = without_timeline(payload, where)
    if as_json:
        click.echo(json.dumps(printed, indent=2, sort_keys=True, ensure_ascii=False))
        return report.exit_code
    if not quiet:
        table = Console()
        render_report(payload, table)
        table.print(f"written (with the per-sample timeline): {where}")
    # Last, one compact line for scripts that read stdout (the runbook's checks): no timeline.
    click.echo("json: " + json.dumps(printed, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    return report.exit_code


def without_timeline(payload: dict[str, Any], where: str) -> dict[str, Any]:
    """The report as printed: the per-sample timeline stays in the written files."""
    usage = dict(payload.get("resource_usage") or {})
    if "timeline" in usage:
        usage["timeline"] = f"in {where}"
    return {**payload, "resource_usage": usage}


@load_test.command("compare")
@click.argument("pre", type=click.Path(path_type=Path))
@click.argument("post", type=click.Path(path_type=Path))
@click.option(
    "--threshold",
    type=float,
    default=0.2,
    show_default=True,
    help="Relative worsening that counts as a regression (0.2 = 20 %).",
)
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write a page with charts here.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON instead of a table.")
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 when a regression is flagged.")
def compare(
    pre: Path, post: Path, threshold: float, html_path: Path | None, as_json: bool, fail_on_regression: bool
) -> int:
    """Side-by-side table of two reports with deltas; flags regressions beyond --threshold."""
    from tradeops.ops.loadtest.compare import compare_reports, render_comparison
    from tradeops.ops.loadtest.html import write_html

    comparison = compare_reports(pre, post, threshold)
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False))
    else:
        render_comparison(comparison, Console())
    if html_path is not None:
        click.echo(f"html: {write_html(comparison, html_path)}", err=as_json)
    return 1 if fail_on_regression and comparison.regressions else 0
