"""`tradeops bench <name> --json`: speed is measured here, never asserted in tests."""

from __future__ import annotations

import click

from tradeops.cli.lazy import LazyGroup

BENCHES = {
    "cluster": "tradeops.bench.cluster:bench_cluster",
    "control-api": "tradeops.bench.control_api:bench_control_api",
    "decision-log": "tradeops.bench.decision_log:bench_decision_log",
    "kill-switch": "tradeops.bench.kill_switch:bench_kill_switch",
    "live-sim": "tradeops.bench.live_sim:bench_live_sim",
    "paper": "tradeops.bench.paper:bench_paper",
    "scheduler": "tradeops.bench.scheduler:bench_scheduler",
}


@click.group(cls=LazyGroup, lazy=BENCHES)
def bench() -> None:
    """Benchmarks; each prints a JSON object with --json."""
