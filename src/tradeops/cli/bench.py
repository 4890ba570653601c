"""`tradeops bench <name> --json`: speed is measured here, never asserted in tests."""

from __future__ import annotations

import click

from tradeops.cli.lazy import LazyGroup

BENCHES = {
    "cluster": "tradeops.cli.bench_cluster:bench_cluster",
    "control-api": "tradeops.cli.bench_control_api:bench_control_api",
    "decision-log": "tradeops.cli.bench_decision_log:bench_decision_log",
    "kill-switch": "tradeops.cli.bench_kill_switch:bench_kill_switch",
    "live-sim": "tradeops.cli.bench_live_sim:bench_live_sim",
    "paper": "tradeops.cli.bench_paper:bench_paper",
    "scheduler": "tradeops.cli.bench_scheduler:bench_scheduler",
}


@click.group(cls=LazyGroup, lazy=BENCHES)
def bench() -> None:
    """Benchmarks; each prints a JSON object with --json."""
