"""`tradeops run` (also `python scripts/run_multi_strategy_scheduler.py`) and `tradeops demo`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tradeops.bootstrap.engine import RunOptions, Runtime, build_runtime
from tradeops.cli.options import config_option, environment_option
from tradeops.cli.run_finish import finish, record
from tradeops.config.load import load_config
from tradeops.domain.clock import iso_to_ms, ms_to_iso
from tradeops.domain.errors import UserInputError
from tradeops.ops.run_report import render_table


class RunReport(Protocol):
    """What this command prints of the scheduler's report."""

    @property
    def steps(self) -> int: ...

    @property
    def cycles(self) -> int: ...

    @property
    def stopped_by(self) -> str: ...


def _parse_time(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return iso_to_ms(value)
    except ValueError:
        raise UserInputError(
            f"{flag} {value!r}: use ISO 8601, e.g. 2021-03-01 or 2021-03-01T12:00:00Z"
        ) from None


def _run_with_progress(runtime: Runtime, console: Console) -> RunReport:
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
        # the run recorder, when one listens (its hook takes the scheduler's report as it comes)
        recording: Callable[[int, Any], None] | None = runtime.scheduler.on_step

        def on_step(now_ms: int, report: RunReport) -> None:
            if recording is not None:
                recording(now_ms, report)
            if report.steps % 500 == 0:
                progress.update(task, completed=now_ms - start, cycles=report.cycles)

        runtime.scheduler.on_step = on_step
        report = asyncio.run(runtime.scheduler.run())
        progress.update(task, completed=end - start, cycles=report.cycles)
    return report


async def _run_forever(runtime: Runtime, options: RunOptions) -> RunReport:
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


@dataclass(frozen=True, slots=True)
class RunRequest:
    """The flags that say what to run (the strategy toggles are separate: see StrategyToggle)."""

    environment: str
    config_path: Path
    data: str | None
    synthetic: bool
    bars: int
    from_: str | None
    to: str | None
    speed: float | None
    fast: bool
    run_once: bool
    run_forever: bool
    strategies: tuple[str, ...]
    state: str
    metrics: bool | None
    metrics_port: int | None
    report_dir: Path | None
    faults: str | None

    def check(self) -> None:
        if self.data and self.synthetic:
            raise click.UsageError("--data and --synthetic are exclusive")
        if self.speed is not None and self.fast:
            raise click.UsageError("--speed and --replay-as-fast-as-possible are exclusive")
        if self.run_once and self.run_forever:
            raise click.UsageError("--run-once and --run-forever are exclusive")

    def options(self) -> RunOptions:
        return RunOptions(
            environment=self.environment,
            config_path=self.config_path,
            data=self.data,
            synthetic_bars=self.bars,
            from_ms=_parse_time(self.from_, "--from"),
            to_ms=_parse_time(self.to, "--to"),
            speed=self.speed,
            strategies=self.strategies or None,
            state=self.state,
            metrics=self.run_forever if self.metrics is None else self.metrics,
            metrics_port=self.metrics_port,
            faults=self.faults,
        )


@dataclass(frozen=True, slots=True)
class StrategyToggle:
    """`--disable-strategy` / `--enable-strategy`: the same use cases as `tradeops strategy`."""

    disable: str | None
    enable: str | None
    reason: str
    ticket: str
    requested_by: str

    FLAGS: ClassVar[tuple[str, ...]] = (
        "disable_strategy",
        "enable_strategy",
        "reason",
        "ticket",
        "requested_by",
    )

    @classmethod
    def pop_from(cls, flags: dict[str, Any]) -> StrategyToggle | None:
        toggle = cls(*(flags.pop(name) for name in cls.FLAGS))
        if toggle.disable and toggle.enable:
            raise click.UsageError("--disable-strategy and --enable-strategy are exclusive")
        return toggle if toggle.disable or toggle.enable else None

    def apply(self, config_path: Path, environment: str) -> int:
        from tradeops.bootstrap.ops import build_ops_context
        from tradeops.ops.strategy_control import DisableStrategy, Door, EnableStrategy, disable, enable

        door = Door("cli", self.requested_by)
        reason = self.reason.strip() or TOGGLE_REASON
        with build_ops_context(config_path, environment) as ctx:
            if self.disable:
                done = disable(
                    ctx, DisableStrategy(self.disable, reason, self.ticket, door, link_open_incident=True)
                )
            else:
                assert self.enable is not None
                done = enable(
                    ctx, EnableStrategy(self.enable, reason, self.ticket, door, link_open_incident=True)
                )
        if done.ticket_notice:
            click.echo(done.ticket_notice, err=True)
        click.echo(done.message)
        return 0


TOGGLE_REASON = "operator request (run_multi_strategy_scheduler, no --reason given)"


def _run(request: RunRequest) -> int:
    options = request.options()
    cfg = load_config(options.config_path)
    if request.run_forever and cfg.cluster is not None:
        from tradeops.bootstrap.cluster import run_cluster

        return run_cluster(options, cfg)  # `cluster:` set: follow and lead across hosts
    console = Console(stderr=True)
    runtime = build_runtime(options, cfg)
    try:
        _announce(runtime, console)
        if runtime.halt_detail is not None:
            return _refuse(runtime, options, request.run_forever)
        recorder = record(runtime) if runtime.live_loop is None else None
        _drive(runtime, options, console, run_once=request.run_once, run_forever=request.run_forever)
        render_table(runtime.engine, Console())
        if recorder is not None:
            finish(runtime, recorder, request.report_dir)
    finally:
        runtime.close()
    return 0


@click.command()
@environment_option()
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
    "--report-dir",
    type=click.Path(path_type=Path),
    help="Also write summary.json and curves.json here (`tradeops report run DIR` draws the charts).",
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
def run(**flags: Any) -> int:
    """Run the multi-strategy scheduler on a paper account."""
    toggle = StrategyToggle.pop_from(flags)
    request = RunRequest(**flags)
    request.check()
    if toggle is not None:
        return toggle.apply(request.config_path, request.environment)
    return _run(request)


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
        recorder = record(runtime)
        _run_with_progress(runtime, console)
        render_table(runtime.engine, Console())
        finish(runtime, recorder, report_dir)
    finally:
        runtime.close()
    idle = [name for name, s in runtime.stats.strategies.items() if s.fills == 0]
    if idle:
        click.echo(f"warning: no fills for {', '.join(idle)}", err=True)
    return 0 if not idle else 1
