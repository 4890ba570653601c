"""`tradeops run` (also `python scripts/run_multi_strategy_scheduler.py`) and `tradeops demo`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tradeops.bootstrap.engine import RunOptions, Runtime, build_runtime
from tradeops.cli.options import config_option
from tradeops.config.load import load_config
from tradeops.domain.clock import iso_to_ms, ms_to_iso
from tradeops.domain.errors import UserInputError
from tradeops.ops.run_report import render_table, write_reports
from tradeops.runtime.scheduler import SchedulerReport


def _parse_time(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return iso_to_ms(value)
    except ValueError:
        raise UserInputError(
            f"{flag} {value!r}: use ISO 8601, e.g. 2021-03-01 or 2021-03-01T12:00:00Z"
        ) from None


def _run_with_progress(runtime: Runtime, console: Console) -> SchedulerReport:
    start = runtime.clock.now_ms()
    end = max(runtime.end_ms, start + 1)
    with Progress(
        TextColumn("[bold]replaying"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[cycles]} cycles"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("replay", total=end - start, cycles=0)

        def on_step(now_ms: int, report: SchedulerReport) -> None:
            if report.steps % 500 == 0:
                progress.update(task, completed=now_ms - start, cycles=report.cycles)

        runtime.scheduler.on_step = on_step
        report = asyncio.run(runtime.scheduler.run())
        progress.update(task, completed=end - start, cycles=report.cycles)
    return report


async def _run_forever(runtime: Runtime, options: RunOptions) -> SchedulerReport:
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.supervisor import Supervisor

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.scheduler.stop)
    with build_ops_context(options.config_path, options.environment) as ctx:
        supervisor = Supervisor(runtime, ctx).start()
        try:
            watcher = asyncio.ensure_future(supervisor.run(runtime.scheduler.stop_event))
            report = await runtime.scheduler.run(forever=True)
            runtime.scheduler.stop()
            await watcher
        finally:
            supervisor.close()
    return report


def _strategy_toggle(
    options: RunOptions, disable: str | None, enable: str | None, reason: str, ticket: str, requested_by: str
) -> int:
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.controls import Actor, disable_strategy, enable_strategy
    from tradeops.ops.ticket_link import ResolveTicket, resolve_ticket

    ctx = build_ops_context(options.config_path, options.environment)
    actor = Actor(name=requested_by, via="cli")
    resolved = resolve_ticket(ctx, ResolveTicket(ticket))
    ticket = resolved.ticket
    if resolved.notice:
        click.echo(resolved.notice, err=True)
    reason = reason.strip() or "operator request (run_multi_strategy_scheduler, no --reason given)"
    if disable:
        status = disable_strategy(ctx, disable, reason=reason, ticket=ticket, actor=actor)
        click.echo(
            f"strategy {status.strategy} disabled (risk_budget_bucket=manual, allocation 0): {status.reason}"
        )
    else:
        assert enable is not None
        status = enable_strategy(ctx, enable, reason=reason, ticket=ticket, actor=actor)
        click.echo(f"strategy {status.strategy} enabled (status=restored)")
    return 0


def _announce(runtime: Runtime, console: Console) -> None:
    plan = runtime.plan
    if plan is None or plan.store is None:
        return
    where = plan.directory if plan.directory is not None else plan.store.removeprefix("sqlite:///")
    click.echo(f"run {plan.run_id} ({plan.kind}): state {where}, log {plan.log_path}", err=True)


def _data_left(runtime: Runtime, console: Console, then: str) -> bool:
    """False (and say so) when every bar of the market has been processed already."""
    if runtime.live_loop is not None or runtime.series.next_reveal_ms() is not None:
        return True
    last = runtime.stats.last_cycle_ms or runtime.resumed_from_ms or runtime.end_ms
    click.echo(f"data ends at {ms_to_iso(last)}: every bar of this market is processed; {then}", err=True)
    return False


def _refuse(runtime: Runtime, options: RunOptions, run_forever: bool) -> int:
    """A store that does not match its log: trade nothing; with --run-forever keep serving metrics
    (the critical alert fires) until SIGTERM/SIGINT."""
    from tradeops.bootstrap.account import StateLogMismatch

    if run_forever:
        click.echo(f"error: {runtime.halt_detail} (serving metrics until SIGTERM)", err=True)
        asyncio.run(_wait_for_stop(runtime))
    raise StateLogMismatch(runtime.halt_detail or "state_log_mismatch")


async def _wait_for_stop(runtime: Runtime) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.scheduler.stop)
    runtime.engine.publish_stats(force=True)
    await runtime.scheduler.stop_event.wait()


def _console_line(line: str) -> None:
    """A trading-state change on the scheduler's console, stamped with wall-clock UTC time."""
    from datetime import UTC, datetime

    click.echo(f"{datetime.now(UTC).isoformat(timespec='milliseconds')} {line}", err=True)


