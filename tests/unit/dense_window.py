"""The small synthetic dense window (400 bars per symbol, the bench's `HEAVY_PARAMS`) run through the paper
engine, and its decision log with what differs per run by design taken out: shared by the
determinism test and the golden decision-log test."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tradeops.bench.paper import HEAVY_PARAMS
from tradeops.bootstrap.engine import RunOptions, build_runtime

REPO = Path(__file__).resolve().parents[2]
# Differ per run by design: the log's identity and chain, the run id, wall-clock creation time.
PER_RUN = {"log_id", "prev_hash", "signature", "run_id", "created"}


def run_dense(log: Path, key: Any, state: Path | None = None) -> None:
    """Run the window in the current directory (which holds a copy of config/), logging to `log`."""
    options = RunOptions(
        synthetic_bars=400,
        kill_switch=False,
        state=str(state or log.with_suffix(".sqlite")),
        decision_log_path=str(log),
        strategy_params=HEAVY_PARAMS,
        signing_key=key,
    )
    runtime = build_runtime(options)
    try:
        asyncio.run(runtime.scheduler.run())
        runtime.sink.flush()
    finally:
        runtime.close()


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in PER_RUN}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def normalised(log: Path) -> list[bytes]:
    lines = []
    for raw in log.read_bytes().splitlines():
        entry = json.loads(raw)
        # Every entry's `timestamp` is wall time (issue 15); the market time it stands for stays
        # compared, in metadata.market_time and ts_ms.
        entry.pop("timestamp")
        lines.append(json.dumps(_scrub(entry), sort_keys=True).encode())
    return lines
