"""The end of `tradeops demo` / a backtest on the terminal: write the run report, with progress."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from tradeops.bootstrap.engine import Runtime
from tradeops.ops.run_finish import FinishRun, finish_run
from tradeops.ops.run_recorder import RunRecorder

SHOWN_WARNINGS = 10


def record(runtime: Runtime) -> RunRecorder:
    """Start recording the run's curves (before the scheduler runs)."""
    recorder = RunRecorder(runtime.engine)
    recorder.attach(runtime.scheduler)
    return recorder


def finish(runtime: Runtime, recorder: RunRecorder, report_dir: Path | None, console: Console) -> None:
    with Progress(
        TextColumn("[bold]run report"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("summary", total=None)

        def advance(done: int, total: int, what: str) -> None:
            progress.update(task, completed=done, total=total, description=what)

        view = finish_run(runtime, recorder, FinishRun(report_dir), advance)
    directories: dict[Path, list[str]] = {}
    for _, path in view.written:  # on stderr: stdout stays the run's (deterministic) table
        directories.setdefault(path.parent, []).append(path.name)
    for directory, names in directories.items():
        click.echo(f"run report: {directory}/ ({', '.join(names)})", err=True)
    for line in view.warnings[:SHOWN_WARNINGS]:
        click.echo(f"warning: {line}", err=True)
    if len(view.warnings) > SHOWN_WARNINGS:
        click.echo(f"warning: {len(view.warnings) - SHOWN_WARNINGS} more in the run summary", err=True)
