"""The end of `tradeops demo` / a backtest on the terminal: the run summary, and the command that
draws its charts."""

from __future__ import annotations

from pathlib import Path

import click

from tradeops.bootstrap.engine import Runtime
from tradeops.ops.run_finish import FinishRun, finish_run
from tradeops.ops.run_recorder import RunRecorder

SHOWN_WARNINGS = 10


def record(runtime: Runtime) -> RunRecorder:
    """Start recording the run's curves (before the scheduler runs)."""
    recorder = RunRecorder(runtime.engine)
    recorder.attach(runtime.scheduler)
    return recorder


def finish(runtime: Runtime, recorder: RunRecorder, report_dir: Path | None) -> None:
    """Write the summary and curves; on stderr (stdout stays the run's deterministic table) where
    they are and how to draw the charts."""
    view = finish_run(runtime, recorder, FinishRun(report_dir))
    for line in view.lines():
        click.echo(line, err=True)
    for line in view.warnings[:SHOWN_WARNINGS]:
        click.echo(f"warning: {line}", err=True)
    if len(view.warnings) > SHOWN_WARNINGS:
        click.echo(f"warning: {len(view.warnings) - SHOWN_WARNINGS} more in the run summary", err=True)
