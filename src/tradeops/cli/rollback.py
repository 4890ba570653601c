"""`tradeops rollback start|resume|restore|status|summary`: the runbooks' checklist, guided and resumable."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from tradeops.cli.options import config_options
from tradeops.ops.rollback import ROLLBACK_STEPS, load_state


def _progress_printer(progress: Progress, title: str) -> tuple[Progress, object]:
    task = progress.add_task(title, total=1, step="")

    def report(step: str, index: int, total: int) -> None:
        progress.update(task, total=total, completed=index, step=step)

    return progress, report


def _run(title: str, action: object) -> None:
    console = Console(stderr=True)
    with Progress(
        TextColumn(f"[bold]{title}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[step]}"),
        console=console,
    ) as progress:
        _, report = _progress_printer(progress, title)
        action(report)  # type: ignore[operator]


def _print_state() -> None:
    state = load_state()
    click.echo(
        f"rollback {state.ticket}: {state.status} ({state.target}"
        f"{': ' + state.strategy if state.strategy else ''})"
    )
    for step in ROLLBACK_STEPS:
        mark = "done" if step in state.completed else "pending"
        click.echo(f"  {step:<18} {mark}")


@click.group()
def rollback() -> None:
    """Guided rollback of a strategy or the scheduler, and the return to baseline."""


@rollback.command()
@click.option("--strategy", help="Roll back one strategy (disable it, allocation 0.0).")
@click.option("--scheduler", "whole", is_flag=True, help="Roll back the whole multi-strategy scheduler.")
@click.option("--ticket", required=True, help="Incident/change ticket, e.g. INC-42.")
@click.option("--reason", required=True)
@click.option("--requested-by", default="l2-ops", show_default=True)
@config_options
def start(
    strategy: str | None,
    whole: bool,
    ticket: str,
    reason: str,
    requested_by: str,
    config_path: Path,
    environment: str,
) -> int:
    """Walk the checklist: confirm, secure context, disable, silence, lower allocation, smoke, load test."""
    if bool(strategy) == whole:
        raise click.UsageError("give exactly one of --strategy NAME or --scheduler")
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.rollback import start_rollback

    with build_ops_context(config_path, environment) as ctx:
        _run(
            "rollback",
            lambda report: start_rollback(
                ctx,
                strategy=strategy,
                ticket=ticket,
                reason=reason,
                requested_by=requested_by,
                progress=report,
            ),
        )
    _print_state()
    click.echo("summary: var/audit/stage4/rollback_summary.json")
    return 0


@rollback.command()
@config_options
def resume(config_path: Path, environment: str) -> int:
    """Continue an interrupted rollback from its first unfinished step."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.rollback import resume_rollback

    with build_ops_context(config_path, environment) as ctx:
        _run("rollback", lambda report: resume_rollback(ctx, report))
    _print_state()
    return 0


@rollback.command()
@click.option(
    "--from-git", "from_git", help="Restore config/core.yaml as of this commit instead of the saved copy."
)
@config_options
def restore(from_git: str | None, config_path: Path, environment: str) -> int:
    """Return to baseline: restore allocations, re-enable, paper smoke, load test, close the incident."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.rollback import restore_baseline

    with build_ops_context(config_path, environment) as ctx:
        _run("restore", lambda report: restore_baseline(ctx, from_git=from_git, progress=report))
    click.echo(f"rollback {load_state().ticket}: restored (status=restored in the decision log)")
    return 0


@rollback.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> int:
    """Show the current rollback and its steps."""
    if as_json:
        from dataclasses import asdict

        click.echo(json.dumps(asdict(load_state()), indent=2, sort_keys=True))
    else:
        _print_state()
    return 0


@rollback.command()
@click.option("--ticket", help="Ticket of a scheduler kill-switch drill with no guided rollback state.")
@config_options
def summary(ticket: str | None, config_path: Path, environment: str) -> int:
    """(Re)write var/audit/stage4/rollback_summary.json for the current rollback (or a --ticket)."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.rollback import write_rollback_summary
    from tradeops.ops.rollback.state import STATE_PATH

    with build_ops_context(config_path, environment) as ctx:
        if ticket and not STATE_PATH.exists():
            from tradeops.ops.rollback.log_summary import SummarizeFromLog, summarize_from_log

            built = summarize_from_log(ctx, SummarizeFromLog(ticket))
            click.echo(str(built.path))
            click.echo(f"{built.steps} logged step(s) under {ticket}, {built.duration_min} min", err=True)
            return 0
        state = load_state()
        path = write_rollback_summary(ctx, state)
    click.echo(str(path))
    return 0