def _drive(
    runtime: Runtime, options: RunOptions, console: Console, *, run_once: bool, run_forever: bool
) -> None:
    """Run the scheduler as asked (nothing when every bar of the market is processed already)."""
    if runtime.live_loop is not None and not (run_once or run_forever):
        raise UserInputError(
            f"--environment {options.environment} is mode: live: add --run-forever (or --run-once)"
        )
    if run_once:
        if _data_left(runtime, console, "stopping (--run-once)"):
            runtime.scheduler.run_once(runtime.clock.now_ms() if runtime.live_loop else runtime.end_ms)
    elif run_forever:
        console.print(f"scheduler running on {options.environment}; SIGTERM or Ctrl-C stops it cleanly")

        def data_ended(_last_ms: int | None) -> None:
            _data_left(runtime, console, "waiting (--run-forever)")

        runtime.scheduler.on_data_end = data_ended
        if runtime.scheduler.heartbeat is not None:
            runtime.scheduler.heartbeat.on_change = _console_line
        report = asyncio.run(_run_forever(runtime, options))
        console.print(f"stopped ({report.stopped_by}) after {report.cycles} cycles")
    elif _data_left(runtime, console, "nothing to replay"):
        _run_with_progress(runtime, console)


def _options(**kw: object) -> RunOptions:
    return RunOptions(**kw)  # type: ignore[arg-type]


