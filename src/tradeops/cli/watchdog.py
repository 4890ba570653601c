"""`tradeops watchdog`: a separate process that takes a live account's venue orders down when the
scheduler does not (kill switch unconfirmed, heartbeat stale)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from types import FrameType

import click

from tradeops.cli.options import config_options


@click.command()
@config_options
@click.option("--once", is_flag=True, help="Look once, act if needed, and exit.")
@click.option(
    "--duration",
    type=click.FloatRange(min=0.1, max=31_536_000),
    default=None,
    help="Stop after this many seconds (default: until SIGTERM/SIGINT).",
)
def watchdog(config_path: Path, environment: str, once: bool, duration: float | None) -> int:
    """Watch the kill switch and the scheduler's heartbeat; cancel the venue's open orders directly
    when the scheduler has not confirmed an engaged switch within watchdog.confirm_seconds, or its
    heartbeat is older than watchdog.stale_seconds. Every action is signed in the operations log."""
    from tradeops.bootstrap.live_account import kill_switch_reader, live_ops_context
    from tradeops.ops.watchdog import Watchdog

    ctx = live_ops_context(config_path, environment)
    engaged, policy, stop_reader = kill_switch_reader(ctx)
    stopping = False

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    dog = Watchdog(ctx, engaged, policy)
    cfg = ctx.cfg.watchdog
    click.echo(
        f"watchdog on {environment}: confirm {cfg.confirm_seconds}s, stale {cfg.stale_seconds}s", err=True
    )
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while not stopping:
            done = dog.check()
            if done is not None:
                click.echo(json.dumps(done.to_json(), sort_keys=True))
            if once or (deadline is not None and time.monotonic() >= deadline):
                break
            time.sleep(cfg.poll_seconds)
    finally:
        stop_reader()
        ctx.close()
    return 0