@click.command()
@click.option("--environment", default="binance_paper", show_default=True)
@config_option
@click.option("--data", type=click.Path(exists=True), help="Candle file or directory (CSV, JSON, JSON.gz).")
@click.option("--synthetic", is_flag=True, help="Use the embedded deterministic synthetic market (default).")
@click.option(
    "--bars",
    type=click.IntRange(min=200),
    default=3000,
    show_default=True,
    help="Synthetic market length in bars.",
)
@click.option("--from", "from_", help="Start of the replay window (ISO 8601).")
@click.option("--to", help="End of the replay window (ISO 8601).")
@click.option(
    "--speed", type=click.FloatRange(min=0.0, min_open=True), help="Replay N times faster than real time."
)
@click.option("--replay-as-fast-as-possible", "fast", is_flag=True, help="Replay without waiting (default).")
@click.option("--run-once", is_flag=True, help="Run one decision cycle of every schedule and exit.")
@click.option("--run-forever", is_flag=True, help="Run until SIGTERM/SIGINT, then shut down cleanly.")
@click.option("--strategy", "strategies", multiple=True, help="Run only these schedules.")
@click.option(
    "--state",
    default="environment",
    show_default=True,
    help="State store: environment (the account; a backtest gets var/runs/<run_id>/), memory, "
    "or a SQLite file path (its log beside it: <name>.decisions.jsonl).",
)
@click.option(
    "--metrics/--no-metrics", default=None, help="Serve Prometheus metrics (default: on with --run-forever)."
)
@click.option(
    "--metrics-port", type=click.IntRange(0, 65535), help="Override observability.metrics.port (0: any free)."
)
@click.option(
    "--report-dir", type=click.Path(path_type=Path), help="Write summary.json and equity_curve.png here."
)
@click.option(
    "--inject-faults", "faults", help="Drill: make the paper venue fail, e.g. errors=0.5,latency_ms=2000."
)
@click.option(
    "--disable-strategy", help="Disable one strategy (persisted; a running scheduler obeys) and exit."
)
@click.option("--enable-strategy", help="Re-enable a disabled strategy and exit.")
@click.option("--reason", default="", help="Reason for --disable-strategy/--enable-strategy.")
@click.option("--ticket", default="", help="Ticket for --disable-strategy/--enable-strategy.")
@click.option("--requested-by", default="operator", show_default=True)
def run(
    environment: str,
    config_path: Path,
    data: str | None,
    synthetic: bool,
    bars: int,
    from_: str | None,
    to: str | None,
    speed: float | None,
    fast: bool,
    run_once: bool,
    run_forever: bool,
    strategies: tuple[str, ...],
    state: str,
    metrics: bool | None,
    metrics_port: int | None,
    report_dir: Path | None,
    faults: str | None,
    disable_strategy: str | None,
    enable_strategy: str | None,
    reason: str,
    ticket: str,
    requested_by: str,
) -> int:
    """Run the multi-strategy scheduler on a paper account."""
    if data and synthetic:
        raise click.UsageError("--data and --synthetic are exclusive")
    if speed is not None and fast:
        raise click.UsageError("--speed and --replay-as-fast-as-possible are exclusive")
    if run_once and run_forever:
        raise click.UsageError("--run-once and --run-forever are exclusive")
    if disable_strategy and enable_strategy:
        raise click.UsageError("--disable-strategy and --enable-strategy are exclusive")
    options = _options(
        environment=environment,
        config_path=config_path,
        data=data,
        synthetic_bars=bars,
        from_ms=_parse_time(from_, "--from"),
        to_ms=_parse_time(to, "--to"),
        speed=speed,
        strategies=strategies or None,
        state=state,
        metrics=run_forever if metrics is None else metrics,
        metrics_port=metrics_port,
        faults=faults,
    )
    if disable_strategy or enable_strategy:
        return _strategy_toggle(options, disable_strategy, enable_strategy, reason, ticket, requested_by)
    cfg = load_config(options.config_path)
    if run_forever and cfg.cluster is not None:
        from tradeops.bootstrap.cluster import run_cluster

        return run_cluster(options, cfg)  # `cluster:` set: follow and lead across hosts
    console = Console(stderr=True)
    runtime = build_runtime(options, cfg)
    try:
        _announce(runtime, console)
        if runtime.halt_detail is not None:
            return _refuse(runtime, options, run_forever)
        _drive(runtime, options, console, run_once=run_once, run_forever=run_forever)
        render_table(runtime.engine, Console())
        if report_dir is not None:
            for kind, path in write_reports(runtime.engine, report_dir).items():
                click.echo(f"{kind}: {path}")
    finally:
        runtime.close()
    return 0


@click.command()
@click.option("--bars", type=click.IntRange(min=500), default=3000, show_default=True)
@config_option
@click.option(
    "--report-dir", type=click.Path(path_type=Path), default=Path("reports/demo"), show_default=True
)
def demo(bars: int, config_path: Path, report_dir: Path) -> int:
    """The main job: four strategies on one paper account over the synthetic market (no network)."""
    options = RunOptions(config_path=config_path, synthetic_bars=bars, run_kind="backtest", kill_switch=False)
    console = Console(stderr=True)
    runtime = build_runtime(options)
    try:
        _announce(runtime, console)
        _run_with_progress(runtime, console)
        render_table(runtime.engine, Console())
        for kind, path in write_reports(runtime.engine, report_dir).items():
            click.echo(f"{kind}: {path}")
    finally:
        runtime.close()
    idle = [name for name, s in runtime.stats.strategies.items() if s.fills == 0]
    if idle:
        click.echo(f"warning: no fills for {', '.join(idle)}", err=True)
    return 0 if not idle else 1
